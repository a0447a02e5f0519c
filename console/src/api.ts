// The console is a client of the gateway's own APIs, with the user's Bearer token: S3 REST
// for buckets and objects (XML), the JSON API under /_artifacts for everything else (errors
// as RFC 7807 problems). Errors become ApiError with the problem's title and detail (or the
// S3 error's code and message): never a stack trace.
import type { Auth } from "./auth";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export interface Bucket {
  name: string;
  created: string;
}

export interface ObjectEntry {
  key: string;
  size: number;
  modified: string;
  etag: string;
}

export interface Listing {
  prefixes: string[];
  objects: ObjectEntry[];
  next: string | null;
  truncated: boolean;
}

export interface ObjectHead {
  size: number;
  contentType: string;
  etag: string;
  modified: string;
  checksums: Record<string, string>;
  metadata: Record<string, string>;
}

export interface Signer {
  kind: string;
  name?: string | null;
  issuer?: string | null;
  subject?: string | null;
}

export interface SignatureInfo {
  digest: string;
  artifact_type: string;
  verified: boolean;
  trusted: boolean;
  covers?: string | null;
  over?: string | null;
  signer?: Signer | null;
  reason?: string | null;
  predicate_type?: string | null;
}

export interface Verdict {
  bucket: string;
  key: string;
  manifest_digest: string;
  sha256: string | null;
  require_signature: boolean;
  signed: boolean;
  sbom_valid: boolean;
  reason: string | null;
  signatures: SignatureInfo[];
  sboms: {
    digest: string;
    artifact_type: string;
    valid: boolean;
    reason?: string | null;
  }[];
  attestations: SignatureInfo[];
  checked: string;
}

export interface Referrer {
  digest: string;
  kind: "signature" | "sbom" | "attestation";
  artifact_type: string;
  media_type: string;
  size: number;
  created: string;
  predicate_type?: string | null;
}

export interface Deletion {
  state: string;
  step: string;
  finished?: string | null;
  problem?: { status: number; title: string; detail: string } | null;
}

export interface AuditLine {
  time: string;
  request_id: string;
  principal: string;
  operation: string;
  action: string;
  resource: string;
  decision: "allow" | "deny";
  rule: string;
  status: number;
}

export interface AccessKey {
  access_key_id: string;
  secret_access_key?: string | null;
  description?: string | null;
  created?: string;
  [field: string]: unknown;
}

/** Action name (``s3:PutObject``...) to whether the caller may do it; see Api.permissions. */
export type Permissions = Record<string, boolean>;

const enc = encodeURIComponent;
export const keyPath = (key: string): string => key.split("/").map(enc).join("/");

export class Api {
  constructor(private readonly auth: Auth) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await this.auth.token()}`);
    const response = await fetch(path, { ...init, headers });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    return (await (await this.request(path, init)).json()) as T;
  }

  // --- S3 ---------------------------------------------------------------------------------

  async listBuckets(): Promise<Bucket[]> {
    const doc = await xml(await this.request("/"));
    return [...doc.getElementsByTagName("Bucket")].map((node) => ({
      name: text(node, "Name"),
      created: text(node, "CreationDate"),
    }));
  }

  async createBucket(name: string): Promise<void> {
    await this.request(`/${enc(name)}`, { method: "PUT" });
  }

  /** Empty buckets by S3; with everything in them by the JSON API's recursive deletion. */
  async deleteBucket(
    name: string,
    recursive: boolean,
    progress?: (status: Deletion) => void,
  ): Promise<void> {
    const query = recursive ? "?recursive=true" : "";
    const url = `/_artifacts/buckets/${enc(name)}`;
    const answer = await this.request(`${url}${query}`, { method: "DELETE" });
    if (answer.status !== 202) return;
    // still running on the gateway: follow the job until it is done (or failed)
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const status = await this.json<Deletion>(`${url}/deletion`);
      progress?.(status);
      if (status.state === "failed") {
        const problem = status.problem;
        throw new ApiError(
          problem?.status ?? 500,
          problem?.title ?? "Failed",
          problem?.detail ?? "",
        );
      }
      if (status.step === "done" || status.finished) return;
    }
  }

  async listObjects(
    bucket: string,
    prefix: string,
    token: string | null,
    max = 100,
  ): Promise<Listing> {
    const query = new URLSearchParams({
      "list-type": "2",
      delimiter: "/",
      prefix,
      "max-keys": String(max),
    });
    if (token) query.set("continuation-token", token);
    const doc = await xml(await this.request(`/${enc(bucket)}?${query.toString()}`));
    const objects = [...doc.getElementsByTagName("Contents")].map((node) => ({
      key: text(node, "Key"),
      size: Number(text(node, "Size")),
      modified: text(node, "LastModified"),
      etag: text(node, "ETag"),
    }));
    const prefixes = [...doc.getElementsByTagName("CommonPrefixes")].map((node) =>
      text(node, "Prefix"),
    );
    const truncated = text(doc.documentElement, "IsTruncated") === "true";
    return {
      objects,
      prefixes,
      truncated,
      next: truncated ? text(doc.documentElement, "NextContinuationToken") : null,
    };
  }

  async headObject(bucket: string, key: string): Promise<ObjectHead> {
    const response = await this.request(`/${enc(bucket)}/${keyPath(key)}`, {
      method: "HEAD",
      headers: { "x-amz-checksum-mode": "ENABLED" },
    });
    const checksums: Record<string, string> = {};
    const metadata: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (name.startsWith("x-amz-checksum-") && name !== "x-amz-checksum-type")
        checksums[name.slice(15)] = value;
      if (name.startsWith("x-amz-meta-")) metadata[name.slice(11)] = value;
    });
    return {
      size: Number(response.headers.get("content-length") ?? 0),
      contentType: response.headers.get("content-type") ?? "",
      etag: response.headers.get("etag") ?? "",
      modified: response.headers.get("last-modified") ?? "",
      checksums,
      metadata,
    };
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    await this.request(`/${enc(bucket)}/${keyPath(key)}`, { method: "DELETE" });
  }

  async getPolicy(bucket: string): Promise<string | null> {
    try {
      return await (await this.request(`/${enc(bucket)}?policy`)).text();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  async putPolicy(bucket: string, policy: string): Promise<void> {
    await this.request(`/${enc(bucket)}?policy`, {
      method: "PUT",
      body: policy,
    });
  }

  async deletePolicy(bucket: string): Promise<void> {
    await this.request(`/${enc(bucket)}?policy`, { method: "DELETE" });
  }

  /** Public when its policy grants anonymous access (no policy: private). */
  async isPublic(bucket: string): Promise<boolean> {
    try {
      const doc = await xml(await this.request(`/${enc(bucket)}?policyStatus`));
      return text(doc.documentElement, "IsPublic") === "true";
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && error.title === "NoSuchBucketPolicy")
        return false;
      throw error;
    }
  }

  // --- JSON API ---------------------------------------------------------------------------

  async presign(bucket: string, key: string, expires = 3600): Promise<string> {
    const body = JSON.stringify({ method: "GET", bucket, key, expires });
    const answer = await this.json<{ url: string }>("/_artifacts/presign", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
    return answer.url;
  }

  verdict(bucket: string, key: string): Promise<Verdict> {
    return this.json(`/_artifacts/verify/${enc(bucket)}?key=${enc(key)}&fresh=true`);
  }

  referrers(bucket: string, key: string): Promise<Referrer[]> {
    return this.json(`/_artifacts/referrers/${enc(bucket)}?key=${enc(key)}`);
  }

  async referrerDocument(bucket: string, key: string, digest: string): Promise<unknown> {
    return (
      await this.request(`/_artifacts/referrers/${enc(bucket)}/${digest}?key=${enc(key)}`)
    ).json();
  }

  attach(
    bucket: string,
    key: string,
    kind: string,
    file: Blob,
    mediaType: string,
  ): Promise<Referrer> {
    return this.json(`/_artifacts/referrers/${enc(bucket)}?key=${enc(key)}&kind=${kind}`, {
      method: "POST",
      headers: { "Content-Type": mediaType },
      body: file,
    });
  }

  /** What the caller may do in the bucket, as the gateway decides it (roles, groups and the
   * bucket policy): object actions under ``prefix`` or on ``key``. */
  permissions(bucket: string, where: { prefix?: string; key?: string } = {}): Promise<Permissions> {
    const query = new URLSearchParams();
    if (where.prefix) query.set("prefix", where.prefix);
    if (where.key) query.set("key", where.key);
    return this.json<{ actions: Permissions }>(
      `/_artifacts/permissions/${enc(bucket)}?${query.toString()}`,
    ).then((answer) => answer.actions);
  }

  trust(bucket: string): Promise<Record<string, unknown>> {
    return this.json(`/_artifacts/trust/${enc(bucket)}`);
  }

  async putTrust(bucket: string, trust: unknown): Promise<void> {
    await this.request(`/_artifacts/trust/${enc(bucket)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(trust),
    });
  }

  audit(filters: { principal: string; action: string; decision: string }): Promise<AuditLine[]> {
    const query = new URLSearchParams({ limit: "50" });
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    return this.json<{ records: AuditLine[] }>(`/_artifacts/audit?${query.toString()}`).then(
      (page) => page.records,
    );
  }

  keys(): Promise<AccessKey[]> {
    return this.json("/_artifacts/keys");
  }

  createKey(description: string): Promise<AccessKey> {
    return this.json("/_artifacts/keys", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ description }),
    });
  }

  async revokeKey(id: string): Promise<void> {
    await this.request(`/_artifacts/keys/${enc(id)}`, { method: "DELETE" });
  }
}

async function xml(response: Response): Promise<Document> {
  return new DOMParser().parseFromString(await response.text(), "application/xml");
}

function text(node: Element | Document, tag: string): string {
  for (const child of node.childNodes) {
    if (child instanceof Element && child.localName === tag) return child.textContent;
  }
  return "";
}

/** A problem document's title and detail, or an S3 error's code and message. */
export async function errorOf(response: Response): Promise<ApiError> {
  const type = response.headers.get("content-type") ?? "";
  const body = await response.text().catch(() => "");
  if (type.includes("json")) {
    try {
      const problem = JSON.parse(body) as { title?: string; detail?: string };
      return new ApiError(
        response.status,
        problem.title ?? response.statusText,
        problem.detail ?? "",
      );
    } catch {
      /* not JSON after all */
    }
  }
  if (type.includes("xml") && body) {
    const doc = new DOMParser().parseFromString(body, "application/xml");
    return new ApiError(
      response.status,
      text(doc.documentElement, "Code"),
      text(doc.documentElement, "Message"),
    );
  }
  return new ApiError(response.status, response.statusText || `HTTP ${response.status}`, "");
}
