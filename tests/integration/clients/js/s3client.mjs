// A small command-line S3 client on the AWS SDK for JavaScript v3, driven by
// tests/integration/clients/test_js_sdk.py. One operation per run, JSON on stdout.
//
//   node s3client.mjs mb BUCKET | rb BUCKET
//   node s3client.mjs put BUCKET KEY FILE              PutObjectCommand, Body = Buffer
//   node s3client.mjs put-stream BUCKET KEY FILE       PutObjectCommand, Body = file stream
//   node s3client.mjs upload BUCKET KEY FILE PART_MIB  lib-storage Upload, Body = file stream
//   node s3client.mjs get BUCKET KEY FILE | head BUCKET KEY | rm BUCKET KEY
//   node s3client.mjs ls BUCKET PREFIX DELIMITER
//   node s3client.mjs presign BUCKET KEY
//
// Endpoint in S3_ENDPOINT, credentials and region from the SDK's usual environment variables;
// an HTTPS endpoint's CA comes from NODE_EXTRA_CA_CERTS. Each result carries, for each request
// the SDK sent, its method, its query parameters' names and the headers that tell how it framed
// and checksummed the body (`sent`).
import { createReadStream, createWriteStream, readFileSync, statSync } from "node:fs";
import { pipeline } from "node:stream/promises";

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const TELLING = [
  "content-encoding",
  "content-length",
  "transfer-encoding",
  "x-amz-content-sha256",
  "x-amz-decoded-content-length",
  "x-amz-sdk-checksum-algorithm",
  "x-amz-trailer",
];

const sent = [];
const client = new S3Client({
  endpoint: process.env.S3_ENDPOINT,
  forcePathStyle: true,
  maxAttempts: 1,
});
client.middlewareStack.add(
  (next) => async (args) => {
    const headers = args.request.headers ?? {};
    const seen = {};
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (TELLING.includes(lower) || lower.startsWith("x-amz-checksum-")) seen[lower] = value;
    }
    const query = Object.keys(args.request.query ?? {}).sort().join("&");
    sent.push({ method: args.request.method, query, ...seen });
    return next(args);
  },
  { step: "finalizeRequest", priority: "low", name: "recordSentHeaders" },
);

const [op, bucket, key, ...rest] = process.argv.slice(2);
const result = {};
switch (op) {
  case "mb":
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    break;
  case "rb":
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    break;
  case "put": {
    const out = await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: readFileSync(rest[0]) }),
    );
    result.etag = out.ETag;
    break;
  }
  case "put-stream": {
    const out = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: createReadStream(rest[0]),
        ContentLength: statSync(rest[0]).size,
      }),
    );
    result.etag = out.ETag;
    break;
  }
  case "upload": {
    const partSize = Number(rest[1]) * 1024 * 1024;
    const upload = new Upload({
      client,
      params: {
        Bucket: bucket,
        Key: key,
        Body: createReadStream(rest[0]),
        ContentLength: statSync(rest[0]).size,
      },
      partSize,
    });
    const out = await upload.done();
    result.etag = out.ETag;
    break;
  }
  case "get": {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(out.Body, createWriteStream(rest[0]));
    result.etag = out.ETag;
    break;
  }
  case "head": {
    const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    result.size = out.ContentLength;
    result.etag = out.ETag;
    break;
  }
  case "ls": {
    const out = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: key, Delimiter: rest[0] }),
    );
    result.keys = (out.Contents ?? []).map((item) => item.Key);
    result.prefixes = (out.CommonPrefixes ?? []).map((item) => item.Prefix);
    break;
  }
  case "presign":
    result.url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: 600,
    });
    break;
  case "rm":
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    break;
  default:
    throw new Error(`unknown operation ${op}`);
}
result.sent = sent;
process.stdout.write(`${JSON.stringify(result)}\n`);
