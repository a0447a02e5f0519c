import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Digests, OrderedDigests, type DigestName } from "../../src/node/files.js";

const ALL = new Set<DigestName>(["SHA256", "CRC64NVME", "CRC32"]);

async function whole(data: Uint8Array) {
  const digests = new Digests(ALL);
  digests.update(data);
  return digests.digest();
}

function split(size: number, cuts: readonly number[]): { start: number; end: number }[] {
  const points = [...new Set(cuts.map((c) => c % Math.max(1, size)))]
    .filter((c) => c > 0)
    .sort((a, b) => a - b);
  const bounds = [0, ...points, size];
  const ranges = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = bounds[i] as number;
    const end = (bounds[i + 1] as number) - 1;
    if (end >= start) ranges.push({ start, end });
  }
  return ranges;
}

test("ranges written in any order, pieces interleaved, some present: digests equal the whole", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat(5000), { maxLength: 10 }),
      fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 700 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      async (data, cuts, choices, readSize, presentShare) => {
        const ranges = split(data.length, cuts);
        const file = Buffer.alloc(data.length);
        let choice = 0;
        const pick = (n: number) => (choices[choice++ % choices.length] as number) % n;
        const present = ranges.flatMap((_, i) => (pick(1000) < presentShare * 1000 ? [i] : []));
        for (const i of present) {
          const r = ranges[i] as { start: number; end: number };
          file.set(data.subarray(r.start, r.end + 1), r.start);
        }
        const fed: number[] = [];
        const digests = new Digests(ALL);
        const recording = {
          update: (bytes: Uint8Array) => {
            fed.push(...bytes);
            digests.update(bytes);
          },
        } as unknown as Digests;
        const ordered = new OrderedDigests(
          recording,
          ranges,
          async (buffer, length, position) => {
            await new Promise((resolve) => setImmediate(resolve));
            const got = Math.max(0, Math.min(length, file.length - position));
            file.copy(buffer, 0, position, position + got);
            return got;
          },
          present,
          readSize,
        );
        // Each missing range is written in pieces; the writers take turns at random.
        const writers = ranges
          .map((r, i) => ({ i, at: r.start, end: r.end }))
          .filter((w) => !present.includes(w.i));
        while (writers.length > 0) {
          const w = writers[pick(writers.length)] as { i: number; at: number; end: number };
          const length = Math.min(1 + pick(400), w.end + 1 - w.at);
          const piece = Buffer.from(data.subarray(w.at, w.at + length));
          ordered.pieces([piece], w.at);
          if (pick(2) === 0) await new Promise((resolve) => setImmediate(resolve));
          file.set(piece, w.at);
          w.at += length;
          if (w.at > w.end) {
            ordered.rangeWritten(w.i);
            writers.splice(writers.indexOf(w), 1);
          }
        }
        await ordered.settle();
        assert.equal(ordered.digested, data.length);
        assert.deepEqual(Buffer.from(fed), Buffer.from(data)); // each byte once, in order
        assert.deepEqual(await digests.digest(), await whole(data));
      },
    ),
    { numRuns: 150 },
  );
});

test("a file shorter than its ranges fails settle", async () => {
  const ordered = new OrderedDigests(
    new Digests(ALL),
    [{ start: 0, end: 9 }],
    () => Promise.resolve(0),
    [0],
  );
  await assert.rejects(ordered.settle(), /shorter than its state says/);
});
