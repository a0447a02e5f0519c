/**
 * Settings from options, then environment variables, then a profile: the order the AWS SDKs
 * use. Names are listed once in docs/sdk-js.md.
 */

export interface StoreSettings {
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  token?: string;
  oidcIssuer?: string;
  oidcClient?: string;
  roleArn?: string;
  profile?: string;
}

/** Environment variable -> setting. */
export const ENV_VARS: Record<string, keyof StoreSettings> = {
  ARTIFACT_STORE_ENDPOINT: "endpoint",
  ARTIFACT_STORE_REGION: "region",
  ARTIFACT_STORE_ACCESS_KEY_ID: "accessKeyId",
  ARTIFACT_STORE_SECRET_ACCESS_KEY: "secretAccessKey",
  ARTIFACT_STORE_SESSION_TOKEN: "sessionToken",
  ARTIFACT_STORE_TOKEN: "token",
  ARTIFACT_STORE_OIDC_ISSUER: "oidcIssuer",
  ARTIFACT_STORE_OIDC_CLIENT: "oidcClient",
  ARTIFACT_STORE_ROLE_ARN: "roleArn",
  ARTIFACT_STORE_PROFILE: "profile",
};

/** Profile file keys (snake_case, as in ~/.aws/config) -> setting. */
export const PROFILE_KEYS: Record<string, keyof StoreSettings> = {
  endpoint: "endpoint",
  region: "region",
  access_key_id: "accessKeyId",
  secret_access_key: "secretAccessKey",
  session_token: "sessionToken",
  token: "token",
  oidc_issuer: "oidcIssuer",
  oidc_client: "oidcClient",
  role_arn: "roleArn",
};

export function settingsFromEnv(env: Record<string, string | undefined>): StoreSettings {
  const settings: StoreSettings = {};
  for (const [name, field] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value !== undefined && value !== "") settings[field] = value;
  }
  return settings;
}

/** An INI file of `[profile name]` (or `[default]`) sections, as the AWS config file is. */
export function parseProfiles(text: string): Map<string, StoreSettings> {
  const profiles = new Map<string, StoreSettings>();
  let current: StoreSettings | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s[#;].*$/, "").trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section?.[1] !== undefined) {
      current = profiles.get(section[1]) ?? {};
      profiles.set(section[1], current);
      continue;
    }
    const pair = /^([A-Za-z_]+)\s*=\s*(.*)$/.exec(line);
    const field = pair?.[1] === undefined ? undefined : PROFILE_KEYS[pair[1]];
    if (current && field && pair?.[2] !== undefined) current[field] = pair[2];
  }
  return profiles;
}

/** Merge settings, earlier sources winning (options, then env, then the profile). */
export function mergeSettings(...sources: (StoreSettings | undefined)[]): StoreSettings {
  const merged: StoreSettings = {};
  for (const source of sources.slice().reverse()) {
    if (source) Object.assign(merged, stripUndefined(source));
  }
  return merged;
}

function stripUndefined(source: StoreSettings): StoreSettings {
  return Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined));
}
