import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  GiB,
  MAX_PARTS,
  MIN_PART_SIZE,
  MiB,
  backoffMs,
  effectivePartSize,
  parseSize,
  planParts,
} from "../../src/sizes.js";

test("parseSize reads bytes and binary units", () => {
  assert.equal(parseSize(0), 0);
  assert.equal(parseSize("20MiB"), 20 * MiB);
  assert.equal(parseSize("512 KiB"), 512 * 1024);
  assert.equal(parseSize("1.5GiB"), 1.5 * GiB);
  assert.equal(parseSize("17"), 17);
  for (const bad of ["", "5MB", "-1", "1.5", "x", 1.5, -3]) {
    assert.throws(() => parseSize(bad), RangeError, String(bad));
  }
});

test("planParts covers every byte once, in order", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 10 ** 9 }),
      fc.integer({ min: 1, max: 10 ** 8 }),
      (size, partSize) => {
        fc.pre(Math.ceil(size / partSize) <= 20_000);
        const parts = planParts(size, partSize);
        let next = 0;
        for (const [index, part] of parts.entries()) {
          assert.equal(part.partNumber, index + 1);
          assert.equal(part.start, next);
          assert.ok(part.end >= part.start);
          assert.ok(part.end - part.start + 1 <= partSize);
          next = part.end + 1;
        }
        assert.equal(next, size);
      },
    ),
  );
});

test("effectivePartSize keeps S3's limits", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 * 1024 * GiB }),
      fc.integer({ min: 1, max: 64 * MiB }),
      (size, requested) => {
        const partSize = effectivePartSize(size, requested);
        assert.ok(partSize >= MIN_PART_SIZE);
        assert.ok(Math.ceil(size / partSize) <= MAX_PARTS);
      },
    ),
  );
  assert.equal(effectivePartSize(100, 1, 1), 1);
  assert.throws(() => effectivePartSize(6 * 10_000 * GiB, MiB), RangeError);
});

test("backoff grows, stays under its cap and honours Retry-After", () => {
  assert.equal(
    backoffMs(0, undefined, () => 0.999),
    99,
  );
  assert.ok(backoffMs(30, undefined, () => 0.999) < 20_000);
  assert.equal(
    backoffMs(0, 5, () => 0),
    5000,
  );
});
