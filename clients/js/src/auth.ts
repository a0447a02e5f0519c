/**
 * Keycloak login (password and device grants against a public client), tokens that refresh
 * themselves before they expire, and STS session credentials minted from a token.
 */
import { AssumeRoleWithWebIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { UnauthorizedError, fromAwsError, fromProblem } from "./errors.js";

/** Anything that hands out a current access token. */
export type TokenProvider = () => Promise<string>;

export interface OidcClientOptions {
  /** The realm's issuer URL, e.g. https://idp/realms/artifact-store. */
  issuer: string;
  /** A public client allowing the grant used (artifactctl). */
  clientId: string;
  fetch?: typeof fetch;
}

interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
}

interface Discovery {
  token_endpoint: string;
  device_authorization_endpoint?: string;
}

const discoveries = new Map<string, Promise<Discovery>>();

async function discover(options: OidcClientOptions): Promise<Discovery> {
  const doFetch = options.fetch ?? fetch;
  const url = `${options.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  let found = discoveries.get(url);
  if (!found) {
    found = (async () => {
      const answer = await doFetch(url);
      if (!answer.ok) throw fromProblem(answer.status, await safeJson(answer), answer.headers);
      return (await answer.json()) as Discovery;
    })();
    found.catch(() => discoveries.delete(url));
    discoveries.set(url, found);
  }
  return found;
}

async function safeJson(answer: Response): Promise<unknown> {
  try {
    return await answer.json();
  } catch {
    return undefined;
  }
}

async function tokenRequest(
  options: OidcClientOptions,
  form: Record<string, string>,
): Promise<Response> {
  const { token_endpoint } = await discover(options);
  return (options.fetch ?? fetch)(token_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: options.clientId, ...form }),
  });
}

async function oauthError(answer: Response): Promise<UnauthorizedError> {
  const body = (await safeJson(answer)) as
    { error?: string; error_description?: string } | undefined;
  return new UnauthorizedError({
    code: body?.error ?? `HTTP${answer.status}`,
    message: body?.error_description ?? body?.error ?? `token endpoint answered ${answer.status}`,
    status: answer.status,
  });
}

/**
 * A logged-in session: hands out its access token and refreshes it (refresh-token grant)
 * shortly before it expires, so long transfers and short-lived tokens both work.
 */
export class OidcSession {
  private accessToken: string;
  private refreshToken: string | undefined;
  private expiresAt: number;
  private lifetimeMs: number;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly options: OidcClientOptions,
    answer: TokenAnswer,
    private readonly now: () => number = Date.now,
  ) {
    this.accessToken = answer.access_token;
    this.refreshToken = answer.refresh_token;
    this.lifetimeMs = (answer.expires_in ?? 300) * 1000;
    this.expiresAt = this.now() + this.lifetimeMs;
  }

  /** Refresh when less than a fifth of the lifetime (at most 30 s) is left. */
  needsRefresh(): boolean {
    const margin = Math.min(30_000, this.lifetimeMs / 5);
    return this.now() >= this.expiresAt - margin;
  }

  readonly token: TokenProvider = async () => {
    if (this.needsRefresh()) {
      this.refreshing ??= this.refresh().finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
    return this.accessToken;
  };

  private async refresh(): Promise<void> {
    if (this.refreshToken === undefined) {
      throw new UnauthorizedError({ code: "TokenExpired", message: "no refresh token to renew" });
    }
    const answer = await tokenRequest(this.options, {
      grant_type: "refresh_token",
      refresh_token: this.refreshToken,
    });
    if (!answer.ok) throw await oauthError(answer);
    const body = (await answer.json()) as TokenAnswer;
    this.accessToken = body.access_token;
    this.refreshToken = body.refresh_token ?? this.refreshToken;
    this.lifetimeMs = (body.expires_in ?? 300) * 1000;
    this.expiresAt = this.now() + this.lifetimeMs;
  }
}

/** Resource owner password grant (for scripts and tests; people should use the device flow). */
export async function passwordLogin(
  options: OidcClientOptions & { username: string; password: string },
): Promise<OidcSession> {
  const answer = await tokenRequest(options, {
    grant_type: "password",
    username: options.username,
    password: options.password,
    scope: "openid",
  });
  if (!answer.ok) throw await oauthError(answer);
  return new OidcSession(options, (await answer.json()) as TokenAnswer);
}

export interface DevicePrompt {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn: number;
}

/** OAuth 2.0 device authorization grant (RFC 8628): show the prompt, poll until approved. */
export async function deviceLogin(
  options: OidcClientOptions & {
    onPrompt: (prompt: DevicePrompt) => void | Promise<void>;
    signal?: AbortSignal;
  },
): Promise<OidcSession> {
  const { device_authorization_endpoint } = await discover(options);
  if (device_authorization_endpoint === undefined) {
    throw new UnauthorizedError({ code: "NoDeviceFlow", message: "the issuer has no device flow" });
  }
  const doFetch = options.fetch ?? fetch;
  const started = await doFetch(device_authorization_endpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: options.clientId, scope: "openid" }),
  });
  if (!started.ok) throw await oauthError(started);
  const device = (await started.json()) as {
    device_code: string;
    user_code: string;
    verification_uri: string;
    verification_uri_complete?: string;
    expires_in: number;
    interval?: number;
  };
  await options.onPrompt({
    userCode: device.user_code,
    verificationUri: device.verification_uri,
    ...(device.verification_uri_complete === undefined
      ? {}
      : { verificationUriComplete: device.verification_uri_complete }),
    expiresIn: device.expires_in,
  });
  let interval = (device.interval ?? 5) * 1000;
  const deadline = Date.now() + device.expires_in * 1000;
  while (Date.now() < deadline) {
    await sleep(interval, options.signal);
    const answer = await tokenRequest(options, {
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: device.device_code,
    });
    if (answer.ok) return new OidcSession(options, (await answer.json()) as TokenAnswer);
    const error = await oauthError(answer);
    if (error.code === "slow_down") interval += 5000;
    else if (error.code !== "authorization_pending") throw error;
  }
  throw new UnauthorizedError({ code: "expired_token", message: "the device code expired" });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    });
  });
}

export interface StsOptions {
  /** The gateway's URL: STS is served at its root. */
  endpoint: string;
  region?: string;
  token: TokenProvider;
  /** Defaults to the caller's own roles (a role ARN narrows them). */
  roleArn?: string;
  sessionName?: string;
  durationSeconds?: number;
}

/**
 * STS AssumeRoleWithWebIdentity credentials. The AWS SDK calls providers again when the
 * `expiration` they returned is near, so a long transfer gets fresh credentials.
 */
export function stsCredentials(options: StsOptions): AwsCredentialIdentityProvider {
  const sts = new STSClient({
    endpoint: options.endpoint,
    region: options.region ?? "us-east-1",
    // The call is unsigned (the web identity token is the credential).
    credentials: { accessKeyId: "unused", secretAccessKey: "unused" },
  });
  return async (): Promise<AwsCredentialIdentity> => {
    try {
      const answer = await sts.send(
        new AssumeRoleWithWebIdentityCommand({
          WebIdentityToken: await options.token(),
          RoleArn: options.roleArn ?? "arn:aws:iam::000000000000:role/artifact-store",
          RoleSessionName: options.sessionName ?? "artifact-store-sdk-js",
          ...(options.durationSeconds === undefined
            ? {}
            : { DurationSeconds: options.durationSeconds }),
        }),
      );
      const credentials = answer.Credentials;
      if (credentials?.AccessKeyId === undefined || credentials.SecretAccessKey === undefined) {
        throw new UnauthorizedError({ code: "NoCredentials", message: "STS gave no credentials" });
      }
      return {
        accessKeyId: credentials.AccessKeyId,
        secretAccessKey: credentials.SecretAccessKey,
        ...(credentials.SessionToken === undefined
          ? {}
          : { sessionToken: credentials.SessionToken }),
        ...(credentials.Expiration === undefined ? {} : { expiration: credentials.Expiration }),
      };
    } catch (error) {
      throw fromAwsError(error);
    }
  };
}
