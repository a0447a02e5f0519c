"""Receipts: the gateway signs each object a bucket stores, with its own key, so downstream can
prove the bytes passed through this store.

A receipt is a sigstore bundle v0.3 with a message signature (ECDSA P-256 over the object's
SHA-256) and a public-key hint, attached as a signature referrer like any other; ``cosign
verify-blob --key <the gateway's public key> --bundle <receipt> --insecure-ignore-tlog=true``
accepts it. The key is the deployment's (``receipt_key_file``), made once when none is given;
its public half is served at ``/_artifacts/receipts/key``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from gateway.domain.buckets import get_bucket
from gateway.domain.errors import NoSuchKey, ObjectChanged
from gateway.domain.store import Store
from gateway.domain.supply import digests, referrer_mapping, referrers, trust
from gateway.domain.supply.state import state_of
from gateway.domain.values import ObjectRecord

log = logging.getLogger("gateway.receipts")
RECEIPT_KEY_NAME = "artifact-store-receipt"
BUNDLE_MEDIA_TYPE = referrer_mapping.SIGSTORE_BUNDLE


class ReceiptSigner:
    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = trust.key_id(self.public_key)
        self.public_pem = self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def trusted_key(self) -> trust.TrustedKey:
        return trust.TrustedKey(RECEIPT_KEY_NAME, self.public_pem, self.public_key)

    def bundle(self, sha256_hex: str) -> bytes:
        """The receipt of an object whose SHA-256 is ``sha256_hex``."""
        digest = bytes.fromhex(sha256_hex)
        signature = self._key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        document = {
            "mediaType": BUNDLE_MEDIA_TYPE,
            "verificationMaterial": {"publicKey": {"hint": self.key_id}, "tlogEntries": []},
            "messageSignature": {
                "messageDigest": {
                    "algorithm": "SHA2_256",
                    "digest": base64.b64encode(digest).decode(),
                },
                "signature": base64.b64encode(signature).decode(),
            },
        }
        return json.dumps(document, indent=2).encode()


def load_or_create(path: Path) -> ReceiptSigner:
    """The PEM (PKCS#8) private key at ``path``; made once (P-256, mode 0600) if missing."""
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: the receipt key must be an ECDSA private key")
        return ReceiptSigner(loaded)
    key = ec.generate_private_key(ec.SECP256R1())
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as sink:
        sink.write(pem)
    return ReceiptSigner(key)


async def wanted(store: Store, bucket: str) -> bool:
    if state_of(store).signer is None:
        return False
    record = await get_bucket(store, bucket)
    return trust.settings_of(record.settings, state_of(store).trusted_root).receipts


async def issue(store: Store, record: ObjectRecord) -> None:
    """Attach a receipt to a version just committed, when its bucket wants receipts.

    Objects whose SHA-256 is known (single PUTs, copies of them) get theirs at once; for
    multipart objects the bytes are hashed in the background first (a multi-GiB Complete
    must not wait for that). Failures are logged, never raised: the object is stored."""
    if not await wanted(store, record.bucket):
        return
    known = digests.known_sha256(record)
    if known is not None:
        await _attach(store, record, known)
        return
    task = asyncio.create_task(_hash_then_attach(store, record))
    store.background.add(task)
    task.add_done_callback(store.background.discard)


async def _hash_then_attach(store: Store, record: ObjectRecord) -> None:
    try:
        await _attach(store, record, await digests.object_sha256(store, record))
    except Exception:  # a background task: nothing above it would see the error
        log.exception("receipt for %s/%s failed", record.bucket, record.key)


async def _attach(store: Store, record: ObjectRecord, sha256_hex: str) -> None:
    signer = state_of(store).signer
    if signer is None:  # pragma: no cover - issue() asks wanted(), which needs a signer
        return
    try:
        await referrers.attach(
            store,
            record.bucket,
            record.key,
            referrer_mapping.SIGNATURE,
            BUNDLE_MEDIA_TYPE,
            signer.bundle(sha256_hex),
            expected=record.manifest_digest,
        )
    except (NoSuchKey, ObjectChanged):  # replaced or deleted meanwhile: nothing to sign
        log.info("no receipt for %s/%s: the version is gone", record.bucket, record.key)
    except Exception:  # the object is stored; a missing receipt must not fail the PUT
        log.exception("receipt for %s/%s failed", record.bucket, record.key)
