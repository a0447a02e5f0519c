// Upload one file with tus-js-client (Node), as a browser or CLI would, and print a JSON
// line with the upload URL and what happened: node upload.mjs ENDPOINT FILE BUCKET KEY AUTH CHUNK
import fs from "node:fs";
import * as tus from "tus-js-client";

const [endpoint, file, bucket, key, authorization, chunk] = process.argv.slice(2);
const size = fs.statSync(file).size;
const events = { retries: 0, progress: 0 };

const upload = new tus.Upload(fs.createReadStream(file), {
  endpoint,
  uploadSize: size,
  chunkSize: Number(chunk),
  metadata: { bucket, key, filetype: "application/x-tus-js" },
  headers: { Authorization: authorization },
  retryDelays: [0, 200, 500, 1000],
  onShouldRetry: () => {
    events.retries += 1;
    return true;
  },
  onProgress: (sent) => {
    events.progress = sent;
  },
  onError: (error) => {
    console.log(JSON.stringify({ ok: false, error: String(error), ...events }));
    process.exit(1);
  },
  onSuccess: () => {
    console.log(JSON.stringify({ ok: true, url: upload.url, ...events }));
  },
});
upload.start();
