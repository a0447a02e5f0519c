"""Key-based checks of signatures, without I/O: sigstore bundles v0.3 (a message signature or a
DSSE envelope), DSSE envelopes of in-toto statements, and cosign's simple-signing payloads.

A signature counts only when it covers the object: the object's SHA-256, or the object's
manifest digest (the manifest pins every byte through its layer digests; ``cosign sign`` of
the manifest signs that). ECDSA and RSA signatures over a message are checked against its
digest (pre-hashed), so no object is ever read; Ed25519 signs whole messages, so over the
object it works only through DSSE (a statement naming the object's digest), over the
manifest directly. Keyless bundles go to ``keyless.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from gateway.domain.supply.trust import PublicKey, TrustedKey

IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"
OBJECT = "object"
MANIFEST = "manifest"


@dataclass(frozen=True)
class Subject:
    """What a signature must cover: the object (by SHA-256) or its manifest."""

    manifest: str  # "sha256:<hex>"
    sha256: str | None = None  # hex; None while unknown (multipart objects, until hashed)
    manifest_bytes: bytes | None = None  # for Ed25519 message signatures over the manifest

    def covers(self, digest: str) -> str | None:
        """Which of the two ``digest`` ("sha256:<hex>") names, if either."""
        if digest == self.manifest:
            return MANIFEST
        if self.sha256 is not None and digest == "sha256:" + self.sha256:
            return OBJECT
        return None


@dataclass(frozen=True)
class Check:
    verified: bool
    covers: str | None = None  # OBJECT or MANIFEST
    over: str | None = None  # the digest signed ("sha256:<hex>")
    key: str | None = None  # the trusted key's name
    reason: str | None = None  # why not, for a human


class Malformed(ValueError):
    """The document is not the signature it claims to be."""


def _b64(value: Any, where: str) -> bytes:
    """Standard or URL-safe base64, padded or not (DSSE allows either alphabet)."""
    if not isinstance(value, str):
        raise Malformed(f"{where} is not a base64 string")
    padded = value + "=" * (-len(value) % 4)
    try:
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Malformed(f"{where} is not base64") from exc


def load_json(document: bytes, where: str = "$") -> dict[str, Any]:
    try:
        value = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"{where} is not JSON") from exc
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not a JSON object")
    return value


def _verify(public_key: PublicKey, signature: bytes, message: bytes, *, prehashed: bool) -> bool:
    """One signature check: ECDSA and RSA hash with SHA-256 (or take ``message`` as that
    digest when ``prehashed``); Ed25519 never pre-hashes."""
    algorithm: hashes.HashAlgorithm | utils.Prehashed = (
        utils.Prehashed(hashes.SHA256()) if prehashed else hashes.SHA256()
    )
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            if not prehashed and public_key.curve.name == "secp384r1":
                algorithm = hashes.SHA384()
            public_key.verify(signature, message, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            try:
                public_key.verify(signature, message, padding.PKCS1v15(), algorithm)
            except InvalidSignature:
                pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                public_key.verify(signature, message, pss, algorithm)
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            if prehashed:
                return False
            public_key.verify(signature, message)
        else:  # pragma: no cover - trust.load_public_key admits nothing else
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _first_key(
    keys: Sequence[TrustedKey], signature: bytes, message: bytes, *, prehashed: bool
) -> TrustedKey | None:
    for key in keys:
        if _verify(key.public_key, signature, message, prehashed=prehashed):
            return key
    return None


def _digest_of(message_digest: Any) -> str | None:
    """The bundle's ``messageDigest`` as "sha256:<hex>"; None when absent."""
    if message_digest is None:
        return None
    if not isinstance(message_digest, dict) or message_digest.get("algorithm") != "SHA2_256":
        raise Malformed("messageSignature.messageDigest is not a SHA2_256 digest")
    return "sha256:" + _b64(message_digest.get("digest"), "messageDigest.digest").hex()


def check_message_signature(
    signature_block: dict[str, Any], subject: Subject, keys: Sequence[TrustedKey]
) -> Check:
    """A bundle's ``messageSignature``: over the object or over its manifest."""
    signature = _b64(signature_block.get("signature"), "messageSignature.signature")
    claimed = _digest_of(signature_block.get("messageDigest"))
    candidates = [claimed] if claimed else [subject.manifest]
    if not claimed and subject.sha256:
        candidates.append("sha256:" + subject.sha256)
    failed: Check | None = None
    for digest in candidates:
        covers = subject.covers(digest)
        if covers is None:
            continue
        raw = bytes.fromhex(digest.removeprefix("sha256:"))
        key = _first_key(keys, signature, raw, prehashed=True)
        if key is None and covers == MANIFEST and subject.manifest_bytes is not None:
            key = _first_key(keys, signature, subject.manifest_bytes, prehashed=False)
        if key is not None:
            return Check(True, covers, digest, key.name)
        failed = failed or Check(
            False, covers, digest, reason="no trusted key verifies the signature"
        )
    if failed is not None:
        return failed
    if claimed:
        return Check(False, over=claimed, reason=f"signs {claimed}, not this object")
    return Check(False, reason="no trusted key verifies the signature over this object")


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the envelope's signatures sign."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: tuple[bytes, ...]

    def statement(self) -> dict[str, Any]:
        if self.payload_type != IN_TOTO_PAYLOAD:
            raise Malformed(f"payloadType is {self.payload_type!r}, not an in-toto statement")
        return load_json(self.payload, "payload")

    def subject_digests(self) -> list[str]:
        """The statement's subjects as "sha256:<hex>"."""
        found = []
        for entry in self.statement().get("subject") or []:
            digest = entry.get("digest") if isinstance(entry, dict) else None
            if isinstance(digest, dict) and isinstance(digest.get("sha256"), str):
                found.append("sha256:" + digest["sha256"].lower())
        return found

    def predicate_type(self) -> str | None:
        value = self.statement().get("predicateType")
        return value if isinstance(value, str) else None


def parse_envelope(document: dict[str, Any]) -> Envelope:
    payload_type = document.get("payloadType")
    if not isinstance(payload_type, str):
        raise Malformed("payloadType is missing")
    signatures = document.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise Malformed("signatures is empty")
    return Envelope(
        payload_type,
        _b64(document.get("payload"), "payload"),
        tuple(
            _b64(item.get("sig") if isinstance(item, dict) else None, f"signatures[{n}].sig")
            for n, item in enumerate(signatures)
        ),
    )


def check_envelope(envelope: Envelope, subject: Subject, keys: Sequence[TrustedKey]) -> Check:
    """A DSSE envelope counts when a trusted key signs it and its statement names the object
    (or its manifest) as a subject."""
    covered = [(d, subject.covers(d)) for d in envelope.subject_digests()]
    hit = next(((d, c) for d, c in covered if c is not None), None)
    if hit is None:
        named = ", ".join(d for d, _ in covered) or "nothing"
        return Check(False, reason=f"the statement's subjects ({named}) are not this object")
    message = pae(envelope.payload_type, envelope.payload)
    for signature in envelope.signatures:
        key = _first_key(keys, signature, message, prehashed=False)
        if key is not None:
            return Check(True, hit[1], hit[0], key.name)
    return Check(False, hit[1], hit[0], reason="no trusted key verifies the envelope")


def check_bundle(document: bytes, subject: Subject, keys: Sequence[TrustedKey]) -> Check:
    """A sigstore bundle v0.3 signed with a key (keyless ones go to ``keyless.py``)."""
    try:
        bundle = load_json(document)
        if isinstance(bundle.get("messageSignature"), dict):
            return check_message_signature(bundle["messageSignature"], subject, keys)
        if isinstance(bundle.get("dsseEnvelope"), dict):
            return check_envelope(parse_envelope(bundle["dsseEnvelope"]), subject, keys)
        raise Malformed("neither messageSignature nor dsseEnvelope")
    except Malformed as exc:
        return Check(False, reason=f"malformed bundle: {exc}")


def check_simple_signing(
    payload: bytes, signature_b64: str, subject: Subject, keys: Sequence[TrustedKey]
) -> Check:
    """cosign's older layout: a simple-signing JSON payload naming the manifest digest in
    ``critical.image.docker-manifest-digest``, signed (SHA-256) by the key."""
    try:
        claims = load_json(payload, "payload")
        image = (claims.get("critical") or {}).get("image") or {}
        digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
        if not isinstance(digest, str):
            raise Malformed("critical.image.docker-manifest-digest is missing")
        signature = _b64(signature_b64, "signature annotation")
    except (Malformed, AttributeError) as exc:
        return Check(False, reason=f"malformed simple-signing payload: {exc}")
    covers = subject.covers(digest)
    if covers is None:
        return Check(False, over=digest, reason=f"signs {digest}, not this object")
    key = _first_key(keys, signature, payload, prehashed=False)
    if key is None:
        return Check(False, covers, digest, reason="no trusted key verifies the signature")
    return Check(True, covers, digest, key.name)


def claimed_digests(document: bytes) -> list[str]:
    """The digests a bundle says it signs (to know whether the object's SHA-256 is needed)."""
    try:
        bundle = load_json(document)
        block = bundle.get("messageSignature")
        if isinstance(block, dict):
            claimed = _digest_of(block.get("messageDigest"))
            return [claimed] if claimed else []
        if isinstance(bundle.get("dsseEnvelope"), dict):
            return parse_envelope(bundle["dsseEnvelope"]).subject_digests()
    except Malformed:
        pass
    return []
