/**
 * The store: S3 calls through @aws-sdk/client-s3 and the JSON API (referrers, trust, verdicts,
 * bucket deletion, presigning for token callers) through fetch. Browser-safe: no node:* here.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type ChecksumAlgorithm,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type PutObjectCommandInput,
  type _Object,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";
import type {
  DeserializeHandler,
  DeserializeHandlerArguments,
  FinalizeHandler,
  FinalizeHandlerArguments,
  FinalizeHandlerOutput,
} from "@smithy/types";
import { stsCredentials, sleep, type TokenProvider } from "./auth.js";
import { mergeSettings, settingsFromEnv, type StoreSettings } from "./config.js";
import { ArtifactStoreError, InvalidRequestError, fromAwsError, fromProblem } from "./errors.js";
import type { components } from "./generated/api.js";
import { backoffMs } from "./sizes.js";

type Schemas = components["schemas"];
export type Verdict = Schemas["VerdictInfo"];
export type ReferrerInfo = Schemas["ReferrerInfo"];
export type Trust = Schemas["TrustModel"];
export type TrustedKey = Schemas["TrustedKeyModel"];
export type DeletionStatus = Schemas["DeletionStatus"];
export type ReferrerKind = ReferrerInfo["kind"];

export interface StoreOptions extends StoreSettings {
  /** SigV4 keys, or a provider of them (STS sessions). */
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /**
   * A Keycloak access token, or a provider (e.g. `OidcSession.token`). Sent as Bearer on every
   * call, S3 ones included, unless `useSts` trades it for STS session credentials.
   */
  tokenProvider?: TokenProvider;
  /** Trade the token for STS session credentials (refreshed before they expire). */
  useSts?: boolean;
  /** Attempts per call for safe (idempotent) calls; S3 calls use the AWS SDK's retry. */
  maxAttempts?: number;
  /** Read ARTIFACT_STORE_* from this environment (default: none in browsers). */
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

export const DEFAULT_CHECKSUM: ChecksumAlgorithm = "CRC64NVME";

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
  metadata: Record<string, string>;
  contentType: string | undefined;
  /** Full-object checksums the store keeps, by algorithm (base64). */
  checksums: Record<string, string>;
  checksumType: string | undefined;
  /** Referrer counts (x-artifact-store-* headers). */
  signatures: number;
  sboms: number;
  attestations: number;
}

export interface PresignOptions {
  method?: "GET" | "PUT";
  /** Seconds the URL is valid (default 3600). */
  expires?: number;
}

export interface StreamUploadOptions {
  partSize?: number;
  concurrency?: number;
  checksum?: ChecksumAlgorithm;
  metadata?: Record<string, string>;
  contentType?: string;
  onProgress?: (progress: { loaded: number; total?: number | undefined }) => void;
}

/** Build the Bearer middleware: replaces SigV4's Authorization once the request is signed. */
function bearerMiddleware(token: TokenProvider) {
  return <Output extends object>(next: FinalizeHandler<object, Output>) =>
    async (args: FinalizeHandlerArguments<object>): Promise<FinalizeHandlerOutput<Output>> => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) {
        for (const name of Object.keys(request.headers)) {
          if (name.toLowerCase() === "authorization") Reflect.deleteProperty(request.headers, name);
        }
        request.headers.authorization = `Bearer ${await token()}`;
      }
      return next(args);
    };
}

/** Keep the raw answer headers on the output: the referrer counts are not modelled. */
function keepHeaders<Output extends object>(
  next: DeserializeHandler<object, Output>,
): DeserializeHandler<object, Output> {
  return async (args: DeserializeHandlerArguments<object>) => {
    const result = await next(args);
    const response = result.response as { headers?: Record<string, string> } | undefined;
    Object.defineProperty(result.output, "$headers", {
      value: response?.headers ?? {},
      enumerable: false,
    });
    return result;
  };
}

function resolveCredentials(
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider,
): Promise<AwsCredentialIdentity> {
  return typeof credentials === "function" ? credentials() : Promise.resolve(credentials);
}

export class ArtifactStore {
  readonly endpoint: string;
  readonly region: string;
  readonly s3: S3Client;
  private readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider | undefined;
  private readonly token: TokenProvider | undefined;
  private readonly maxAttempts: number;
  private readonly doFetch: typeof fetch;

  constructor(options: StoreOptions = {}) {
    const settings = mergeSettings(options, options.env ? settingsFromEnv(options.env) : {});
    if (settings.endpoint === undefined) {
      throw new InvalidRequestError({
        code: "NoEndpoint",
        message: "no endpoint (option endpoint or ARTIFACT_STORE_ENDPOINT)",
      });
    }
    this.endpoint = settings.endpoint.replace(/\/$/, "");
    this.region = settings.region ?? "us-east-1";
    this.maxAttempts = options.maxAttempts ?? 4;
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init));
    const staticToken = settings.token;
    this.token =
      options.tokenProvider ??
      (staticToken === undefined ? undefined : () => Promise.resolve(staticToken));
    if (options.credentials) {
      this.credentials = options.credentials;
    } else if (this.token && options.useSts) {
      this.credentials = stsCredentials({
        endpoint: this.endpoint,
        region: this.region,
        token: this.token,
        ...(settings.roleArn === undefined ? {} : { roleArn: settings.roleArn }),
      });
    } else if (settings.accessKeyId !== undefined && settings.secretAccessKey !== undefined) {
      this.credentials = {
        accessKeyId: settings.accessKeyId,
        secretAccessKey: settings.secretAccessKey,
        ...(settings.sessionToken === undefined ? {} : { sessionToken: settings.sessionToken }),
      };
    }
    const bearerOnly = this.credentials === undefined && this.token !== undefined;
    this.s3 = new S3Client({
      endpoint: this.endpoint,
      region: this.region,
      forcePathStyle: true,
      maxAttempts: this.maxAttempts,
      // With Bearer only, SigV4 signs with placeholder keys and the middleware swaps the header.
      credentials: this.credentials ?? { accessKeyId: "bearer", secretAccessKey: "bearer" },
      requestChecksumCalculation: "WHEN_SUPPORTED",
      responseChecksumValidation: "WHEN_SUPPORTED",
    });
    // Keep the raw answer headers: the referrer counts (x-artifact-store-*) are not modelled.
    this.s3.middlewareStack.addRelativeTo(keepHeaders, {
      relation: "before",
      toMiddleware: "deserializerMiddleware",
      name: "artifactStoreHeaders",
    });
    if (bearerOnly) {
      this.s3.middlewareStack.addRelativeTo(bearerMiddleware(this.token), {
        relation: "after",
        toMiddleware: "httpSigningMiddleware",
        name: "artifactStoreBearer",
      });
    }
  }

  /** Create a store from ARTIFACT_STORE_* variables (Node: pass `process.env`). */
  static fromEnv(
    env: Record<string, string | undefined>,
    options: StoreOptions = {},
  ): ArtifactStore {
    return new ArtifactStore({ ...options, env });
  }

  /** Run an S3 call, mapping failures to the SDK's typed errors. */
  async call<T>(action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      throw fromAwsError(error);
    }
  }

  // ---- the JSON API -------------------------------------------------------------------------

  private async authorization(): Promise<string | undefined> {
    if (this.token) return `Bearer ${await this.token()}`;
    if (this.credentials) {
      const keys = await resolveCredentials(this.credentials);
      if (keys.sessionToken === undefined) {
        return `Basic ${btoa(`${keys.accessKeyId}:${keys.secretAccessKey}`)}`;
      }
    }
    return undefined;
  }

  /**
   * One JSON API request. Idempotent methods are retried on 503/429 and network errors with
   * full-jitter backoff (honouring Retry-After); POST is not (attach is idempotent on the
   * server, but a retry must be the caller's choice).
   */
  async api(
    method: string,
    path: string,
    init: {
      query?: Record<string, string | undefined>;
      body?: BodyInit;
      contentType?: string;
    } = {},
  ): Promise<Response> {
    const url = new URL(`${this.endpoint}${path}`);
    for (const [name, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const safe = method === "GET" || method === "HEAD" || method === "PUT" || method === "DELETE";
    for (let attempt = 0; ; attempt += 1) {
      const headers: Record<string, string> = { accept: "application/json" };
      const auth = await this.authorization();
      if (auth) headers.authorization = auth;
      if (init.contentType) headers["content-type"] = init.contentType;
      let answer: Response;
      try {
        answer = await this.doFetch(url, {
          method,
          headers,
          ...(init.body === undefined ? {} : { body: init.body }),
        });
      } catch (error) {
        const mapped = fromAwsError(error);
        if (safe && attempt + 1 < this.maxAttempts) {
          await sleep(backoffMs(attempt));
          continue;
        }
        throw mapped;
      }
      if (answer.ok) return answer;
      const body: unknown = await answer.json().catch(() => undefined);
      const error = fromProblem(answer.status, body, answer.headers);
      if (safe && error.family === "Retryable" && attempt + 1 < this.maxAttempts) {
        await sleep(backoffMs(attempt, error.retryAfterSeconds));
        continue;
      }
      throw error;
    }
  }

  private async apiJson<T>(...args: Parameters<ArtifactStore["api"]>): Promise<T> {
    return (await (await this.api(...args)).json()) as T;
  }

  // ---- buckets ------------------------------------------------------------------------------

  async createBucket(bucket: string): Promise<void> {
    await this.call(() => this.s3.send(new CreateBucketCommand({ Bucket: bucket })));
  }

  /**
   * Delete a bucket. `recursive` deletes everything in it first, in the gateway (one request;
   * this waits for the job the gateway may answer 202 with).
   */
  async deleteBucket(bucket: string, options: { recursive?: boolean } = {}): Promise<void> {
    if (!options.recursive) {
      await this.call(() => this.s3.send(new DeleteBucketCommand({ Bucket: bucket })));
      return;
    }
    const path = `/_artifacts/buckets/${encodeURIComponent(bucket)}`;
    const answer = await this.api("DELETE", path, { query: { recursive: "true" } });
    if (answer.status !== 202) return;
    for (let attempt = 0; ; attempt += 1) {
      await sleep(Math.min(2000, 200 * 2 ** attempt));
      const status = await this.apiJson<DeletionStatus>("GET", `${path}/deletion`);
      if (status.state === "done") return;
      if (status.state === "failed") {
        throw new ArtifactStoreError({ code: "DeletionFailed", message: JSON.stringify(status) });
      }
    }
  }

  async putBucketPolicy(bucket: string, policy: object): Promise<void> {
    await this.call(() =>
      this.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) })),
    );
  }

  async getBucketPolicy(bucket: string): Promise<unknown> {
    const answer = await this.call(() =>
      this.s3.send(new GetBucketPolicyCommand({ Bucket: bucket })),
    );
    return JSON.parse(answer.Policy ?? "null") as unknown;
  }

  // ---- objects ------------------------------------------------------------------------------

  async head(bucket: string, key: string, options: { ifMatch?: string } = {}): Promise<ObjectInfo> {
    const answer = await this.call(() =>
      this.s3.send(
        new HeadObjectCommand({
          Bucket: bucket,
          Key: key,
          ChecksumMode: "ENABLED",
          ...(options.ifMatch === undefined ? {} : { IfMatch: options.ifMatch }),
        }),
      ),
    );
    return objectInfo(key, answer);
  }

  /** Every object under `prefix`, page after page (`pageSize` keys per ListObjectsV2 call). */
  async *list(
    bucket: string,
    options: { prefix?: string; pageSize?: number } = {},
  ): AsyncGenerator<_Object, void, undefined> {
    const pages = paginateListObjectsV2(
      {
        client: this.s3,
        ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      },
      { Bucket: bucket, ...(options.prefix === undefined ? {} : { Prefix: options.prefix }) },
    );
    try {
      for await (const page of pages) yield* page.Contents ?? [];
    } catch (error) {
      throw fromAwsError(error);
    }
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.call(() => this.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
  }

  /** Delete many keys, 1000 per DeleteObjects call; the first per-key failure is thrown. */
  async deleteObjects(bucket: string, keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      const answer = await this.call(() =>
        this.s3.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = answer.Errors?.[0];
      if (failed) {
        throw fromAwsError({
          name: failed.Code,
          message: `${failed.Key ?? ""}: ${failed.Message ?? ""}`,
          $metadata: { httpStatusCode: failed.Code === "AccessDenied" ? 403 : 400 },
        });
      }
    }
  }

  /** A plain single PUT of bytes in memory (small objects; see uploadFile for files). */
  async putObject(
    bucket: string,
    key: string,
    body: PutObjectCommandInput["Body"],
    options: {
      checksum?: ChecksumAlgorithm;
      metadata?: Record<string, string>;
      contentType?: string;
    } = {},
  ): Promise<{ etag: string | undefined }> {
    const answer = await this.call(() =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ChecksumAlgorithm: options.checksum ?? DEFAULT_CHECKSUM,
          ...(options.metadata ? { Metadata: options.metadata } : {}),
          ...(options.contentType ? { ContentType: options.contentType } : {}),
        }),
      ),
    );
    return { etag: answer.ETag };
  }

  /**
   * Upload a stream of unknown length with @aws-sdk/lib-storage (parallel multipart, bounded
   * memory). Not resumable: a stream cannot be re-read; files get uploadFile in ./node.
   */
  async uploadStream(
    bucket: string,
    key: string,
    body: PutObjectCommandInput["Body"],
    options: StreamUploadOptions = {},
  ): Promise<{ etag: string | undefined }> {
    const upload = new Upload({
      client: this.s3,
      queueSize: options.concurrency ?? 4,
      partSize: options.partSize ?? 8 * 1024 * 1024,
      params: {
        Bucket: bucket,
        Key: key,
        Body: body,
        ChecksumAlgorithm: options.checksum ?? DEFAULT_CHECKSUM,
        ...(options.metadata ? { Metadata: options.metadata } : {}),
        ...(options.contentType ? { ContentType: options.contentType } : {}),
      },
    });
    if (options.onProgress) {
      const onProgress = options.onProgress;
      upload.on("httpUploadProgress", (p) => {
        onProgress({ loaded: p.loaded ?? 0, total: p.total });
      });
    }
    const answer = await this.call(() => upload.done());
    return { etag: answer.ETag };
  }

  /** GET an object (or a byte range of it) as a stream. */
  async getObject(
    bucket: string,
    key: string,
    options: { range?: string; ifMatch?: string; checksumMode?: boolean } = {},
  ): Promise<GetObjectCommandOutput> {
    return this.call(() =>
      this.s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(options.range === undefined ? {} : { Range: options.range }),
          ...(options.ifMatch === undefined ? {} : { IfMatch: options.ifMatch }),
          ...(options.checksumMode === false ? {} : { ChecksumMode: "ENABLED" }),
        }),
      ),
    );
  }

  /**
   * A presigned URL. SigV4 callers sign locally; token callers ask the gateway
   * (`POST /_artifacts/presign`), which signs with a key of theirs.
   */
  async presign(bucket: string, key: string, options: PresignOptions = {}): Promise<string> {
    const method = options.method ?? "GET";
    const expiresIn = options.expires ?? 3600;
    if (this.credentials === undefined) {
      const made = await this.apiJson<Schemas["PresignedUrl"]>("POST", "/_artifacts/presign", {
        body: JSON.stringify({ bucket, key, method, expires: expiresIn }),
        contentType: "application/json",
      });
      return made.url;
    }
    const command =
      method === "GET"
        ? new GetObjectCommand({ Bucket: bucket, Key: key })
        : new PutObjectCommand({ Bucket: bucket, Key: key });
    return this.call(() => getSignedUrl(this.s3, command, { expiresIn }));
  }

  // ---- supply chain -------------------------------------------------------------------------

  /** Attach a signature bundle, an SBOM or an attestation to the object's current version. */
  async attach(
    bucket: string,
    key: string,
    kind: ReferrerKind,
    document: Uint8Array | string | object,
    mediaType: string,
  ): Promise<ReferrerInfo> {
    const body =
      typeof document === "string" || document instanceof Uint8Array
        ? document
        : JSON.stringify(document);
    return this.apiJson<ReferrerInfo>(
      "POST",
      `/_artifacts/referrers/${encodeURIComponent(bucket)}`,
      {
        query: { key, kind },
        body: body as BodyInit,
        contentType: mediaType,
      },
    );
  }

  async referrers(
    bucket: string,
    key: string,
    options: { kind?: ReferrerKind; artifactType?: string } = {},
  ): Promise<ReferrerInfo[]> {
    return this.apiJson<ReferrerInfo[]>(
      "GET",
      `/_artifacts/referrers/${encodeURIComponent(bucket)}`,
      {
        query: { key, kind: options.kind, artifact_type: options.artifactType },
      },
    );
  }

  /** One referrer's document, byte for byte. */
  async fetchReferrer(bucket: string, key: string, digest: string): Promise<Uint8Array> {
    const answer = await this.api(
      "GET",
      `/_artifacts/referrers/${encodeURIComponent(bucket)}/${encodeURIComponent(digest)}`,
      { query: { key } },
    );
    return new Uint8Array(await answer.arrayBuffer());
  }

  async verify(bucket: string, key: string, options: { fresh?: boolean } = {}): Promise<Verdict> {
    return this.apiJson<Verdict>("GET", `/_artifacts/verify/${encodeURIComponent(bucket)}`, {
      query: { key, ...(options.fresh ? { fresh: "true" } : {}) },
    });
  }

  /** The bucket's trust document; an empty one when it has none. */
  async getTrust(bucket: string): Promise<Trust> {
    try {
      return await this.apiJson<Trust>("GET", `/_artifacts/trust/${encodeURIComponent(bucket)}`);
    } catch (error) {
      if (error instanceof ArtifactStoreError && error.family === "NotFound")
        return { keys: [], receipts: false, require_signature: false };
      throw error;
    }
  }

  async putTrust(bucket: string, trust: Trust): Promise<Trust> {
    return this.apiJson<Trust>("PUT", `/_artifacts/trust/${encodeURIComponent(bucket)}`, {
      body: JSON.stringify(trust),
      contentType: "application/json",
    });
  }

  /** Add (or replace, by name) one trusted public key, keeping the rest of the trust. */
  async trustKey(
    bucket: string,
    name: string,
    publicKeyPem: string,
    options: { requireSignature?: boolean } = {},
  ): Promise<Trust> {
    const trust = await this.getTrust(bucket);
    const keys = (trust.keys ?? []).filter((k) => k.name !== name);
    keys.push({ name, public_key: publicKeyPem });
    return this.putTrust(bucket, {
      ...trust,
      keys,
      ...(options.requireSignature === undefined
        ? {}
        : { require_signature: options.requireSignature }),
    });
  }
}

function objectInfo(key: string, answer: HeadObjectCommandOutput): ObjectInfo {
  const checksums: Record<string, string> = {};
  const fields = {
    CRC32: answer.ChecksumCRC32,
    CRC32C: answer.ChecksumCRC32C,
    CRC64NVME: answer.ChecksumCRC64NVME,
    SHA1: answer.ChecksumSHA1,
    SHA256: answer.ChecksumSHA256,
  };
  for (const [name, value] of Object.entries(fields)) if (value) checksums[name] = value;
  const headers = (answer as { $headers?: Record<string, string> }).$headers ?? {};
  const count = (name: string) => Number(headers[`x-artifact-store-${name}`] ?? "0");
  return {
    key,
    size: answer.ContentLength ?? 0,
    etag: answer.ETag,
    lastModified: answer.LastModified,
    metadata: answer.Metadata ?? {},
    contentType: answer.ContentType,
    checksums,
    checksumType: answer.ChecksumType,
    signatures: count("signatures"),
    sboms: count("sboms"),
    attestations: count("attestations"),
  };
}
