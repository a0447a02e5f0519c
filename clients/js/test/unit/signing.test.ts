import assert from "node:assert/strict";
import { createHash, createVerify, verify } from "node:crypto";
import { test } from "node:test";
import { Readable } from "node:stream";
import {
  IN_TOTO_PAYLOAD,
  generateSigningKey,
  keyHint,
  pae,
  signStream,
} from "../../src/node/signing.js";

const data = Buffer.from("hello artifact store");

test("PAE is DSSE's pre-authentication encoding", () => {
  assert.equal(pae("t", Buffer.from("ab")).toString(), "DSSEv1 1 t 2 ab");
});

test("ECDSA P-256 bundles sign the bytes as a message signature", async () => {
  const key = generateSigningKey("ecdsa-p256");
  const { bundle, sha256 } = await signStream(
    key,
    Readable.from([data.subarray(0, 5), data.subarray(5)]),
  );
  assert.equal(sha256, createHash("sha256").update(data).digest("hex"));
  const b = bundle as {
    mediaType: string;
    verificationMaterial: { publicKey: { hint: string } };
    messageSignature: { messageDigest: { algorithm: string; digest: string }; signature: string };
  };
  assert.equal(b.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  assert.equal(b.verificationMaterial.publicKey.hint, keyHint(key.publicKey));
  assert.equal(b.messageSignature.messageDigest.algorithm, "SHA2_256");
  assert.equal(
    Buffer.from(b.messageSignature.messageDigest.digest, "base64").toString("hex"),
    sha256,
  );
  const verifier = createVerify("sha256").update(data);
  assert.ok(verifier.verify(key.publicKey, Buffer.from(b.messageSignature.signature, "base64")));
});

test("Ed25519 bundles sign an in-toto statement naming the bytes' SHA-256", async () => {
  const key = generateSigningKey("ed25519");
  const { bundle, sha256 } = await signStream(key, Readable.from([data]), "a.bin");
  const envelope = (
    bundle as {
      dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
    }
  ).dsseEnvelope;
  assert.equal(envelope.payloadType, IN_TOTO_PAYLOAD);
  const payload = Buffer.from(envelope.payload, "base64");
  const statement = JSON.parse(payload.toString()) as { subject: { digest: { sha256: string } }[] };
  assert.equal(statement.subject[0]?.digest.sha256, sha256);
  const signature = Buffer.from(envelope.signatures[0]?.sig ?? "", "base64");
  assert.ok(verify(null, pae(IN_TOTO_PAYLOAD, payload), key.publicKey, signature));
  assert.ok(!verify(null, pae(IN_TOTO_PAYLOAD, Buffer.from("{}")), key.publicKey, signature));
});
