/**
 * The contract's deterministic data: SHA-256("<seed>:<i>") for i = 0, 1, ... concatenated and
 * truncated to the size. Every SDK's runner makes the same bytes.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

const BLOCK = 32;

/** The bytes from offset 0, in chunks of about `chunkSize`. */
export function* chunks(size: number, seed: number, chunkSize = 1 << 20): Generator<Buffer> {
  const perChunk = Math.max(1, Math.floor(chunkSize / BLOCK));
  let produced = 0;
  let index = 0;
  while (produced < size) {
    const blocks: Buffer[] = [];
    for (let n = 0; n < perChunk && produced + n * BLOCK < size; n += 1) {
      blocks.push(createHash("sha256").update(`${seed}:${index}`).digest());
      index += 1;
    }
    let chunk = Buffer.concat(blocks);
    if (produced + chunk.length > size) chunk = chunk.subarray(0, size - produced);
    produced += chunk.length;
    yield chunk;
  }
}

export function bytes(size: number, seed: number): Buffer {
  return Buffer.concat([...chunks(size, seed)]);
}

export function sha256(size: number, seed: number): string {
  const hash = createHash("sha256");
  for (const chunk of chunks(size, seed)) hash.update(chunk);
  return hash.digest("hex");
}

/** The data as a file in `dir`, made once (write then rename, so readers never see half). */
export async function dataFile(dir: string, size: number, seed: number): Promise<string> {
  const path = join(dir, `data-${size}-${seed}.bin`);
  const found = await stat(path).catch(() => undefined);
  if (found?.size === size) return path;
  await mkdir(dir, { recursive: true });
  const temporary = `${path}.${String(process.pid)}.tmp`;
  await pipeline(Readable.from(chunks(size, seed)), createWriteStream(temporary));
  await rename(temporary, path);
  return path;
}
