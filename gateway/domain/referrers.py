"""Signatures, SBOMs and attestations of objects: OCI referrers of the object's manifest.

The document is checked first (``documents.py``: nothing is stored when it fails), then its
blob goes to the object's repository, then, under the key's lock (so the object cannot change
meanwhile), the referrer manifest is pushed (``referrer_mapping.py``: normative) and the index
row commits. Listing and the counts on GET/HEAD (``objects.get_object``, in the same query as
the object's row) read the index only, and only rows whose subject is the object's current
manifest: an overwritten object has no referrers (those of the old version
are forgotten by ``forget``, called when the version goes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.domain import documents, mapping
from gateway.domain import referrer_mapping as types
from gateway.domain.buckets import get_bucket
from gateway.domain.errors import NoSuchKey, NoSuchReferrer, ObjectChanged
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord, ReferrerRecord
from gateway.registry.errors import RegistryError

# Bigger documents are checked in a worker thread, so the event loop keeps serving.
THREAD_THRESHOLD = 64 * 1024


@dataclass(frozen=True)
class Document:
    """A fetched referrer: its record and the document's bytes."""

    record: ReferrerRecord
    body: bytes


async def _object(store: Store, bucket: str, key: str) -> ObjectRecord:
    await get_bucket(store, bucket)
    record = await store.index.get_object(bucket, key)
    if record is None:
        raise NoSuchKey()
    return record


async def subject_size(store: Store, record: ObjectRecord) -> int:
    """The size of the object's manifest: recomputed from the record (the mapping is
    deterministic), read from the registry only if the stored manifest was written otherwise."""
    manifest = mapping.object_manifest(record)
    if "sha256:" + hashlib.sha256(manifest).hexdigest() == record.manifest_digest:
        return len(manifest)
    location = mapping.locate(store.prefix, record.bucket, record.key)
    stored = await store.registry.get_manifest(location.repository, record.manifest_digest)
    return len(stored.body)


def _subject_lock(repository: str, subject: str) -> tuple[str, str, str]:
    return ("referrers", repository, subject)


async def attach(
    store: Store,
    bucket: str,
    key: str,
    kind: str,
    content_type: str | None,
    body: bytes,
    *,
    expected: str | None = None,
) -> ReferrerRecord:
    """Check ``body`` as a ``kind`` document sent as ``content_type`` and attach it to the
    object's current version (only if that is the manifest ``expected``, when given)."""
    document_type = types.document_type(kind, content_type)
    target = await _object(store, bucket, key)
    if expected is not None and target.manifest_digest != expected:
        raise ObjectChanged()
    if len(body) > THREAD_THRESHOLD:
        facts = await asyncio.to_thread(documents.check, document_type, body)
    else:
        facts = documents.check(document_type, body)
    location = mapping.locate(store.prefix, bucket, key)
    repository = location.repository
    blob_digest = "sha256:" + hashlib.sha256(body).hexdigest()
    await store.registry.ensure_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    if not await store.registry.blob_exists(repository, blob_digest):
        await store.registry.push_small_blob(repository, body, blob_digest)
    size = await subject_size(store, target)
    created = mapping.truncate_to_millis(datetime.now(UTC))
    manifest = types.referrer_manifest(
        document_type,
        types.subject_descriptor(target.manifest_digest, size),
        blob_digest,
        len(body),
        mapping.format_time(created),
        facts.annotations,
    )
    record = ReferrerRecord(
        bucket=bucket,
        key=key,
        subject=target.manifest_digest,
        digest="sha256:" + hashlib.sha256(manifest).hexdigest(),
        kind=document_type.kind,
        artifact_type=document_type.artifact_type,
        media_type=document_type.media_type,
        blob_digest=blob_digest,
        size=len(body),
        manifest_size=len(manifest),
        created=created,
        predicate_type=facts.predicate_type,
    )
    async with store.locks.hold((bucket, key)):
        current = await store.index.get_object(bucket, key)
        if current is None or current.manifest_digest != target.manifest_digest:
            raise ObjectChanged()
        async with store.locks.hold(_subject_lock(repository, record.subject)):
            await store.registry.push_referrer(repository, manifest)
        await store.index.put_referrer(record)
    store.verdicts.forget(record.subject)
    return record


async def list_referrers(
    store: Store,
    bucket: str,
    key: str,
    *,
    kind: str | None = None,
    artifact_type: str | None = None,
) -> list[ReferrerRecord]:
    target = await _object(store, bucket, key)
    return await store.index.list_referrers(
        bucket, key, target.manifest_digest, kind=kind, artifact_type=artifact_type
    )


async def _referrer(store: Store, bucket: str, key: str, digest: str) -> ReferrerRecord:
    target = await _object(store, bucket, key)
    found = await store.index.get_referrer(bucket, key, target.manifest_digest, digest)
    if found is None:
        raise NoSuchReferrer()
    return found


async def fetch(store: Store, bucket: str, key: str, digest: str) -> Document:
    """One referrer's document, byte for byte as attached."""
    record = await _referrer(store, bucket, key, digest)
    repository = mapping.locate(store.prefix, bucket, key).repository
    pieces: list[bytes] = []
    async with store.registry.open_blob(repository, record.blob_digest) as blob:
        async for chunk in blob:
            pieces.append(chunk)
    return Document(record, b"".join(pieces))


async def remove(store: Store, bucket: str, key: str, digest: str) -> ReferrerRecord:
    """Forget one referrer (the index row first: it is gone at once), then take it out of
    the registry (the fallback index, then its manifest)."""
    record = await _referrer(store, bucket, key, digest)
    repository = mapping.locate(store.prefix, bucket, key).repository
    async with store.locks.hold((bucket, key)):
        if not await store.index.delete_referrer(bucket, key, digest):
            raise NoSuchReferrer()
        store.verdicts.forget(record.subject)
        async with store.locks.hold(_subject_lock(repository, record.subject)):
            await store.registry.remove_referrer(repository, record.subject, digest)
    return record


async def forget(store: Store, bucket: str, key: str, *, keep: str | None = None) -> None:
    """The key's version went (overwritten: ``keep`` is the new manifest; or deleted): forget
    the referrers of the old versions, then remove them from the registry (best effort: a
    referrer left behind costs space, never correctness). The caller holds the key's lock."""
    gone = await store.index.delete_referrers(bucket, key, keep=keep)
    if not gone:
        return
    repository = mapping.locate(store.prefix, bucket, key).repository
    for subject in sorted({record.subject for record in gone}):
        async with store.locks.hold(_subject_lock(repository, subject)):
            with contextlib.suppress(RegistryError):
                await store.registry.drop_referrers_tag(repository, subject)
    for record in gone:
        with contextlib.suppress(RegistryError):
            await store.registry.delete_manifest(repository, record.digest)
