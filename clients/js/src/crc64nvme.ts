/**
 * CRC-64/NVME (S3's CRC64NVME), the same values as @aws-sdk/crc64-nvme, about twice as fast
 * in pure JS: slicing-by-16 over two 32-bit halves (no BigInt in the loop), reading the
 * input four bytes at a time where it is 4-byte aligned on a little-endian machine.
 */

/** The reflected NVMe polynomial 0x9a6c9329ac4bc9b5 in two 32-bit halves. */
const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;
const SLICES = 16;

/** TL/TH[k * 256 + b]: low/high halves of the CRC of byte b followed by k zero bytes. */
const TL = new Int32Array(256 * SLICES);
const TH = new Int32Array(256 * SLICES);
for (let b = 0; b < 256; b++) {
  let lo = b;
  let hi = 0;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = (lo >>> 1) | ((hi & 1) << 31);
    hi = hi >>> 1;
    if (carry) {
      lo ^= POLY_LO;
      hi ^= POLY_HI;
    }
  }
  TL[b] = lo;
  TH[b] = hi;
}
for (let k = 1; k < SLICES; k++) {
  for (let b = 0; b < 256; b++) {
    const lo = TL[(k - 1) * 256 + b] as number;
    const hi = TH[(k - 1) * 256 + b] as number;
    const index = lo & 255;
    TL[k * 256 + b] = ((lo >>> 8) | (hi << 24)) ^ (TL[index] as number);
    TH[k * 256 + b] = (hi >>> 8) ^ (TH[index] as number);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Feed `data` into the running (pre-inverted) state [lo, hi]; returns the new state. The
 * state starts at [-1, -1] and is inverted again at the end (see Crc64Nvme).
 */
export function crc64nvmeUpdate(lo: number, hi: number, data: Uint8Array): [number, number] {
  const tl = TL;
  const th = TH;
  let i = 0;
  const length = data.length;
  // Bytes one at a time up to a 4-byte boundary, then 16 at a time as four words.
  const misaligned = LITTLE_ENDIAN ? (4 - ((data.byteOffset + i) & 3)) & 3 : length;
  for (const stop = Math.min(misaligned, length); i < stop; i++) {
    const index = (lo ^ (data[i] as number)) & 255;
    lo = ((lo >>> 8) | (hi << 24)) ^ (tl[index] as number);
    hi = (hi >>> 8) ^ (th[index] as number);
  }
  const blocks = (length - i) >>> 4;
  if (blocks > 0) {
    const words = new Int32Array(data.buffer, data.byteOffset + i, blocks * 4);
    for (let w = 0; w < words.length; w += 4) {
      const a = lo ^ (words[w] as number);
      const b = hi ^ (words[w + 1] as number);
      const c = words[w + 2] as number;
      const d = words[w + 3] as number;
      const ia0 = 3840 + (a & 255);
      const ia1 = 3584 + ((a >>> 8) & 255);
      const ia2 = 3328 + ((a >>> 16) & 255);
      const ia3 = 3072 + (a >>> 24);
      const ib0 = 2816 + (b & 255);
      const ib1 = 2560 + ((b >>> 8) & 255);
      const ib2 = 2304 + ((b >>> 16) & 255);
      const ib3 = 2048 + (b >>> 24);
      const ic0 = 1792 + (c & 255);
      const ic1 = 1536 + ((c >>> 8) & 255);
      const ic2 = 1280 + ((c >>> 16) & 255);
      const ic3 = 1024 + (c >>> 24);
      const id0 = 768 + (d & 255);
      const id1 = 512 + ((d >>> 8) & 255);
      const id2 = 256 + ((d >>> 16) & 255);
      const id3 = d >>> 24;
      lo =
        (tl[ia0] as number) ^
        (tl[ia1] as number) ^
        (tl[ia2] as number) ^
        (tl[ia3] as number) ^
        (tl[ib0] as number) ^
        (tl[ib1] as number) ^
        (tl[ib2] as number) ^
        (tl[ib3] as number) ^
        (tl[ic0] as number) ^
        (tl[ic1] as number) ^
        (tl[ic2] as number) ^
        (tl[ic3] as number) ^
        (tl[id0] as number) ^
        (tl[id1] as number) ^
        (tl[id2] as number) ^
        (tl[id3] as number);
      hi =
        (th[ia0] as number) ^
        (th[ia1] as number) ^
        (th[ia2] as number) ^
        (th[ia3] as number) ^
        (th[ib0] as number) ^
        (th[ib1] as number) ^
        (th[ib2] as number) ^
        (th[ib3] as number) ^
        (th[ic0] as number) ^
        (th[ic1] as number) ^
        (th[ic2] as number) ^
        (th[ic3] as number) ^
        (th[id0] as number) ^
        (th[id1] as number) ^
        (th[id2] as number) ^
        (th[id3] as number);
    }
    i += blocks * 16;
  }
  for (; i < length; i++) {
    const index = (lo ^ (data[i] as number)) & 255;
    lo = ((lo >>> 8) | (hi << 24)) ^ (tl[index] as number);
    hi = (hi >>> 8) ^ (th[index] as number);
  }
  return [lo, hi];
}

/** A streaming CRC64NVME with the interface of @aws-sdk/crc64-nvme's Crc64Nvme. */
export class Crc64Nvme {
  private lo = -1;
  private hi = -1;

  update(data: Uint8Array): void {
    [this.lo, this.hi] = crc64nvmeUpdate(this.lo, this.hi, data);
  }

  /** The 8 bytes, big-endian, as S3 sends them (base64 of these is the header value). */
  digestSync(): Uint8Array {
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setInt32(0, ~this.hi);
    view.setInt32(4, ~this.lo);
    return out;
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.digestSync());
  }

  reset(): void {
    this.lo = -1;
    this.hi = -1;
  }
}

/** The base64 CRC64NVME of `data`, as in an x-amz-checksum-crc64nvme header. */
export function crc64nvmeBase64(data: Uint8Array): string {
  const crc = new Crc64Nvme();
  crc.update(data);
  const bytes = crc.digestSync();
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}
