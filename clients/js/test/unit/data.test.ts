import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { bytes, chunks, sha256 } from "../contract/data.js";

test("contract data is SHA-256('<seed>:<i>') blocks, truncated", () => {
  const first = createHash("sha256").update("3:0").digest();
  const second = createHash("sha256").update("3:1").digest();
  assert.deepEqual(bytes(40, 3), Buffer.concat([first, second]).subarray(0, 40));
  assert.equal(bytes(0, 1).length, 0);
});

test("chunking never changes the bytes", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5000 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer(),
      (size, chunk, seed) => {
        const joined = Buffer.concat([...chunks(size, seed, chunk)]);
        assert.equal(joined.length, size);
        assert.deepEqual(joined, bytes(size, seed));
      },
    ),
    { numRuns: 50 },
  );
  assert.equal(sha256(100, 2), createHash("sha256").update(bytes(100, 2)).digest("hex"));
});
