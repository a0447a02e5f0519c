"""Rebuild the index from the registry alone: catalog -> tags -> manifests -> annotations,
then each object's referrers, and the multipart uploads in flight with their parts.

Losing the database loses no object (DESIGN.md §3). Only manifests this project wrote, under
the tag the mapping computes for their key, count; anything else in the registry is left be.
The referrer rows of each live object come from the registry's referrers of its manifest
(referrers API or fallback tag), read as listing discovers them (``referrers.registry_
referrers``): the gateway's own and those other tools attached alike. An object whose
referrers cannot be listed keeps its row and gets none (logged, counted as skipped).
A live upload is its record manifest (``u-<upload>``) in its key's repository; its parts are
the part manifests ``p-<upload>-<n>`` beside it. Parts without a record are leftovers of an
ended upload and are ignored; completed uploads' rows are not rebuilt (index only).
An object's tags are its manifest's, unless the same referrers list names tagging manifests
(``domain/tagging.py``): then the newest of them holds the tag set.

``rebuild`` only reads; ``reindex`` writes what it read; ``index_check`` compares it with
the index instead (``reindex --check``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gateway.domain import mapping
from gateway.domain.ports.registry import RegistryError, RegistryNotFound
from gateway.domain.store import Store
from gateway.domain.supply import referrers
from gateway.domain.values import (
    BucketRecord,
    IndexContents,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
CONCURRENCY = 16


@dataclass(frozen=True)
class ReindexReport:
    buckets: int
    objects: int
    skipped: int
    referrers: int = 0
    uploads: int = 0
    parts: int = 0


@dataclass
class _Found:
    """What the repositories hold, as reindex reads them."""

    buckets: dict[str, BucketRecord] = field(default_factory=dict)
    objects: list[ObjectRecord] = field(default_factory=list)
    versions: list[ObjectRecord] = field(default_factory=list)  # noncurrent, delete markers
    uploads: list[UploadRecord] = field(default_factory=list)
    parts: list[tuple[str, PartRecord]] = field(default_factory=list)
    skipped: int = 0


async def _read(
    store: Store, repository: str, tag: str, limit: asyncio.Semaphore
) -> tuple[bytes, str] | None:
    """A tagged manifest's bytes and digest; None if it went meanwhile."""
    async with limit:
        try:
            manifest = await store.registry.get_manifest(repository, tag)
        except RegistryNotFound:
            return None
    return manifest.body, mapping.manifest_digest(manifest.body)


def _skip(repository: str, tag: str, why: object) -> None:
    log.warning("reindex: skipping %s:%s (%s)", repository, tag, why)


async def _read_tagged(
    store: Store,
    repository: str,
    tags: list[str],
    limit: asyncio.Semaphore,
    parse: Callable[[bytes, str, str], T | None],
) -> list[T]:
    """Each tagged manifest read and ``parse``d (bytes, digest, tag); what does not parse,
    or names another place than its tag, is logged and left out."""

    async def one(tag: str) -> T | None:
        found = await _read(store, repository, tag, limit)
        if found is None:
            return None
        try:
            record = parse(*found, tag)
        except mapping.NotAnObject as exc:
            _skip(repository, tag, exc)
            return None
        if record is None:
            _skip(repository, tag, "its tag does not match what it names")
        return record

    found = await asyncio.gather(*(one(tag) for tag in tags))
    return [record for record in found if record is not None]


def _object_at(store: Store, repository: str) -> Callable[[bytes, str, str], ObjectRecord | None]:
    """A key's latest version (its ``o-`` tag): an object, or a delete marker."""

    def parse(body: bytes, digest: str, tag: str) -> ObjectRecord | None:
        record = mapping.parse_version_manifest(body, digest)
        where = mapping.locate(store.prefix, record.bucket, record.key)
        return record if where == mapping.ObjectLocation(repository, tag) else None

    return parse


def _version_at(store: Store, repository: str) -> Callable[[bytes, str, str], ObjectRecord | None]:
    """One version of a key of a versioned bucket (its ``v-`` tag)."""

    def parse(body: bytes, digest: str, tag: str) -> ObjectRecord | None:
        record = mapping.parse_version_manifest(body, digest)
        where = mapping.locate(store.prefix, record.bucket, record.key).repository
        named = mapping.version_tag(record.key, record.version_id)
        return record if (where, named) == (repository, tag) else None

    return parse


def _upload_at(store: Store, repository: str) -> Callable[[bytes, str, str], UploadRecord | None]:
    def parse(body: bytes, _digest: str, tag: str) -> UploadRecord | None:
        record = mapping.parse_upload_manifest(body)
        where = mapping.locate(store.prefix, record.bucket, record.key).repository
        return (
            record if (where, mapping.upload_tag(record.upload_id)) == (repository, tag) else None
        )

    return parse


def _part_of(
    uploads: dict[str, UploadRecord],
) -> Callable[[bytes, str, str], tuple[str, PartRecord] | None]:
    """The parts of ``uploads`` (upload id -> record), each under the tag that names it."""

    def parse(body: bytes, digest: str, tag: str) -> tuple[str, PartRecord] | None:
        read = mapping.parse_part_manifest(body, digest)
        upload = uploads.get(read.upload_id)
        named = mapping.part_tag(read.upload_id, read.part.part_number)
        if upload is None or (upload.bucket, upload.key, named) != (read.bucket, read.key, tag):
            return None
        return read.upload_id, read.part

    return parse


def _part_upload(tag: str) -> str:
    """The upload id a ``p-<upload>-<n>`` tag names."""
    return tag[2:].rpartition("-")[0]


async def _read_shard(
    store: Store, repository: str, found: _Found, limit: asyncio.Semaphore
) -> None:
    tags = [tag async for tag in store.registry.tags(repository)]
    objects = [tag for tag in tags if tag.startswith("o-")]
    uploads = [tag for tag in tags if tag.startswith("u-")]
    tagged = [tag for tag in tags if tag.startswith("v-")]
    latest = await _read_tagged(store, repository, objects, limit, _object_at(store, repository))
    versions = await _read_tagged(store, repository, tagged, limit, _version_at(store, repository))
    current = {record.manifest_digest for record in latest}
    records = [record for record in latest if not record.delete_marker]
    found.versions.extend(record for record in latest if record.delete_marker)
    found.versions.extend(record for record in versions if record.manifest_digest not in current)
    live = await _read_tagged(store, repository, uploads, limit, _upload_at(store, repository))
    by_id = {upload.upload_id: upload for upload in live}
    parts = [tag for tag in tags if tag.startswith("p-") and _part_upload(tag) in by_id]
    found.objects.extend(records)
    found.uploads.extend(live)
    found.parts.extend(await _read_tagged(store, repository, parts, limit, _part_of(by_id)))
    found.skipped += len(objects) - len(latest) + len(uploads) - len(live)


async def _read_registry(store: Store) -> _Found:
    found = _Found()
    limit = asyncio.Semaphore(CONCURRENCY)
    async for repository in store.registry.catalog():
        parts = repository.split("/")
        if len(parts) != 3 or parts[0] != store.prefix:
            continue
        if parts[2] != mapping.BUCKET_REPOSITORY:
            await _read_shard(store, repository, found, limit)
            continue
        try:
            manifest = await store.registry.get_manifest(repository, mapping.BUCKET_TAG)
            record = mapping.parse_bucket_manifest(manifest.body)
        except (RegistryNotFound, mapping.NotAnObject):
            continue  # a deleted bucket leaves an empty repository behind
        found.buckets[record.name] = record
    return found


async def rebuild(store: Store) -> tuple[IndexContents, ReindexReport]:
    """What the index should hold, read from the registry alone; writes nothing."""
    found = await _read_registry(store)
    live = [record for record in found.objects if record.bucket in found.buckets]
    older = [record for record in found.versions if record.bucket in found.buckets]
    uploads = [upload for upload in found.uploads if upload.bucket in found.buckets]
    kept = {upload.upload_id for upload in uploads}
    parts = [(upload_id, part) for upload_id, part in found.parts if upload_id in kept]
    skipped = found.skipped + len(found.objects) - len(live) + len(found.uploads) - len(uploads)
    readable = live + [record for record in older if not record.delete_marker]
    read, referrer_rows, missed = await _read_referrers(
        store, readable, asyncio.Semaphore(CONCURRENCY)
    )
    live, older = read[: len(live)], read[len(live) :] + [r for r in older if r.delete_marker]
    contents = IndexContents(
        buckets=tuple(found.buckets.values()),
        objects=tuple(live),
        versions=tuple(older),
        referrers=tuple(referrer_rows),
        uploads=tuple(uploads),
        parts=tuple(parts),
    )
    report = ReindexReport(
        buckets=len(found.buckets),
        objects=len(live),
        skipped=skipped + missed,
        referrers=len(referrer_rows),
        uploads=len(uploads),
        parts=len(parts),
    )
    return contents, report


async def reindex(store: Store) -> ReindexReport:
    """Swap the whole index for what the registry holds (one transaction). Replicas sharing
    the index (PostgreSQL) keep serving reads meanwhile; their writers wait from the first
    registry read to the swap, or a write committed in between would vanish from the index
    (``KeyLocks.hold_every_key``)."""
    async with store.locks.hold_every_key():
        contents, report = await rebuild(store)
        await store.index.replace_all(
            contents.buckets,
            contents.objects,
            contents.referrers,
            contents.uploads,
            contents.parts,
            version_records=contents.versions,
        )
    return report


async def _read_referrers(
    store: Store, records: list[ObjectRecord], limit: asyncio.Semaphore
) -> tuple[list[ObjectRecord], list[ReferrerRecord], int]:
    """Each object's referrer rows, and the object with its newest tag set and Object Lock
    state: one referrers listing per object serves all three."""

    async def one(record: ObjectRecord) -> tuple[ObjectRecord, list[ReferrerRecord] | None]:
        repository = mapping.locate(store.prefix, record.bucket, record.key).repository
        async with limit:
            try:
                listed = await store.registry.referrers(repository, record.manifest_digest)
                record = await _newest_state(store, repository, record, listed)
                return record, await referrers.registry_referrers(
                    store, record.bucket, record.key, record.manifest_digest, descriptors=listed
                )
            except RegistryError as exc:
                log.warning("reindex: no referrers for %s/%s (%s)", record.bucket, record.key, exc)
                return record, None

    found = await asyncio.gather(*(one(record) for record in records))
    rows = [row for _, rows in found if rows is not None for row in rows]
    return [record for record, _ in found], rows, sum(1 for _, rows in found if rows is None)


class _State(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def created(self) -> datetime: ...


_S = TypeVar("_S", bound=_State)


async def _newest(
    store: Store,
    repository: str,
    record: ObjectRecord,
    listed: list[dict[str, Any]],
    artifact_type: str,
    parse: Callable[[bytes, str], _S],
) -> tuple[str, _S] | None:
    """The newest state manifest (tags, Object Lock) of ``artifact_type`` about the record's
    manifest, with its digest: by the time written in it, then by digest, so that two of the
    same millisecond agree."""
    newest: tuple[datetime, str, _S] | None = None
    for descriptor in listed:
        digest = descriptor.get("digest")
        if descriptor.get("artifactType") != artifact_type or not isinstance(digest, str):
            continue
        try:
            manifest = await store.registry.get_manifest(repository, digest)
            found = parse(manifest.body, digest)
        except (RegistryNotFound, mapping.NotAnObject) as exc:
            _skip(repository, digest, exc)
            continue
        if found.subject != record.manifest_digest:
            continue
        if newest is None or (found.created, digest) > newest[:2]:
            newest = (found.created, digest, found)
    return None if newest is None else (newest[1], newest[2])


async def _newest_state(
    store: Store, repository: str, record: ObjectRecord, listed: list[dict[str, Any]]
) -> ObjectRecord:
    """The record with the tag set and the Object Lock state of its newest state manifests."""
    tagging = await _newest(
        store,
        repository,
        record,
        listed,
        mapping.TAGGING_ARTIFACT_TYPE,
        lambda body, _: mapping.parse_tagging_manifest(body),
    )
    if tagging is not None:
        tags = dict(sorted(tagging[1].tags.items()))
        record = replace(record, tags=tags, tagging=tagging[0])
    lock = await _newest(
        store,
        repository,
        record,
        listed,
        mapping.LOCK_ARTIFACT_TYPE,
        mapping.parse_lock_manifest,
    )
    return record if lock is None else replace(record, lock=lock[1].lock)
