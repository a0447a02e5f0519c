/** Settings for Node programs: options, then ARTIFACT_STORE_* variables, then a profile. */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ArtifactStore, type StoreOptions } from "../client.js";
import { mergeSettings, parseProfiles, settingsFromEnv, type StoreSettings } from "../config.js";

/** ARTIFACT_STORE_CONFIG_FILE, else ~/.artifact-store/config (the same file the Python and Go SDKs read). */
export function configFile(env: Record<string, string | undefined> = process.env): string {
  return env.ARTIFACT_STORE_CONFIG_FILE ?? join(homedir(), ".artifact-store", "config");
}

/** The named profile (ARTIFACT_STORE_PROFILE, else `default`); empty when there is none. */
export function loadProfile(
  name?: string,
  env: Record<string, string | undefined> = process.env,
): StoreSettings {
  let text: string;
  try {
    text = readFileSync(configFile(env), "utf8");
  } catch {
    return {};
  }
  return parseProfiles(text).get(name ?? env.ARTIFACT_STORE_PROFILE ?? "default") ?? {};
}

/** A store configured as the AWS SDKs configure themselves. */
export function storeFromEnvironment(
  options: StoreOptions = {},
  env: Record<string, string | undefined> = process.env,
): ArtifactStore {
  const fromEnv = settingsFromEnv(env);
  const profile = loadProfile(options.profile ?? fromEnv.profile, env);
  return new ArtifactStore({ ...options, ...mergeSettings(options, fromEnv, profile) });
}
