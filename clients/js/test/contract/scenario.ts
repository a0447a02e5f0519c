/**
 * The contract runner: loads a scenario (validated against clients/contract/schema.json) and
 * maps each step to one SDK call. The step that must be killed runs in a child process
 * (child.ts) that is SIGKILLed once it reports N parts or N bytes stored.
 */
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { Ajv } from "ajv";
import { Ajv2019 } from "ajv/dist/2019.js";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import {
  ArtifactStore,
  ArtifactStoreError,
  downloadFile,
  generateSigningKey,
  parseSize,
  passwordLogin,
  signObject,
  uploadFile,
  verifyLocal,
  type KeyType,
  type SigningKey,
  type StoreOptions,
} from "../../src/node.js";
import { bytes, dataFile, sha256 } from "./data.js";

export interface Auth {
  kind: "keys" | "token" | "sts" | "password";
  user?: string;
  client?: "default" | "short";
}

export interface Step {
  do: string;
  expect?: Record<string, unknown>;
  expect_error?: string;
  [argument: string]: unknown;
}

export interface Scenario {
  name: string;
  summary: string;
  auth: Auth;
  steps: Step[];
}

export interface DataSpec {
  size: number | string;
  seed: number;
}

export type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

let validator: (((data: unknown) => boolean) & { errors?: unknown }) | undefined;

export async function loadScenario(path: string, schemaPath: string): Promise<Scenario> {
  if (!validator) {
    const schema = JSON.parse(await readFile(schemaPath, "utf8")) as { $schema?: string };
    // The draft the schema declares: 2020-12 (ours), 2019-09, else draft-07.
    const draft = schema.$schema ?? "2020-12";
    const Validator = draft.includes("2020-12")
      ? Ajv2020
      : draft.includes("2019-09")
        ? Ajv2019
        : Ajv;
    validator = new Validator({ allErrors: true, strict: false }).compile(schema);
  }
  const scenario: unknown = parse(await readFile(path, "utf8"));
  if (!validator(scenario)) {
    throw new Error(`${path} does not follow schema.json: ${JSON.stringify(validator.errors)}`);
  }
  return scenario as Scenario;
}

/** Store options for a scenario's auth (a fresh login each time: children log in too). */
export async function storeOptions(auth: Auth, env: Env): Promise<StoreOptions> {
  const endpoint = required(env, "ARTIFACT_STORE_ENDPOINT");
  if (auth.kind === "keys") {
    return {
      endpoint,
      credentials: {
        accessKeyId: required(env, "ARTIFACT_STORE_ACCESS_KEY_ID"),
        secretAccessKey: required(env, "ARTIFACT_STORE_SECRET_ACCESS_KEY"),
      },
    };
  }
  const user = auth.user ?? "carol";
  const users = JSON.parse(required(env, "CONTRACT_USERS")) as Record<string, string>;
  const password = users[user];
  if (password === undefined) throw new Error(`CONTRACT_USERS has no ${user}`);
  const session = await passwordLogin({
    issuer: required(env, "ARTIFACT_STORE_OIDC_ISSUER"),
    clientId:
      auth.client === "short"
        ? required(env, "CONTRACT_SHORT_CLIENT")
        : required(env, "ARTIFACT_STORE_OIDC_CLIENT"),
    username: user,
    password,
  });
  if (auth.kind === "token") return { endpoint, token: await session.token() };
  if (auth.kind === "sts") return { endpoint, tokenProvider: session.token, useSts: true };
  return { endpoint, tokenProvider: session.token };
}

export function rootStore(env: Env): ArtifactStore {
  return new ArtifactStore({
    endpoint: required(env, "ARTIFACT_STORE_ENDPOINT"),
    credentials: {
      accessKeyId: required(env, "ARTIFACT_STORE_ACCESS_KEY_ID"),
      secretAccessKey: required(env, "ARTIFACT_STORE_SECRET_ACCESS_KEY"),
    },
  });
}

/** Replace `$bucket` in every string of a step (policies name it inside ARNs). */
export function substitute<T>(value: T, bucket: string): T {
  if (typeof value === "string") return value.replaceAll("$bucket", bucket) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => substitute(item, bucket)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, bucket)]),
    ) as T;
  }
  return value;
}

const size = (value: unknown): number | undefined =>
  value === undefined ? undefined : parseSize(value as number | string);

/** Everything a step may need: the store, the work dir, the keys generated so far. */
export class Context {
  readonly keys = new Map<string, SigningKey>();
  constructor(
    public store: ArtifactStore,
    readonly workdir: string,
    readonly env: Env,
    public auth: Auth,
  ) {}

  /** Generated data files, shared by the scenarios of a run (made once each). */
  get dataDir(): string {
    return join(dirname(this.workdir), "data");
  }

  get stateDir(): string {
    return join(this.workdir, "state");
  }

  downloadPath(bucket: string, key: string): string {
    const name = createHash("sha256").update(`${bucket}/${key}`).digest("hex").slice(0, 16);
    return join(this.workdir, "downloads", name);
  }
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function expectEqual(actual: unknown, expected: unknown, what: string): void {
  check(
    isDeepStrictEqual(actual, expected),
    `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`,
  );
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function checkData(actualSha: string, actualSize: number, spec: DataSpec, what: string): void {
  const expectedSize = parseSize(spec.size);
  expectEqual(actualSize, expectedSize, `${what} size`);
  check(actualSha === sha256(expectedSize, spec.seed), `${what}: bytes differ from the data`);
}

/** Run one step in this process; the result is what `expect` is checked against. */
export async function runStep(
  ctx: Context,
  step: Step,
  hooks: {
    onUploadPart?: (parts: number) => Promise<void>;
    onDownloadBytes?: (n: number) => Promise<void>;
  } = {},
): Promise<Record<string, unknown>> {
  const s = ctx.store;
  const bucket = step.bucket as string;
  const key = step.key as string;
  switch (step.do) {
    case "create_bucket":
      await s.createBucket(bucket);
      return {};
    case "delete_bucket":
      await s.deleteBucket(bucket, { recursive: step.recursive === true });
      return {};
    case "put_bucket_policy":
      await s.putBucketPolicy(bucket, step.policy as object);
      return {};
    case "get_bucket_policy":
      return { policy: await s.getBucketPolicy(bucket) };
    case "upload": {
      const spec = step.data as DataSpec;
      const file = await dataFile(ctx.dataDir, parseSize(spec.size), spec.seed);
      const onPart = hooks.onUploadPart;
      const result = await uploadFile(s, bucket, key, file, {
        stateDir: ctx.stateDir,
        ...(step.part_size === undefined ? {} : { partSize: size(step.part_size) }),
        ...(step.threshold === undefined ? {} : { threshold: size(step.threshold) }),
        ...(step.concurrency === undefined ? {} : { concurrency: step.concurrency as number }),
        ...(step.checksum === undefined ? {} : { checksum: step.checksum as "CRC64NVME" }),
        ...(step.metadata === undefined
          ? {}
          : { metadata: step.metadata as Record<string, string> }),
        ...(onPart ? { onProgress: (p) => onPart(p.partsDone - 0) } : {}),
      });
      return { parts: result.parts, resumed_parts: result.resumedParts, etag: result.etag };
    }
    case "download": {
      const path = ctx.downloadPath(bucket, key);
      await mkdir(dirname(path), { recursive: true });
      const onBytes = hooks.onDownloadBytes;
      const result = await downloadFile(s, bucket, key, path, {
        ...(step.part_size === undefined ? {} : { partSize: size(step.part_size) }),
        ...(step.concurrency === undefined ? {} : { concurrency: step.concurrency as number }),
        ...(step.require_signature === true ? { requireSignature: true } : {}),
        ...(onBytes ? { onProgress: (p) => onBytes(p.bytes) } : {}),
      });
      return {
        path,
        bytes: result.bytes,
        resumed_from: result.resumedFrom,
        sha256: await fileSha256(path),
      };
    }
    case "head": {
      const info = await s.head(bucket, key);
      return { size: info.size, etag: info.etag, metadata: info.metadata };
    }
    case "list": {
      const keys: string[] = [];
      for await (const item of s.list(bucket, {
        ...(step.prefix === undefined ? {} : { prefix: step.prefix as string }),
        ...(step.page_size === undefined ? {} : { pageSize: step.page_size as number }),
      })) {
        keys.push(item.Key ?? "");
      }
      return { keys };
    }
    case "delete":
      await s.deleteObjects(bucket, step.keys as string[]);
      return {};
    case "presign": {
      const method = (step.method as "GET" | "PUT" | undefined) ?? "GET";
      const url = await s.presign(bucket, key, {
        method,
        ...(step.expires === undefined ? {} : { expires: step.expires as number }),
      });
      const spec = step.data as DataSpec | undefined;
      const answer = await fetch(url, {
        method,
        ...(method === "PUT" && spec
          ? { body: new Uint8Array(bytes(parseSize(spec.size), spec.seed)) }
          : {}),
      });
      const body = Buffer.from(await answer.arrayBuffer());
      return {
        status: answer.status,
        body_sha256: createHash("sha256").update(body).digest("hex"),
        body_size: body.length,
      };
    }
    case "put_raw": {
      const spec = step.data as DataSpec;
      await s.putObject(bucket, key, bytes(parseSize(spec.size), spec.seed));
      return {};
    }
    case "sign": {
      const name = step.as as string;
      const signingKey = ctx.keys.get(name) ?? generateSigningKey(step.key_type as KeyType);
      ctx.keys.set(name, signingKey);
      const attached = await signObject(s, bucket, key, signingKey);
      return { digest: attached.digest };
    }
    case "trust": {
      const name = step.key_ref as string;
      const signingKey = ctx.keys.get(name);
      if (!signingKey) throw new Error(`no key generated as ${name}`);
      await s.trustKey(
        bucket,
        name,
        signingKey.publicKeyPem,
        step.require_signature === undefined
          ? {}
          : { requireSignature: step.require_signature as boolean },
      );
      return {};
    }
    case "attach": {
      const spec = step.data as DataSpec | undefined;
      const document = spec ? bytes(parseSize(spec.size), spec.seed) : (step.document as object);
      const info = await s.attach(
        bucket,
        key,
        step.kind as "sbom",
        document,
        step.media_type as string,
      );
      return { digest: info.digest };
    }
    case "referrers": {
      const found = await s.referrers(bucket, key, {
        ...(step.kind === undefined ? {} : { kind: step.kind as "sbom" }),
      });
      return { count: found.length, kinds: found.map((r) => r.kind).sort() };
    }
    case "verify":
      return await s.verify(bucket, key);
    case "verify_local": {
      const signingKey = ctx.keys.get(step.key_ref as string);
      if (!signingKey) throw new Error(`no key generated as ${String(step.key_ref)}`);
      const result = await verifyLocal(s, bucket, key, signingKey.publicKeyPem);
      return { valid: result.valid };
    }
    case "wait":
      await new Promise((resolve) => setTimeout(resolve, (step.seconds as number) * 1000));
      return {};
    default:
      throw new Error(`unknown op ${step.do}`);
  }
}

/** Compare a step's result with its `expect` block. */
export function checkExpect(step: Step, result: Record<string, unknown>): void {
  const expect = step.expect ?? {};
  for (const [name, expected] of Object.entries(expect)) {
    const what = `${step.do} ${name}`;
    switch (name) {
      case "data":
        if (step.do === "download") {
          checkData(result.sha256 as string, result.bytes as number, expected as DataSpec, what);
        } else {
          checkData(
            result.body_sha256 as string,
            result.body_size as number,
            expected as DataSpec,
            what,
          );
        }
        break;
      case "etag_present":
        expectEqual(typeof result.etag === "string" && result.etag !== "", expected, what);
        break;
      case "resumed_parts_min":
        check(
          (result.resumed_parts as number) >= (expected as number),
          `${what}: ${String(result.resumed_parts)}`,
        );
        break;
      case "resumed_from_min":
        check(
          (result.resumed_from as number) >= parseSize(expected as number | string),
          `${what}: resumed from ${String(result.resumed_from)}`,
        );
        break;
      case "size":
        expectEqual(result.size, parseSize(expected as number | string), what);
        break;
      case "kinds":
        expectEqual(result.kinds, [...(expected as string[])].sort(), what);
        break;
      case "metadata": {
        const actual = result.metadata as Record<string, string>;
        for (const [k, v] of Object.entries(expected as Record<string, string>)) {
          expectEqual(actual[k], v, `${what}.${k}`);
        }
        break;
      }
      default:
        expectEqual(result[name], expected, what);
    }
  }
}

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "child.ts");

/** Run a step in a child process and SIGKILL it once it reports the kill point reached. */
export async function runKilled(ctx: Context, step: Step): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, ...ctx.env },
  });
  const outcome = new Promise<string>((resolve) => {
    child.on("message", (message: { reached?: boolean; error?: string }) => {
      if (message.reached) {
        child.kill("SIGKILL");
        resolve("killed");
      } else if (message.error !== undefined) {
        resolve(`child failed: ${message.error}`);
      }
    });
    child.on("exit", (code, signal) => {
      resolve(
        signal === "SIGKILL" ? "killed" : `child exited (${String(code)}) before the kill point`,
      );
    });
  });
  child.send({ auth: ctx.auth, workdir: ctx.workdir, step });
  const result = await outcome;
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => child.on("exit", resolve));
  }
  if (result !== "killed") throw new Error(result);
}

/** Run a whole scenario against a fresh bucket, deleting it afterwards, pass or fail. */
export async function runScenario(scenario: Scenario, env: Env): Promise<void> {
  const bucket = `c-${randomBytes(5).toString("hex")}`;
  const workdir = join(required(env, "CONTRACT_WORKDIR"), "js", `${scenario.name}-${bucket}`);
  await mkdir(workdir, { recursive: true });
  const ctx = new Context(
    new ArtifactStore(await storeOptions(scenario.auth, env)),
    workdir,
    env,
    scenario.auth,
  );
  // A step may name its own caller (root sets up what a reader is then refused).
  const stores = new Map<string, ArtifactStore>([[JSON.stringify(scenario.auth), ctx.store]]);
  try {
    for (const [index, raw] of scenario.steps.entries()) {
      const step = substitute(raw, bucket);
      const where = `step ${index + 1} (${step.do})`;
      const auth = (step.auth as Auth | undefined) ?? scenario.auth;
      const id = JSON.stringify(auth);
      if (!stores.has(id)) stores.set(id, new ArtifactStore(await storeOptions(auth, env)));
      ctx.store = stores.get(id) as ArtifactStore;
      ctx.auth = auth;
      if (step.kill_after_parts !== undefined || step.kill_after_bytes !== undefined) {
        await runKilled(ctx, step);
        continue;
      }
      let result: Record<string, unknown>;
      try {
        result = await runStep(ctx, step);
      } catch (error) {
        if (step.expect_error === undefined) {
          throw new Error(`${where} failed: ${describe(error)}`, { cause: error });
        }
        check(
          error instanceof ArtifactStoreError && error.family === step.expect_error,
          `${where}: expected ${step.expect_error}, got ${describe(error)}`,
        );
        continue;
      }
      check(
        step.expect_error === undefined,
        `${where}: expected ${String(step.expect_error)}, it succeeded`,
      );
      try {
        checkExpect(step, result);
      } catch (error) {
        throw new Error(`${where}: ${describe(error)}`, { cause: error });
      }
    }
  } finally {
    await rootStore(env)
      .deleteBucket(bucket, { recursive: true })
      .catch((error: unknown) => {
        if (!(error instanceof ArtifactStoreError && error.family === "NotFound")) throw error;
      });
  }
}

function describe(error: unknown): string {
  if (error instanceof ArtifactStoreError) {
    return `${error.name}(${error.family}/${error.code} ${String(error.status)}): ${error.message}`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
