/** Sizes, part plans and the retry schedule: pure functions, shared by both entries. */

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** S3's limits on multipart uploads. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;
export const MAX_PARTS = 10_000;

const UNITS: Record<string, number> = { "": 1, B: 1, KiB, MiB, GiB, TiB: 1024 * GiB };

/** `20MiB`, `512 KiB`, `1.5GiB` or a plain number of bytes. */
export function parseSize(value: number | string): number {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad size: ${value}`);
    return value;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]iB|B)?\s*$/.exec(value);
  const unit = UNITS[match?.[2] ?? ""];
  if (match?.[1] === undefined || unit === undefined) throw new RangeError(`bad size: ${value}`);
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`bad size: ${value}`);
  return bytes;
}

export interface PartRange {
  /** 1-based, as S3 numbers parts. */
  partNumber: number;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (HTTP Range style). */
  end: number;
}

/**
 * The part size actually used: the requested one, raised so that the object fits in
 * MAX_PARTS parts. Below MIN_PART_SIZE only for downloads (ranges have no minimum).
 */
export function effectivePartSize(
  size: number,
  requested: number,
  minimum = MIN_PART_SIZE,
): number {
  let partSize = Math.max(requested, minimum, 1);
  if (Math.ceil(size / partSize) > MAX_PARTS) partSize = Math.ceil(size / MAX_PARTS);
  if (partSize > MAX_PART_SIZE) throw new RangeError(`object too large: ${size} bytes`);
  return partSize;
}

/** Consecutive ranges covering [0, size): the last one may be shorter. */
export function planParts(size: number, partSize: number): PartRange[] {
  if (partSize <= 0) throw new RangeError("part size must be positive");
  const parts: PartRange[] = [];
  for (let start = 0, n = 1; start < size; start += partSize, n += 1) {
    parts.push({ partNumber: n, start, end: Math.min(start + partSize, size) - 1 });
  }
  return parts;
}

/** Full-jitter exponential backoff in ms (AWS's recommendation), honouring Retry-After. */
export function backoffMs(
  attempt: number,
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const cap = 20_000;
  const base = 100;
  const jitter = Math.floor(random() * Math.min(cap, base * 2 ** attempt));
  return Math.max(jitter, (retryAfterSeconds ?? 0) * 1000);
}
