/**
 * Resumable file transfers. Uploads: single PUT below a threshold, else parallel multipart
 * whose state (upload id, part size) is a small JSON file keyed by bucket/key/source
 * fingerprint, reconciled with ListParts on the next run. Downloads: parallel ranges into
 * `<file>.part`, a state file beside it naming the finished ranges and the ETag, resumed with
 * Range + If-Match, checksums verified before the file gets its name.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type CompletedPart,
  type Part,
} from "@aws-sdk/client-s3";
import { DEFAULT_CHECKSUM, type ArtifactStore, type Verdict } from "../client.js";
import { crc64nvmeBase64 } from "../crc64nvme.js";
import { ArtifactStoreError, PreconditionFailedError, VerificationFailedError } from "../errors.js";
import {
  STATE_VERSION,
  parseDownloadState,
  parseUploadState,
  reconcileParts,
  type DownloadState,
  type StoredPart,
  type UploadState,
} from "../resume.js";
import { MiB, effectivePartSize, planParts, type PartRange } from "../sizes.js";
import {
  defaultStateDir,
  Digests,
  OrderedDigests,
  type DigestName,
  fingerprint,
  readText,
  removeQuietly,
  stateFileName,
  writeJsonAtomic,
} from "./files.js";

export interface TransferProgress {
  /** Bytes stored (upload) or written and flushed (download) so far, resumed ones included. */
  bytes: number;
  total: number;
  partsDone: number;
  partsTotal: number;
}

/** May return a promise: the transfer waits for it before it goes on (backpressure). */
export type ProgressCallback = (progress: TransferProgress) => void | Promise<void>;

export interface UploadFileOptions {
  /** Multipart part size (default 8 MiB; raised to fit 10,000 parts). */
  partSize?: number;
  /** Files of at least this size go multipart (default 8 MiB). */
  threshold?: number;
  /** Parts in flight (default 8). Memory is about partSize x concurrency. */
  concurrency?: number;
  /** Default CRC64NVME (full-object), as the AWS CLI. */
  checksum?: ChecksumAlgorithm;
  metadata?: Record<string, string>;
  contentType?: string;
  /** Where resume state files go (default ARTIFACT_STORE_STATE_DIR or ~/.cache/...). */
  stateDir?: string;
  onProgress?: ProgressCallback;
}

export interface UploadResult {
  etag: string | undefined;
  multipart: boolean;
  parts: number;
  /** Parts an earlier, interrupted run had stored and this one reused. */
  resumedParts: number;
}

const CHECKSUM_FIELDS: Partial<Record<ChecksumAlgorithm, string>> = {
  CRC32: "ChecksumCRC32",
  CRC32C: "ChecksumCRC32C",
  CRC64NVME: "ChecksumCRC64NVME",
  SHA1: "ChecksumSHA1",
  SHA256: "ChecksumSHA256",
};

/** A part's checksum of `algorithm`, from ListParts or UploadPart answers. */
function checksumOf(part: object, algorithm: ChecksumAlgorithm): string | undefined {
  const field = CHECKSUM_FIELDS[algorithm];
  const value: unknown = field === undefined ? undefined : (part as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
}

/** Run `work` over `items` with at most `limit` at once; the first failure stops the rest. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

async function readRange(handle: FileHandle, range: PartRange): Promise<Buffer> {
  const length = range.end - range.start + 1;
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, range.start + filled);
    if (bytesRead === 0) throw new Error("the source file shrank while uploading");
    filled += bytesRead;
  }
  return buffer;
}

async function listAllParts(
  store: ArtifactStore,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<Part[]> {
  const parts: Part[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await store.call(() =>
      store.s3.send(
        new ListPartsCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          ...(marker === undefined ? {} : { PartNumberMarker: marker }),
        }),
      ),
    );
    parts.push(...(page.Parts ?? []));
    if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return parts;
    marker = page.NextPartNumberMarker;
  }
}

/** Upload a file; an earlier run killed mid-way is continued from the parts it stored. */
export async function uploadFile(
  store: ArtifactStore,
  bucket: string,
  key: string,
  file: string,
  options: UploadFileOptions = {},
): Promise<UploadResult> {
  const checksum = options.checksum ?? DEFAULT_CHECKSUM;
  const threshold = options.threshold ?? 8 * MiB;
  const { id, size } = await fingerprint(file);
  const extra = {
    ...(options.metadata ? { Metadata: options.metadata } : {}),
    ...(options.contentType ? { ContentType: options.contentType } : {}),
  };
  if (size < threshold) {
    const answer = await store.call(() =>
      store.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: size,
          ChecksumAlgorithm: checksum,
          ...extra,
        }),
      ),
    );
    await options.onProgress?.({ bytes: size, total: size, partsDone: 1, partsTotal: 1 });
    return { etag: answer.ETag, multipart: false, parts: 1, resumedParts: 0 };
  }

  const partSize = effectivePartSize(size, options.partSize ?? 8 * MiB);
  const plan = planParts(size, partSize);
  const statePath = join(options.stateDir ?? defaultStateDir(), stateFileName(bucket, key, id));
  let state = parseUploadState((await readText(statePath)) ?? "");
  let stored: StoredPart[] = [];
  if (state && state.partSize === partSize && state.checksum === checksum) {
    try {
      const uploadId = state.uploadId;
      stored = (await listAllParts(store, bucket, key, uploadId)).map((part) => ({
        partNumber: part.PartNumber ?? 0,
        size: part.Size ?? 0,
        etag: part.ETag ?? "",
        checksum: checksumOf(part, checksum),
      }));
    } catch (error) {
      if (!(error instanceof ArtifactStoreError && error.family === "NotFound")) throw error;
      state = undefined; // the upload was completed, aborted or expired: start over
    }
  } else {
    state = undefined;
  }
  if (!state) {
    const created = await store.call(() =>
      store.s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ChecksumAlgorithm: checksum,
          ...(checksum.startsWith("CRC") ? { ChecksumType: "FULL_OBJECT" as const } : {}),
          ...extra,
        }),
      ),
    );
    if (created.UploadId === undefined) throw new Error("CreateMultipartUpload gave no UploadId");
    state = {
      version: STATE_VERSION,
      kind: "upload",
      bucket,
      key,
      fingerprint: id,
      uploadId: created.UploadId,
      partSize,
      checksum,
    } satisfies UploadState;
    await writeJsonAtomic(statePath, state);
  }
  const uploadId = state.uploadId;
  const { kept, pending } = reconcileParts(plan, stored);
  const done = new Map<number, CompletedPart>();
  let bytes = 0;
  for (const part of kept) {
    done.set(part.partNumber, completed(part.partNumber, part.etag, checksum, part.checksum));
    bytes += part.size;
  }
  const handle = await open(file, "r");
  try {
    await pool(pending, options.concurrency ?? 8, async (range) => {
      const body = await readRange(handle, range);
      // CRC64NVME computed here (src/crc64nvme.ts) rather than by the AWS SDK's middleware,
      // whose pure-JS one is half as fast: a given x-amz-checksum-* header is left alone.
      const given =
        checksum === "CRC64NVME" ? { ChecksumCRC64NVME: crc64nvmeBase64(body) } : undefined;
      const answer = await store.call(() =>
        store.s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: range.partNumber,
            Body: body,
            ContentLength: body.length,
            ChecksumAlgorithm: checksum,
            ...given,
          }),
        ),
      );
      done.set(
        range.partNumber,
        completed(range.partNumber, answer.ETag ?? "", checksum, checksumOf(answer, checksum)),
      );
      bytes += body.length;
      await options.onProgress?.({
        bytes,
        total: size,
        partsDone: done.size,
        partsTotal: plan.length,
      });
    });
  } finally {
    await handle.close();
  }
  const answer = await store.call(() =>
    store.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [...done.values()].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0)),
        },
      }),
    ),
  );
  await removeQuietly(statePath);
  return { etag: answer.ETag, multipart: true, parts: plan.length, resumedParts: kept.length };
}

function completed(
  partNumber: number,
  etag: string,
  algorithm: ChecksumAlgorithm,
  value: string | undefined,
): CompletedPart {
  return {
    PartNumber: partNumber,
    ETag: etag,
    ...(value === undefined || CHECKSUM_FIELDS[algorithm] === undefined
      ? {}
      : { [CHECKSUM_FIELDS[algorithm]]: value }),
  };
}

export interface DownloadFileOptions {
  /** Range size (default 8 MiB); objects up to it come in one GET. */
  partSize?: number;
  /** Ranges in flight (default 8). */
  concurrency?: number;
  /** Refuse (VerificationFailed) unless the gateway's verdict says signed; checked first. */
  requireSignature?: boolean;
  onProgress?: ProgressCallback;
}

export interface DownloadResult {
  bytes: number;
  etag: string;
  /** Bytes an earlier, interrupted run had written and this one kept. */
  resumedFrom: number;
  /** The bytes' SHA-256 (hex), when computed: a verdict named one, or no checksum is stored. */
  sha256: string | undefined;
  /** The stored full-object checksum compared with the bytes, e.g. CRC64NVME. */
  checksumVerified: string | undefined;
  verdict: Verdict | undefined;
}

/** Download to `file`; a partial download left by a killed run is continued. */
export async function downloadFile(
  store: ArtifactStore,
  bucket: string,
  key: string,
  file: string,
  options: DownloadFileOptions = {},
): Promise<DownloadResult> {
  let verdict: Verdict | undefined;
  if (options.requireSignature) {
    verdict = await store.verify(bucket, key);
    if (!verdict.signed) {
      throw new VerificationFailedError({
        code: "NotSigned",
        message: `${bucket}/${key} has no trusted signature: ${verdict.reason ?? "unsigned"}`,
      });
    }
  }
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await downloadOnce(store, bucket, key, file, options, verdict);
    } catch (error) {
      // The object changed since the partial file was started (If-Match failed): once more.
      if (!(error instanceof PreconditionFailedError) || attempt > 0) throw error;
      await removeQuietly(`${file}.part`);
      await removeQuietly(`${file}.part.json`);
    }
  }
}

async function downloadOnce(
  store: ArtifactStore,
  bucket: string,
  key: string,
  file: string,
  options: DownloadFileOptions,
  verdict: Verdict | undefined,
): Promise<DownloadResult> {
  const info = await store.head(bucket, key);
  const etag = info.etag ?? "";
  const partial = `${file}.part`;
  const statePath = `${file}.part.json`;
  const partSize = effectivePartSize(info.size, options.partSize ?? 8 * MiB, 1);
  const plan = planParts(info.size, partSize);
  const previous = parseDownloadState((await readText(statePath)) ?? "");
  const partialSize = await stat(partial).then(
    (s) => s.size,
    () => -1,
  );
  const usable =
    previous !== undefined &&
    previous.etag === etag &&
    previous.size === info.size &&
    previous.partSize === partSize &&
    partialSize === info.size &&
    previous.bucket === bucket &&
    previous.key === key;
  const done = new Set<number>(usable ? previous.done : []);
  const pending = plan.filter((range) => !done.has(range.partNumber));
  const resumedFrom = plan
    .filter((range) => done.has(range.partNumber))
    .reduce((sum, range) => sum + range.end - range.start + 1, 0);
  const handle = await open(partial, usable ? "r+" : "w+");
  let bytes = resumedFrom;
  // The stored full-object checksum (and SHA-256 when a verdict names one, or when nothing
  // else can be checked), fed in file order while later ranges still download.
  const names = new Set<DigestName>();
  if (info.checksumType !== "COMPOSITE") {
    for (const name of Object.keys(info.checksums)) {
      if (name === "SHA256" || name === "CRC64NVME" || name === "CRC32") names.add(name);
    }
  }
  if (verdict?.sha256 || names.size === 0) names.add("SHA256");
  const digests = new Digests(names);
  const index = new Map(plan.map((range, i) => [range.partNumber, i]));
  const ordered = new OrderedDigests(
    digests,
    plan,
    async (buffer, length, position) => (await handle.read(buffer, 0, length, position)).bytesRead,
    plan.flatMap((range, i) => (done.has(range.partNumber) ? [i] : [])),
    Math.min(MiB, Math.max(1, partSize)),
  );
  try {
    if (!usable) await handle.truncate(info.size);
    const state: DownloadState = {
      version: STATE_VERSION,
      kind: "download",
      bucket,
      key,
      etag,
      size: info.size,
      partSize,
      done: [...done],
    };
    await writeJsonAtomic(statePath, state);
    // One write at a time, each with everything done so far: never an older list last.
    let saving = Promise.resolve();
    const save = () =>
      (saving = saving.then(() => writeJsonAtomic(statePath, { ...state, done: [...done] })));
    await pool(pending, options.concurrency ?? 8, async (range) => {
      const answer = await store.getObject(bucket, key, {
        range: `bytes=${range.start}-${range.end}`,
        ifMatch: etag,
        checksumMode: false,
      });
      let position = range.start;
      const body = answer.Body as Readable | undefined;
      // The socket's pieces (16-64 KiB) gathered into writes of about 1 MiB (one file write
      // per piece cost the main thread more than the CRC of the same bytes), written as they
      // are with one writev (no copy into a 1 MiB buffer), digested first if they are next.
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const pieces = pending;
        const length = pendingBytes;
        pending = [];
        pendingBytes = 0;
        ordered.pieces(pieces, position);
        await writeAllv(handle, pieces, position);
        position += length;
      };
      for await (const chunk of body ?? []) {
        const data = chunk as Buffer;
        pending.push(data);
        pendingBytes += data.length;
        if (pendingBytes >= WRITE_BYTES) await flush();
      }
      await flush();
      if (position !== range.end + 1) {
        throw new ArtifactStoreError({
          code: "IncompleteBody",
          message: `range ${range.start}-${range.end}: got ${position - range.start} bytes`,
        });
      }
      // No fsync: a killed process leaves its writes in the page cache, and after a machine
      // crash a torn range fails the checksum at the end.
      done.add(range.partNumber);
      ordered.rangeWritten(index.get(range.partNumber) as number);
      await save();
      bytes += range.end - range.start + 1;
      await options.onProgress?.({
        bytes,
        total: info.size,
        partsDone: done.size,
        partsTotal: plan.length,
      });
    });
    await ordered.settle();
    if (ordered.digested !== info.size) {
      throw new ArtifactStoreError({
        code: "IncompleteBody",
        message: `${bucket}/${key}: digested ${String(ordered.digested)} of ${String(info.size)} bytes`,
      });
    }
  } finally {
    await ordered.settle().catch(() => undefined);
    await handle.close();
  }
  const computed = await digests.digest();
  let checksumVerified: string | undefined;
  if (info.checksumType !== "COMPOSITE") {
    for (const [algorithm, stored] of Object.entries(info.checksums)) {
      const local = computed.checksums[algorithm];
      if (local === undefined) continue;
      if (local !== stored) {
        await discard(partial, statePath);
        throw new VerificationFailedError({
          code: "ChecksumMismatch",
          message: `${bucket}/${key}: ${algorithm} ${local} != stored ${stored}`,
        });
      }
      checksumVerified = algorithm;
    }
  }
  if (verdict?.sha256 && verdict.sha256 !== computed.sha256) {
    await discard(partial, statePath);
    throw new VerificationFailedError({
      code: "DigestMismatch",
      message: `${bucket}/${key}: SHA-256 ${String(computed.sha256)} is not the verified ${verdict.sha256}`,
    });
  }
  await rename(partial, file);
  await removeQuietly(statePath);
  return {
    bytes: info.size,
    etag,
    resumedFrom,
    sha256: computed.sha256,
    checksumVerified,
    verdict,
  };
}

async function discard(partial: string, statePath: string): Promise<void> {
  await removeQuietly(partial);
  await removeQuietly(statePath);
}

/** Downloaded bytes are written in pieces of at least this many (the last one shorter). */
const WRITE_BYTES = MiB;

async function writeAllv(
  handle: FileHandle,
  pieces: readonly Buffer[],
  position: number,
): Promise<void> {
  let left = [...pieces];
  while (left.length > 0) {
    let { bytesWritten } = await handle.writev(left, position);
    position += bytesWritten;
    // A short write (rare on a regular file): drop what was written, write the rest.
    while (left.length > 0 && bytesWritten >= (left[0] as Buffer).length) {
      bytesWritten -= (left[0] as Buffer).length;
      left = left.slice(1);
    }
    if (left.length > 0 && bytesWritten > 0) left[0] = (left[0] as Buffer).subarray(bytesWritten);
  }
}

/** SHA-256 (hex) of a stream, without holding it. */
export async function sha256OfStream(body: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of body) hash.update(chunk);
  return hash.digest("hex");
}
