import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("src/generated/api.ts is what openapi-typescript makes of clients/openapi.json", () => {
  const dir = mkdtempSync(join(tmpdir(), "api-"));
  try {
    const out = join(dir, "api.ts");
    const cli = join(root, "node_modules", "openapi-typescript", "bin", "cli.js");
    execFileSync(process.execPath, [cli, join(root, "..", "openapi.json"), "--output", out], {
      stdio: "pipe",
    });
    assert.equal(
      readFileSync(out, "utf8"),
      readFileSync(join(root, "src", "generated", "api.ts"), "utf8"),
      "stale: run `npm run generate` in clients/js",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
