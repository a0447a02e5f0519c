/**
 * Key-based signatures as the gateway stores and checks them (docs/supply-chain.md): a
 * sigstore bundle v0.3 with a public-key hint and no transparency log. ECDSA P-256 signs the
 * object's bytes as a `messageSignature` (what `cosign sign-blob --bundle` writes; the gateway
 * checks it pre-hashed). Ed25519 cannot sign a pre-hash, so it signs a DSSE envelope of an
 * in-toto statement naming the object's SHA-256 (covers: object).
 */
import {
  createHash,
  createPublicKey,
  createPrivateKey,
  createSign,
  createVerify,
  generateKeyPairSync,
  sign as signMessage,
  verify as verifyMessage,
  type KeyObject,
  type Sign,
  type Verify,
} from "node:crypto";
import type { Readable } from "node:stream";
import type { ArtifactStore, ReferrerInfo } from "../client.js";

export type KeyType = "ecdsa-p256" | "ed25519";

export const BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const IN_TOTO_PAYLOAD = "application/vnd.in-toto+json";
export const SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

export interface SigningKey {
  type: KeyType;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
}

function keyType(key: KeyObject): KeyType {
  if (key.asymmetricKeyType === "ed25519") return "ed25519";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return "ecdsa-p256";
  }
  throw new TypeError(`unsupported key: ${key.asymmetricKeyType ?? "?"}`);
}

export function generateSigningKey(type: KeyType): SigningKey {
  const { privateKey, publicKey } =
    type === "ed25519"
      ? generateKeyPairSync("ed25519")
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { type, privateKey, publicKey, publicKeyPem: pem(publicKey) };
}

/** A PKCS#8 (or SEC1) PEM private key. */
export function loadSigningKey(privateKeyPem: string): SigningKey {
  const privateKey = createPrivateKey(privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  return { type: keyType(privateKey), privateKey, publicKey, publicKeyPem: pem(publicKey) };
}

function pem(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

/** cosign's hint: base64 of the SHA-256 of the DER SubjectPublicKeyInfo. */
export function keyHint(publicKey: KeyObject): string {
  return createHash("sha256")
    .update(publicKey.export({ type: "spki", format: "der" }))
    .digest("base64");
}

/** DSSE's pre-authentication encoding: what envelope signatures sign. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

export function statementFor(sha256Hex: string, name?: string): object {
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ ...(name === undefined ? {} : { name }), digest: { sha256: sha256Hex } }],
    predicateType: SIGN_PREDICATE,
    predicate: {},
  };
}

/** A DSSE envelope over the statement, signed with any supported key. */
export function dsseEnvelope(key: SigningKey, statement: object): object {
  const payload = Buffer.from(JSON.stringify(statement));
  const signature = signMessage(
    key.type === "ed25519" ? null : "sha256",
    pae(IN_TOTO_PAYLOAD, payload),
    key.privateKey,
  );
  return {
    payloadType: IN_TOTO_PAYLOAD,
    payload: payload.toString("base64"),
    signatures: [{ keyid: "", sig: signature.toString("base64") }],
  };
}

function bundle(key: SigningKey, content: object): object {
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: keyHint(key.publicKey) }, tlogEntries: [] },
    ...content,
  };
}

/**
 * Sign a stream of bytes: one pass, whatever its size. Returns the bundle and the bytes'
 * SHA-256 (hex).
 */
export async function signStream(
  key: SigningKey,
  body: AsyncIterable<Uint8Array>,
  name?: string,
): Promise<{ bundle: object; sha256: string }> {
  const hash = createHash("sha256");
  const signer: Sign | undefined = key.type === "ecdsa-p256" ? createSign("sha256") : undefined;
  for await (const chunk of body) {
    hash.update(chunk);
    signer?.update(chunk);
  }
  const digest = hash.digest();
  const sha256 = digest.toString("hex");
  if (signer) {
    const signature = signer.sign(key.privateKey).toString("base64");
    return {
      sha256,
      bundle: bundle(key, {
        messageSignature: {
          messageDigest: { algorithm: "SHA2_256", digest: digest.toString("base64") },
          signature,
        },
      }),
    };
  }
  return {
    sha256,
    bundle: bundle(key, { dsseEnvelope: dsseEnvelope(key, statementFor(sha256, name)) }),
  };
}

/** Sign the object as stored (its bytes are streamed, not held) and attach the signature. */
export async function signObject(
  store: ArtifactStore,
  bucket: string,
  key: string,
  signingKey: SigningKey,
): Promise<ReferrerInfo & { sha256: string }> {
  const object = await store.getObject(bucket, key, { checksumMode: false });
  const { bundle: document, sha256 } = await signStream(signingKey, object.Body as Readable, key);
  const attached = await store.attach(bucket, key, "signature", document, BUNDLE_MEDIA_TYPE);
  return { ...attached, sha256 };
}

export interface LocalVerification {
  /** A signature by `publicKey` over the object's current bytes exists. */
  valid: boolean;
  /** Of the object as read here; "" when it has no signature (then it is not read). */
  sha256: string;
  /** One line per signature looked at. */
  checks: { digest: string; valid: boolean; reason: string | undefined }[];
}

interface ParsedBundle {
  digest: string;
  messageSignature?: { signature: Buffer; claimed: string | undefined };
  envelope?: { payload: Buffer; signatures: Buffer[] };
  error?: string;
}

function parseBundle(digest: string, bytes: Uint8Array): ParsedBundle {
  try {
    const document = JSON.parse(Buffer.from(bytes).toString("utf8")) as {
      messageSignature?: { signature?: string; messageDigest?: { digest?: string } };
      dsseEnvelope?: { payload?: string; payloadType?: string; signatures?: { sig?: string }[] };
    };
    if (document.messageSignature?.signature !== undefined) {
      const claimed = document.messageSignature.messageDigest?.digest;
      return {
        digest,
        messageSignature: {
          signature: Buffer.from(document.messageSignature.signature, "base64"),
          claimed:
            claimed === undefined ? undefined : Buffer.from(claimed, "base64").toString("hex"),
        },
      };
    }
    const envelope = document.dsseEnvelope;
    if (envelope?.payload !== undefined && envelope.payloadType === IN_TOTO_PAYLOAD) {
      return {
        digest,
        envelope: {
          payload: Buffer.from(envelope.payload, "base64"),
          signatures: (envelope.signatures ?? []).map((s) => Buffer.from(s.sig ?? "", "base64")),
        },
      };
    }
    return { digest, error: "neither a message signature nor an in-toto envelope" };
  } catch (error) {
    return { digest, error: `malformed bundle: ${String(error)}` };
  }
}

/**
 * Check the object's key-based signatures offline against `publicKeyPem`: fetch the bundles,
 * stream the object once (hashing it and feeding each ECDSA verifier), then check each.
 */
export async function verifyLocal(
  store: ArtifactStore,
  bucket: string,
  key: string,
  publicKeyPem: string,
): Promise<LocalVerification> {
  const publicKey = createPublicKey(publicKeyPem);
  const type = keyType(publicKey);
  const signatures = await store.referrers(bucket, key, { kind: "signature" });
  // Nothing to check, so nothing is read: a require-signature bucket would refuse the GET of
  // an unsigned object anyway.
  if (signatures.length === 0) return { valid: false, sha256: "", checks: [] };
  const bundles = await Promise.all(
    signatures.map(async (s) =>
      parseBundle(s.digest, await store.fetchReferrer(bucket, key, s.digest)),
    ),
  );
  const verifiers = new Map<ParsedBundle, Verify>();
  for (const parsed of bundles) {
    if (parsed.messageSignature && type === "ecdsa-p256")
      verifiers.set(parsed, createVerify("sha256"));
  }
  const hash = createHash("sha256");
  const object = await store.getObject(bucket, key, { checksumMode: false });
  for await (const chunk of object.Body as Readable) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    for (const verifier of verifiers.values()) verifier.update(bytes);
  }
  const sha256 = hash.digest("hex");
  const checks = bundles.map((parsed) => {
    const result = (valid: boolean, reason?: string) => ({ digest: parsed.digest, valid, reason });
    if (parsed.error !== undefined) return result(false, parsed.error);
    if (parsed.messageSignature) {
      const verifier = verifiers.get(parsed);
      if (!verifier) return result(false, "an Ed25519 key cannot check a pre-hashed signature");
      if (
        parsed.messageSignature.claimed !== undefined &&
        parsed.messageSignature.claimed !== sha256
      ) {
        return result(false, `signs sha256:${parsed.messageSignature.claimed}, not this object`);
      }
      return verifier.verify(publicKey, parsed.messageSignature.signature)
        ? result(true)
        : result(false, "the key does not verify the signature");
    }
    const envelope = parsed.envelope;
    if (!envelope) return result(false, "empty bundle");
    const statement = JSON.parse(envelope.payload.toString("utf8")) as {
      subject?: { digest?: { sha256?: string } }[];
    };
    const names = (statement.subject ?? []).map((s) => s.digest?.sha256?.toLowerCase());
    if (!names.includes(sha256)) return result(false, "the statement does not name this object");
    const message = pae(IN_TOTO_PAYLOAD, envelope.payload);
    const ok = envelope.signatures.some((signature) =>
      verifyMessage(type === "ed25519" ? null : "sha256", message, publicKey, signature),
    );
    return ok ? result(true) : result(false, "the key does not verify the envelope");
  });
  return { valid: checks.some((c) => c.valid), sha256, checks };
}
