"""The SHA-256 of a whole object: what signatures and receipts are about.

Single-part objects carry it (their one blob's digest, and the SHA256 checksum every PUT
stores); a multipart object's parts are blobs of their own, so its SHA-256 is found by
reading it once, in constant memory, hashed off the event loop."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator

from gateway.domain import mapping
from gateway.domain.hashing import HashingReader
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord


def known_sha256(record: ObjectRecord) -> str | None:
    """The object's SHA-256 (hex) when the record holds it; None for multipart objects."""
    stored = record.checksums.get("SHA256")
    if stored and len(record.layers) <= 1:
        try:
            return base64.b64decode(stored, validate=True).hex()
        except (binascii.Error, ValueError):
            pass
    if len(record.layers) == 1 and record.layers[0].digest.startswith("sha256:"):
        return record.layers[0].digest.removeprefix("sha256:")
    return None


async def object_sha256(store: Store, record: ObjectRecord) -> str:
    known = known_sha256(record)
    if known is not None:
        return known
    repository = mapping.locate(store.prefix, record.bucket, record.key).repository

    async def body() -> AsyncIterator[bytes]:
        for layer in record.layers:
            async with store.registry.open_blob(repository, layer.digest) as blob:
                async for chunk in blob:
                    yield chunk

    reader = HashingReader(body(), expected_size=record.size)
    async for _chunk in reader:
        pass
    return reader.sha256_hex
