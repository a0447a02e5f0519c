"""Signatures, SBOMs and attestations of objects: OCI referrers of one version's manifest.

Each function acts on the key's current version, or on the version a ``versionId`` names
(``version``, as sent: ``version_ids.named_version``), so a signature stays with the bytes it
signed. The document is checked first (``documents.py``: nothing is stored when it fails),
then its blob goes to the object's repository, then, under the key's lock (so the version
cannot change or go meanwhile), the referrer manifest is pushed (``referrer_mapping.py``:
normative) and the index row commits. Listing and the counts on GET/HEAD
(``objects.get_object``, in the same query as the object's row) read the index only, and
only rows whose subject is that version's manifest: an overwritten object of an unversioned
bucket has no referrers (those of the old version are forgotten by ``forget``, called when
the version goes); a versioned bucket's older versions keep theirs.

Referrers other tools attach (``oras attach``, ``cosign sign``) reach the index through
``discover``: it asks the registry for the referrers of the version's manifest (the
referrers API, or the fallback tag), reads each manifest the index does not know and records
the ones ``referrer_mapping.read_referrer`` recognises, under the key's lock as ``attach``
does. It runs on every list, on a fetch or removal of a digest the index does not know, and
in ``reindex``; never on GET/HEAD, whose counts stay one index query. A manifest that cannot
be read is skipped; a registry that cannot answer leaves the list to the index.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain import mapping
from gateway.domain.buckets import get_bucket
from gateway.domain.errors import NoSuchKey, NoSuchReferrer, ObjectChanged
from gateway.domain.ports.registry import RegistryError
from gateway.domain.store import Store
from gateway.domain.supply import documents
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply.state import state_of
from gateway.domain.values import ObjectRecord, ReferrerRecord
from gateway.domain.version_ids import named_version

log = logging.getLogger(__name__)
# Bigger documents, and every CycloneDX one (its schema validator loads on first use, and
# validating is the costliest check), are checked in a worker thread: the loop keeps serving.
THREAD_THRESHOLD = 64 * 1024


@dataclass(frozen=True)
class Document:
    """A fetched referrer: its record and the document's bytes."""

    record: ReferrerRecord
    body: bytes


async def _object(store: Store, bucket: str, key: str, version: str | None) -> ObjectRecord:
    """The key's current version, or the one ``version`` names (NoSuchVersion; a delete
    marker, which has no referrers: DeleteMarkerVersion, as S3 answers one)."""
    if version is not None:
        return await named_version(store, bucket, key, version)
    await get_bucket(store, bucket)
    record = await store.index.get_object(bucket, key)
    if record is None:
        raise NoSuchKey()
    return record


async def _still_there(store: Store, target: ObjectRecord, *, current: bool) -> bool:
    """Under the key's lock: whether ``target`` is still the key's current version
    (``current``), or else still one of its versions."""
    if current:
        found = await store.index.get_object(target.bucket, target.key)
    else:
        found = await store.index.get_version(target.bucket, target.key, target.version_id)
    return found is not None and found.manifest_digest == target.manifest_digest


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
    version: str | None = None,
    expected: str | None = None,
) -> ReferrerRecord:
    """Check ``body`` as a ``kind`` document sent as ``content_type`` and attach it to the
    object's current version, or to its version ``version`` (only if that is the manifest
    ``expected``, when given)."""
    document_type = types.document_type(kind, content_type)
    target = await _object(store, bucket, key, version)
    if expected is not None and target.manifest_digest != expected:
        raise ObjectChanged()
    if len(body) > THREAD_THRESHOLD or document_type.artifact_type == types.CYCLONEDX_JSON:
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
        if not await _still_there(store, target, current=version is None):
            raise ObjectChanged()
        async with store.locks.hold(_subject_lock(repository, record.subject)):
            same = await _attached_already(store, record)
            if same is not None:
                return same
            await store.registry.push_referrer(repository, manifest)
        await store.index.put_referrer(record)
    state_of(store).verdicts.forget(record.subject)
    return record


async def _attached_already(store: Store, record: ReferrerRecord) -> ReferrerRecord | None:
    """The same document (kind and bytes) already attached to the same version, so that
    attaching is idempotent: a client's retry of an attach that failed after its push (the
    registry has the referrer, the index not its row) records that one instead of a second
    copy, and an identical document attached again is the one attached before."""
    rows = await store.index.list_referrers(
        record.bucket, record.key, record.subject, kind=record.kind
    )
    for row in rows:
        if row.blob_digest == record.blob_digest:
            return row
    try:
        found = await registry_referrers(
            store,
            record.bucket,
            record.key,
            record.subject,
            known=frozenset(row.digest for row in rows),
        )
    except RegistryError:
        return None  # cannot tell: attach as new
    for other in found:
        if other.kind == record.kind and other.blob_digest == record.blob_digest:
            await store.index.put_referrer(other)
            return other
    return None


def _created(text: str | None) -> datetime:
    """A found manifest's creation time (RFC 3339, as the tool wrote it), else now."""
    moment = None
    if text:
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(text)
    if moment is None or moment.tzinfo is None:
        moment = datetime.now(UTC)
    return mapping.truncate_to_millis(moment.astimezone(UTC))


async def read_referrer(
    store: Store,
    bucket: str,
    key: str,
    subject: str,
    digest: str,
    *,
    repository: str | None = None,
) -> ReferrerRecord | None:
    """The index row of referrer ``digest`` of manifest ``subject`` of the key, read from the
    registry (``referrer_mapping.read_referrer``); None when it is none of ours to list or
    cannot be read. ``repository``: where to read it, when not the key's (an image's)."""
    repository = repository or mapping.locate(store.prefix, bucket, key).repository
    try:
        manifest = await store.registry.get_manifest(repository, digest)
    except RegistryError as exc:
        log.warning("referrers: cannot read %s@%s (%s)", repository, digest, exc)
        return None
    if "sha256:" + hashlib.sha256(manifest.body).hexdigest() != digest:
        log.warning("referrers: %s@%s answered another manifest", repository, digest)
        return None
    found = types.read_referrer(manifest.body, subject)
    if found is None:
        return None
    predicate_type = found.predicate_type
    if predicate_type is None and found.kind == types.ATTESTATION:
        try:
            pieces: list[bytes] = []
            async with store.registry.open_blob(repository, found.blob_digest) as blob:
                async for chunk in blob:
                    pieces.append(chunk)
            predicate_type = documents.predicate_type_of(b"".join(pieces))
        except RegistryError as exc:
            log.warning("referrers: cannot read %s@%s (%s)", repository, found.blob_digest, exc)
            return None
    return ReferrerRecord(
        bucket=bucket,
        key=key,
        subject=subject,
        digest=digest,
        kind=found.kind,
        artifact_type=found.artifact_type,
        media_type=found.media_type,
        blob_digest=found.blob_digest,
        size=found.size,
        manifest_size=len(manifest.body),
        created=_created(found.created),
        predicate_type=predicate_type,
    )


async def listed(
    store: Store,
    repository: str,
    subject: str,
    known: frozenset[str] = frozenset(),
    descriptors: list[dict[str, Any]] | None = None,
) -> list[str]:
    """The digests of the referrers of ``subject`` the registry lists in ``repository`` (or
    ``descriptors``, when the caller listed them already), but those in ``known`` and those
    whose descriptor's artifact type is of no kind (tagging manifests among them)."""
    if descriptors is None:
        descriptors = await store.registry.referrers(repository, subject)
    digests: list[str] = []
    for descriptor in descriptors:
        digest = descriptor.get("digest")
        if not isinstance(digest, str) or not types.DIGEST.match(digest) or digest in known:
            continue
        artifact_type = descriptor.get("artifactType")
        if isinstance(artifact_type, str) and types.kind_of(artifact_type) is None:
            continue
        if digest not in digests:
            digests.append(digest)
    return digests


async def registry_referrers(
    store: Store,
    bucket: str,
    key: str,
    subject: str,
    *,
    known: frozenset[str] = frozenset(),
    descriptors: list[dict[str, Any]] | None = None,
) -> list[ReferrerRecord]:
    """The referrers of manifest ``subject`` of the key that the registry lists, but those in
    ``known``, read and classified (descriptors whose artifact type is of no kind are not even
    read). RegistryError if the registry cannot list them."""
    repository = mapping.locate(store.prefix, bucket, key).repository
    digests = await listed(store, repository, subject, known, descriptors)
    found = await asyncio.gather(
        *(read_referrer(store, bucket, key, subject, digest) for digest in digests)
    )
    return [record for record in found if record is not None]


async def discover(store: Store, target: ObjectRecord) -> list[ReferrerRecord]:
    """Record the referrers of the version's manifest that other tools attached (those the
    index does not know yet); returns what it recorded. Best effort: when the registry
    cannot list them, nothing changes."""
    bucket, key, subject = target.bucket, target.key, target.manifest_digest

    async def known() -> frozenset[str]:
        rows = await store.index.list_referrers(bucket, key, subject)
        return frozenset(record.digest for record in rows)

    try:
        repository = mapping.locate(store.prefix, bucket, key).repository
        if not await listed(store, repository, subject, await known()):
            return []
        # Read under the key's lock, as attach and remove hold it: a referrer removed
        # meanwhile is not brought back, and the version cannot go under the rows.
        async with store.locks.hold((bucket, key)):
            if not await _still_there(store, target, current=False):
                return []
            found = await registry_referrers(store, bucket, key, subject, known=await known())
            for record in found:
                await store.index.put_referrer(record)
        if found:  # a verdict that did not know them is out of date
            state_of(store).verdicts.forget(subject)
    except RegistryError as exc:
        log.warning("referrers: cannot discover those of %s/%s (%s)", bucket, key, exc)
        return []
    return found


async def list_referrers(
    store: Store,
    bucket: str,
    key: str,
    *,
    version: str | None = None,
    kind: str | None = None,
    artifact_type: str | None = None,
) -> list[ReferrerRecord]:
    """The referrers of the object's current version (or of its version ``version``), oldest
    first: those the index knows and those other tools attached (``discover``)."""
    target = await _object(store, bucket, key, version)
    return await referrers_of(store, target, kind=kind, artifact_type=artifact_type)


async def referrers_of(
    store: Store,
    target: ObjectRecord,
    *,
    kind: str | None = None,
    artifact_type: str | None = None,
) -> list[ReferrerRecord]:
    """The referrers of one version the caller has found (the verdict's), as listed above."""
    await discover(store, target)
    return await store.index.list_referrers(
        target.bucket, target.key, target.manifest_digest, kind=kind, artifact_type=artifact_type
    )


async def _referrer(
    store: Store, bucket: str, key: str, digest: str, version: str | None
) -> ReferrerRecord:
    target = await _object(store, bucket, key, version)
    found = await store.index.get_referrer(bucket, key, target.manifest_digest, digest)
    if found is None and await discover(store, target):
        found = await store.index.get_referrer(bucket, key, target.manifest_digest, digest)
    if found is None:
        raise NoSuchReferrer()
    return found


async def fetch(
    store: Store, bucket: str, key: str, digest: str, *, version: str | None = None
) -> Document:
    """One referrer's document (of the current version, or of ``version``), byte for byte
    as attached."""
    record = await _referrer(store, bucket, key, digest, version)
    repository = mapping.locate(store.prefix, bucket, key).repository
    pieces: list[bytes] = []
    async with store.registry.open_blob(repository, record.blob_digest) as blob:
        async for chunk in blob:
            pieces.append(chunk)
    return Document(record, b"".join(pieces))


async def remove(
    store: Store, bucket: str, key: str, digest: str, *, version: str | None = None
) -> ReferrerRecord:
    """Forget one referrer (of the current version, or of ``version``): the index row first
    (it is gone at once), then the registry's (the fallback index, then its manifest)."""
    record = await _referrer(store, bucket, key, digest, version)
    repository = mapping.locate(store.prefix, bucket, key).repository
    async with store.locks.hold((bucket, key)):
        if not await store.index.delete_referrer(bucket, key, digest):
            raise NoSuchReferrer()
        state_of(store).verdicts.forget(record.subject)
        async with store.locks.hold(_subject_lock(repository, record.subject)):
            await store.registry.remove_referrer(repository, record.subject, digest)
    return record


async def forget(
    store: Store, bucket: str, key: str, *, keep: str | None = None, only: str | None = None
) -> None:
    """The key's version went (overwritten: ``keep`` is the new manifest; or deleted): forget
    the referrers of the old versions, then remove them from the registry (best effort: a
    referrer left behind costs space, never correctness). The caller holds the key's lock."""
    gone = await store.index.delete_referrers(bucket, key, keep=keep, only=only)
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


def pushed_elsewhere(store: Store, subject: str) -> None:
    """A referrer of manifest ``subject`` was pushed past this module (through ``/v2/``): a
    cached verdict that does not know it is out of date. ``discover`` records it in the index
    on the next list or verdict."""
    state_of(store).verdicts.forget(subject)
