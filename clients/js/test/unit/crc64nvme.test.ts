import assert from "node:assert/strict";
import { test } from "node:test";
import { Crc64Nvme as AwsCrc64Nvme } from "@aws-sdk/crc64-nvme";
import fc from "fast-check";
import { Crc64Nvme, crc64nvmeBase64 } from "../../src/crc64nvme.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

async function aws(pieces: readonly Uint8Array[]): Promise<string> {
  const crc = new AwsCrc64Nvme();
  for (const piece of pieces) crc.update(piece);
  return hex(await crc.digest());
}

function ours(pieces: readonly Uint8Array[]): string {
  const crc = new Crc64Nvme();
  for (const piece of pieces) crc.update(piece);
  return hex(crc.digestSync());
}

test("known CRC-64/NVME values (the catalogue's check value; the others from awscrt)", () => {
  const vectors: [Uint8Array, string][] = [
    [new Uint8Array(0), "0000000000000000"],
    [Buffer.from("123456789"), "ae8b14860a799888"],
    [new Uint8Array(32), "cf3473434d4ecf3b"],
    [new Uint8Array(32).fill(255), "a0a06974c34d63c4"],
    [Buffer.from("The quick brown fox jumps over the lazy dog"), "d76c54054954c143"],
    [Buffer.from(Array.from({ length: 10240 }, (_, i) => i & 255)), "e1763e85e8eb4599"],
  ];
  for (const [data, want] of vectors) assert.equal(ours([data]), want);
  assert.equal(
    crc64nvmeBase64(Buffer.from("123456789")),
    Buffer.from("ae8b14860a799888", "hex").toString("base64"),
  );
});

test("the same values as @aws-sdk/crc64-nvme, however the bytes are split and aligned", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat({ max: 3000 }), { maxLength: 6 }),
      fc.nat({ max: 7 }),
      async (data, cuts, shift) => {
        // Copied behind `shift` bytes so the views start at every alignment.
        const backing = new Uint8Array(data.length + shift);
        backing.set(data, shift);
        const view = backing.subarray(shift);
        const points = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort(
          (a, b) => a - b,
        );
        const pieces: Uint8Array[] = [];
        let from = 0;
        for (const point of [...points, data.length]) {
          pieces.push(view.subarray(from, point));
          from = point;
        }
        assert.equal(ours(pieces), await aws([data]));
      },
    ),
    { numRuns: 300 },
  );
});

test("digest() resolves to the digestSync() bytes and reset() starts over", async () => {
  const crc = new Crc64Nvme();
  crc.update(Buffer.from("junk"));
  crc.reset();
  crc.update(Buffer.from("123456789"));
  assert.equal(hex(await crc.digest()), "ae8b14860a799888");
  assert.equal(hex(crc.digestSync()), "ae8b14860a799888");
});
