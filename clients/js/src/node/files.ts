/** Small file helpers: atomic JSON state files, fingerprints and streaming checksums. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { crc32 } from "node:zlib";
import { Crc64Nvme } from "../crc64nvme.js";

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

/** Which digests a download computes: SHA-256 (hex) and full-object checksums (base64). */
export type DigestName = "SHA256" | "CRC64NVME" | "CRC32";

/**
 * Digests fed in file order. Only the ones asked for are computed: CRC64NVME is pure JS
 * (src/crc64nvme.ts, about 500 MiB/s on the bench machine), so it is skipped when nothing
 * stored needs it.
 */
export class Digests {
  private readonly sha256 = createHash("sha256");
  private readonly crc64: Crc64Nvme | undefined;
  private crc = 0;
  private readonly wantSha: boolean;
  private readonly wantCrc32: boolean;

  constructor(names: ReadonlySet<DigestName>) {
    this.wantSha = names.has("SHA256");
    this.wantCrc32 = names.has("CRC32");
    this.crc64 = names.has("CRC64NVME") ? new Crc64Nvme() : undefined;
  }

  update(bytes: Uint8Array): void {
    if (this.wantSha) this.sha256.update(bytes);
    this.crc64?.update(bytes);
    if (this.wantCrc32) this.crc = crc32(bytes, this.crc);
  }

  digest(): Promise<{ sha256: string | undefined; checksums: Record<string, string> }> {
    const checksums: Record<string, string> = {};
    let sha256: string | undefined;
    if (this.wantSha) {
      const sha = this.sha256.digest();
      sha256 = sha.toString("hex");
      checksums.SHA256 = sha.toString("base64");
    }
    if (this.crc64) checksums.CRC64NVME = Buffer.from(this.crc64.digestSync()).toString("base64");
    if (this.wantCrc32) {
      const crcBytes = Buffer.alloc(4);
      crcBytes.writeUInt32BE(this.crc >>> 0);
      checksums.CRC32 = crcBytes.toString("base64");
    }
    return Promise.resolve({ sha256, checksums });
  }
}

/** Digests of a whole file in one streaming pass. */
export async function fileDigests(
  file: string,
  names: ReadonlySet<DigestName> = new Set(["SHA256", "CRC64NVME", "CRC32"]),
): Promise<{ sha256: string | undefined; checksums: Record<string, string> }> {
  const digests = new Digests(names);
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    digests.update(chunk as Buffer);
  }
  return digests.digest();
}

/** Reads up to `length` bytes at `position` into `buffer`; returns how many (0 at the end). */
export type ReadAt = (buffer: Buffer, length: number, position: number) => Promise<number>;

/**
 * Feeds `digests` with a file's bytes in file order while its ranges are written in any
 * order. The range at the digested point takes its pieces as they arrive (`pieces`: no read
 * back); ranges that finish before their turn are read back from the file (`readAt`) once
 * everything before them is digested. Ranges already in the file (a resumed download) are
 * passed as `present` and read once, like the rest. Memory: one read buffer.
 */
export class OrderedDigests {
  /** Ranges before `next` are digested, and the bytes of range `next` before `at`. */
  private next = 0;
  private at = 0;
  private reading = false;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private readonly written: Set<number>;
  private buffer: Buffer | undefined;

  constructor(
    private readonly digests: Digests,
    private readonly ranges: readonly { start: number; end: number }[],
    private readonly readAt: ReadAt,
    present: Iterable<number> = [],
    private readonly readSize: number = 1024 * 1024,
  ) {
    this.written = new Set(present);
    this.catchUp();
  }

  /** Bytes digested so far, from offset 0. */
  get digested(): number {
    return this.at;
  }

  /** A range's pieces, about to be written at `position`: digested now if they are next. */
  pieces(pieces: readonly Uint8Array[], position: number): void {
    if (this.reading || this.failure !== undefined || position !== this.at) return;
    const range = this.ranges[this.next];
    if (range === undefined || position < range.start) return;
    for (const piece of pieces) {
      this.digests.update(piece);
      this.at += piece.length;
    }
  }

  /** Range `index` is in the file (all of it): read back what is now next, if not yet. */
  rangeWritten(index: number): void {
    this.written.add(index);
    this.catchUp();
  }

  /** Wait for the reads scheduled so far; throws what one failed with. */
  async settle(): Promise<void> {
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
  }

  private catchUp(): void {
    this.chain = this.chain
      .then(() => this.readBack())
      .catch((error: unknown) => {
        this.failure ??=
          error instanceof Error ? error : new Error("digest failed", { cause: error });
      });
  }

  private async readBack(): Promise<void> {
    if (this.failure !== undefined) return;
    this.reading = true;
    try {
      for (
        let range = this.ranges[this.next];
        range !== undefined && this.written.has(this.next);
        range = this.ranges[this.next]
      ) {
        for (let at = Math.max(range.start, this.at); at <= range.end;) {
          this.buffer ??= Buffer.allocUnsafe(this.readSize);
          const want = Math.min(this.buffer.length, range.end + 1 - at);
          const got = await this.readAt(this.buffer, want, at);
          if (got === 0) throw new Error("the partial file is shorter than its state says");
          this.digests.update(this.buffer.subarray(0, got));
          at += got;
          this.at = at;
        }
        this.next += 1;
      }
    } finally {
      this.reading = false;
    }
  }
}
