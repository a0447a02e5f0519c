import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { parseDownloadState, parseUploadState, reconcileParts } from "../../src/resume.js";
import { planParts } from "../../src/sizes.js";

test("reconcile keeps stored parts of the planned size and redoes the rest", () => {
  const plan = planParts(20, 5);
  const { kept, pending } = reconcileParts(plan, [
    { partNumber: 1, size: 5, etag: '"a"' },
    { partNumber: 2, size: 4, etag: '"b"' }, // torn: wrong size
    { partNumber: 4, size: 5, etag: '"d"' },
    { partNumber: 9, size: 5, etag: '"x"' }, // not in the plan
  ]);
  assert.deepEqual(
    kept.map((p) => p.partNumber),
    [1, 4],
  );
  assert.deepEqual(
    pending.map((p) => p.partNumber),
    [2, 3],
  );
});

test("kept and pending always partition the plan", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.array(
        fc.record({
          partNumber: fc.integer({ min: 1, max: 60 }),
          size: fc.integer({ min: 0, max: 12 }),
        }),
      ),
      (size, stored) => {
        const plan = planParts(size, 10);
        const { kept, pending } = reconcileParts(
          plan,
          stored.map((p) => ({ ...p, etag: "e" })),
        );
        const numbers = [
          ...kept.map((p) => p.partNumber),
          ...pending.map((p) => p.partNumber),
        ].sort((a, b) => a - b);
        assert.deepEqual(
          numbers,
          plan.map((p) => p.partNumber),
        );
      },
    ),
  );
});

test("state files that are torn or foreign are ignored", () => {
  assert.equal(parseUploadState(""), undefined);
  assert.equal(parseUploadState('{"version": 1, "kind": "upload"'), undefined);
  assert.equal(parseUploadState(JSON.stringify({ version: 2, kind: "upload" })), undefined);
  const good = {
    version: 1,
    kind: "upload",
    bucket: "b",
    key: "k",
    fingerprint: "f",
    uploadId: "u",
    partSize: 5,
    checksum: "CRC64NVME",
  };
  assert.deepEqual(parseUploadState(JSON.stringify(good)), good);
  assert.equal(parseDownloadState(JSON.stringify(good)), undefined);
  const download = {
    version: 1,
    kind: "download",
    bucket: "b",
    key: "k",
    etag: "e",
    size: 3,
    partSize: 1,
    done: [1],
  };
  assert.deepEqual(parseDownloadState(JSON.stringify(download)), download);
  assert.equal(parseDownloadState(JSON.stringify({ ...download, done: ["x"] })), undefined);
});
