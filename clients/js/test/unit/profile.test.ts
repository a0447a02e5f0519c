import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadProfile, storeFromEnvironment } from "../../src/node/profile.js";

test("storeFromEnvironment: options, then variables, then the named profile", () => {
  const dir = mkdtempSync(join(tmpdir(), "profile-"));
  try {
    const file = join(dir, "config");
    writeFileSync(
      file,
      "[default]\nendpoint = http://default:9000\n[profile ci]\nendpoint = http://ci:9000\nregion = eu-west-1\n",
    );
    const env = { ARTIFACT_STORE_CONFIG_FILE: file, ARTIFACT_STORE_PROFILE: "ci" };
    assert.deepEqual(loadProfile(undefined, env), {
      endpoint: "http://ci:9000",
      region: "eu-west-1",
    });
    assert.deepEqual(loadProfile("default", env), { endpoint: "http://default:9000" });
    assert.deepEqual(loadProfile("missing", env), {});
    assert.equal(storeFromEnvironment({}, env).endpoint, "http://ci:9000");
    assert.equal(storeFromEnvironment({}, env).region, "eu-west-1");
    const fromVar = storeFromEnvironment({}, { ...env, ARTIFACT_STORE_ENDPOINT: "http://var:1/" });
    assert.equal(fromVar.endpoint, "http://var:1");
    assert.equal(storeFromEnvironment({ endpoint: "http://opt:2" }, env).endpoint, "http://opt:2");
    assert.throws(
      () => storeFromEnvironment({}, { ARTIFACT_STORE_CONFIG_FILE: join(dir, "none") }),
      {
        code: "NoEndpoint",
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
