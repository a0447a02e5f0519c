/**
 * One upload or one download with the SDK's public file API, for bench/sdk.py (issue 17):
 * the Python bench runs this once per transfer, times it and reads its CPU time.
 *
 *   ARTIFACT_STORE_ENDPOINT=... ARTIFACT_STORE_ACCESS_KEY_ID=... ARTIFACT_STORE_SECRET_ACCESS_KEY=... \
 *   node --import tsx bench/sdk-transfer.ts up|down <bucket> <key> <file> <partBytes> <concurrency>
 *
 * Imports the source entry (the same exports as @artifact-store/sdk/node) so that it runs
 * and type-checks without a build.
 */
import { ArtifactStore, downloadFile, uploadFile } from "../src/node.js";

const [way, bucket, key, file, part, threads] = process.argv.slice(2);
if (
  (way !== "up" && way !== "down") ||
  bucket === undefined ||
  key === undefined ||
  file === undefined
) {
  throw new Error("usage: sdk-transfer.ts up|down <bucket> <key> <file> <partBytes> <concurrency>");
}
const partSize = Number(part ?? 8 * 2 ** 20);
const concurrency = Number(threads ?? 10);
const store = new ArtifactStore({ env: process.env });
const started = performance.now();
const seconds = () => (performance.now() - started) / 1000;
if (way === "up") {
  const result = await uploadFile(store, bucket, key, file, {
    partSize,
    threshold: partSize,
    concurrency,
  });
  console.log(JSON.stringify({ parts: result.parts, seconds: seconds() }));
} else {
  const result = await downloadFile(store, bucket, key, file, { partSize, concurrency });
  console.log(
    JSON.stringify({ bytes: result.bytes, checksum: result.checksumVerified, seconds: seconds() }),
  );
}
