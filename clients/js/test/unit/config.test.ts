import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeSettings, parseProfiles, settingsFromEnv } from "../../src/config.js";

test("environment variables name the settings", () => {
  assert.deepEqual(
    settingsFromEnv({
      ARTIFACT_STORE_ENDPOINT: "http://gw",
      ARTIFACT_STORE_TOKEN: "t",
      ARTIFACT_STORE_ACCESS_KEY_ID: "",
      UNRELATED: "x",
    }),
    { endpoint: "http://gw", token: "t" },
  );
});

test("profiles read like ~/.aws/config and options beat env beat profile", () => {
  const profiles = parseProfiles(
    "[default]\nendpoint = http://a\n\n[profile ci]  \n# comment\nendpoint=http://b ; note\nregion = eu-1\nunknown = 1\n",
  );
  assert.deepEqual(profiles.get("default"), { endpoint: "http://a" });
  assert.deepEqual(profiles.get("ci"), { endpoint: "http://b", region: "eu-1" });
  assert.deepEqual(
    mergeSettings(
      { region: "opt" },
      { region: "env", token: "env" },
      { region: "p", endpoint: "p" },
    ),
    { region: "opt", token: "env", endpoint: "p" },
  );
});
