/** Small file helpers: atomic JSON state files, fingerprints and streaming checksums. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import { Crc64Nvme } from "@aws-sdk/crc64-nvme";

/** Where upload state lives unless told: ARTIFACT_STORE_STATE_DIR, else the user's cache. */
export function defaultStateDir(): string {
  return (
    process.env.ARTIFACT_STORE_STATE_DIR ?? join(homedir(), ".cache", "artifact-store", "transfers")
  );
}

let temporaries = 0;

/** Write-then-rename, so a kill never leaves a torn state file. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  temporaries += 1;
  const temporary = `${path}.${String(process.pid)}-${String(temporaries)}.tmp`;
  await writeFile(temporary, JSON.stringify(value));
  await rename(temporary, path);
}

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Identifies a source file cheaply (no read): its absolute path, size and modification
 * time. A file changed in place gets a new fingerprint, so its stale parts are not reused.
 */
export async function fingerprint(file: string): Promise<{ id: string; size: number }> {
  const info = await stat(file);
  const id = createHash("sha256")
    .update(JSON.stringify([resolve(file), info.size, info.mtimeMs, info.ino]))
    .digest("hex");
  return { id, size: info.size };
}

export function stateFileName(bucket: string, key: string, fingerprintId: string): string {
  return `${createHash("sha256")
    .update(JSON.stringify([bucket, key, fingerprintId]))
    .digest("hex")}.json`;
}

/** Digests of a file in one streaming pass: SHA-256 (hex) and the full-object checksums. */
export async function fileDigests(
  file: string,
): Promise<{ sha256: string; checksums: Record<string, string> }> {
  const sha256 = createHash("sha256");
  const crc64 = new Crc64Nvme();
  let crc = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    const bytes = chunk as Buffer;
    sha256.update(bytes);
    crc64.update(bytes);
    crc = crc32(bytes, crc);
  }
  const crcBytes = Buffer.alloc(4);
  crcBytes.writeUInt32BE(crc >>> 0);
  const sha = sha256.digest();
  return {
    sha256: sha.toString("hex"),
    checksums: {
      CRC64NVME: Buffer.from(await crc64.digest()).toString("base64"),
      CRC32: crcBytes.toString("base64"),
      SHA256: sha.toString("base64"),
    },
  };
}
