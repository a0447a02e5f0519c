/**
 * Upload and download one file with the SDK and with aws-cli on the same stack, and print
 * the throughputs and the SDK / aws-cli ratio (issue 17 asks >= 0.9 at 1 GiB).
 *
 *   ARTIFACT_STORE_ENDPOINT=... ARTIFACT_STORE_ACCESS_KEY_ID=... ARTIFACT_STORE_SECRET_ACCESS_KEY=... \
 *   AWS_CLI=/path/to/aws node --import tsx bench/transfer.ts <file>
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, statSync } from "node:fs";
import { downloadFile, storeFromEnvironment, uploadFile } from "../src/node.js";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: transfer.ts <file>");
const size = statSync(file).size;
const store = storeFromEnvironment();
const bucket = `bench-${randomBytes(4).toString("hex")}`;
const aws = process.env.AWS_CLI ?? "aws";
const awsEnv = {
  ...process.env,
  AWS_ACCESS_KEY_ID: process.env.ARTIFACT_STORE_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: process.env.ARTIFACT_STORE_SECRET_ACCESS_KEY,
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_ENDPOINT_URL: store.endpoint,
};

async function timed(what: string, work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${what}: ${seconds.toFixed(1)} s, ${(size / 2 ** 20 / seconds).toFixed(1)} MiB/s`);
  return seconds;
}

const cli = (...args: string[]) => {
  execFileSync(aws, args, { env: awsEnv, stdio: "inherit" });
  return Promise.resolve();
};

await store.createBucket(bucket);
try {
  const sdkUp = await timed("sdk upload", () => uploadFile(store, bucket, "sdk.bin", file));
  const cliUp = await timed("aws-cli upload", () =>
    cli("s3", "cp", "--only-show-errors", file, `s3://${bucket}/cli.bin`),
  );
  const sdkDown = await timed("sdk download", () =>
    downloadFile(store, bucket, "sdk.bin", `${file}.sdk-out`),
  );
  const cliDown = await timed("aws-cli download", () =>
    cli("s3", "cp", "--only-show-errors", `s3://${bucket}/cli.bin`, `${file}.cli-out`),
  );
  console.log(
    `ratio (sdk throughput / aws-cli): upload ${(cliUp / sdkUp).toFixed(2)}, download ${(cliDown / sdkDown).toFixed(2)}`,
  );
} finally {
  rmSync(`${file}.sdk-out`, { force: true });
  rmSync(`${file}.cli-out`, { force: true });
  await store.deleteBucket(bucket, { recursive: true });
}
