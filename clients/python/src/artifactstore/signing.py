"""Key-based signatures as the gateway stores and checks them: sigstore bundles v0.3.

ECDSA P-256 signs the object's SHA-256 as a ``messageSignature`` (what ``cosign sign-blob
--key --bundle`` writes); Ed25519 cannot sign a pre-hashed digest, so it signs a DSSE envelope
of an in-toto statement naming the object's SHA-256. The gateway's verdict accepts both
(docs/supply-chain.md); ``verify_bundle`` is the same check done offline."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"

KeyType = Literal["ecdsa-p256", "ed25519"]
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(value: Any) -> bytes | None:
    """Standard or URL-safe base64, padded or not (DSSE allows both); None if neither."""
    if not isinstance(value, str):
        return None
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return None


def key_hint(public_key: PublicKey) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo: the bundle's public-key hint."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class KeyPair:
    private_key: PrivateKey

    @classmethod
    def generate(cls, key_type: KeyType = "ecdsa-p256") -> KeyPair:
        if key_type == "ecdsa-p256":
            return cls(ec.generate_private_key(ec.SECP256R1()))
        if key_type == "ed25519":
            return cls(ed25519.Ed25519PrivateKey.generate())
        raise ValueError(f"unsupported key type {key_type!r} (ecdsa-p256 or ed25519)")

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> KeyPair:
        key = serialization.load_pem_private_key(pem, password)
        if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
            return cls(key)
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return cls(key)
        raise ValueError("only ECDSA P-256 and Ed25519 private keys can sign")

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> str:
        return public_pem(self.public_key)


def public_pem(public_key: PublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str | bytes) -> PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key
    raise ValueError("only ECDSA and Ed25519 public keys are checked locally")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what an envelope's signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def statement(sha256_hex: str, name: str) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": sha256_hex}}],
        "predicateType": SIGN_PREDICATE,
        "predicate": {},
    }


def build_bundle(keys: KeyPair, sha256: bytes, name: str = "object") -> dict[str, Any]:
    """A bundle v0.3 signing the object whose SHA-256 is ``sha256`` (32 bytes)."""
    if len(sha256) != 32:
        raise ValueError("sha256 must be the 32-byte digest")
    material = {"publicKey": {"hint": key_hint(keys.public_key)}, "tlogEntries": []}
    private = keys.private_key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        signature = private.sign(sha256, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": material,
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": _b64(sha256)},
                "signature": _b64(signature),
            },
        }
    payload = json.dumps(statement(sha256.hex(), name), separators=(",", ":")).encode()
    signature = private.sign(pae(IN_TOTO_PAYLOAD, payload))
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payloadType": IN_TOTO_PAYLOAD,
            "payload": _b64(payload),
            "signatures": [{"keyid": key_hint(keys.public_key), "sig": _b64(signature)}],
        },
    }


def _check(public_key: PublicKey, signature: bytes, message: bytes, *, prehashed: bool) -> bool:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            algorithm: hashes.HashAlgorithm | utils.Prehashed = (
                utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
            )
            public_key.verify(signature, message, ec.ECDSA(algorithm))
            return True
        if prehashed:
            return False  # Ed25519 signs whole messages only
        public_key.verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def verify_bundle(bundle: bytes | dict[str, Any], public_key: PublicKey, sha256: bytes) -> bool:
    """Does ``bundle`` carry a signature by ``public_key`` over the object of this SHA-256?"""
    try:
        document = json.loads(bundle) if isinstance(bundle, bytes) else bundle
    except ValueError:
        return False
    if not isinstance(document, dict):
        return False
    message = document.get("messageSignature")
    if isinstance(message, dict):
        claimed = message.get("messageDigest")
        if isinstance(claimed, dict) and _unb64(claimed.get("digest")) != sha256:
            return False
        signature = _unb64(message.get("signature"))
        return signature is not None and _check(public_key, signature, sha256, prehashed=True)
    envelope = document.get("dsseEnvelope", document)
    if not isinstance(envelope, dict) or envelope.get("payloadType") != IN_TOTO_PAYLOAD:
        return False
    payload = _unb64(envelope.get("payload"))
    if payload is None:
        return False
    try:
        stmt = json.loads(payload)
    except ValueError:
        return False
    subjects = stmt.get("subject") if isinstance(stmt, dict) else None
    wanted = sha256.hex()
    if not isinstance(subjects, list) or not any(
        isinstance(s, dict)
        and isinstance(s.get("digest"), dict)
        and str(s["digest"].get("sha256", "")).lower() == wanted
        for s in subjects
    ):
        return False
    signed = pae(IN_TOTO_PAYLOAD, payload)
    for entry in envelope.get("signatures") or []:
        signature = _unb64(entry.get("sig")) if isinstance(entry, dict) else None
        if signature is not None and _check(public_key, signature, signed, prehashed=False):
            return True
    return False
