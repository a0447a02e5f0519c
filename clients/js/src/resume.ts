/** Pure resume logic: which parts an interrupted transfer still needs. */
import type { PartRange } from "./sizes.js";

export const STATE_VERSION = 1;

/** What an interrupted multipart upload leaves on disk, keyed by bucket/key/fingerprint. */
export interface UploadState {
  version: typeof STATE_VERSION;
  kind: "upload";
  bucket: string;
  key: string;
  fingerprint: string;
  uploadId: string;
  partSize: number;
  checksum: string;
}

/** What an interrupted download leaves beside its partial file. */
export interface DownloadState {
  version: typeof STATE_VERSION;
  kind: "download";
  bucket: string;
  key: string;
  etag: string;
  size: number;
  partSize: number;
  /** Part numbers whose bytes are in the partial file (written and flushed). */
  done: number[];
}

export interface StoredPart {
  partNumber: number;
  size: number;
  etag: string;
  checksum?: string | undefined;
}

/**
 * Parts the store already holds that match the plan (same number, same size) are kept;
 * everything else is uploaded again (uploading a part number again replaces it).
 */
export function reconcileParts(
  plan: readonly PartRange[],
  stored: readonly StoredPart[],
): { kept: StoredPart[]; pending: PartRange[] } {
  const byNumber = new Map(stored.map((part) => [part.partNumber, part]));
  const kept: StoredPart[] = [];
  const pending: PartRange[] = [];
  for (const range of plan) {
    const part = byNumber.get(range.partNumber);
    if (part && part.size === range.end - range.start + 1 && part.etag !== "") kept.push(part);
    else pending.push(range);
  }
  return { kept, pending };
}

/** Parse a state file's JSON; anything unexpected means "no usable state". */
export function parseUploadState(text: string): UploadState | undefined {
  try {
    const value = JSON.parse(text) as Partial<UploadState>;
    if (
      value.version === STATE_VERSION &&
      value.kind === "upload" &&
      typeof value.uploadId === "string" &&
      typeof value.partSize === "number" &&
      typeof value.bucket === "string" &&
      typeof value.key === "string" &&
      typeof value.fingerprint === "string" &&
      typeof value.checksum === "string"
    ) {
      return value as UploadState;
    }
  } catch {
    // a torn or foreign file: start over
  }
  return undefined;
}

export function parseDownloadState(text: string): DownloadState | undefined {
  try {
    const value = JSON.parse(text) as Partial<DownloadState>;
    if (
      value.version === STATE_VERSION &&
      value.kind === "download" &&
      typeof value.etag === "string" &&
      typeof value.size === "number" &&
      typeof value.partSize === "number" &&
      Array.isArray(value.done) &&
      value.done.every((n) => Number.isInteger(n))
    ) {
      return value as DownloadState;
    }
  } catch {
    // as above
  }
  return undefined;
}
