"""Rebuild the index from the registry alone: catalog -> tags -> manifests -> annotations,
then each object's referrers.

Losing the database loses no object (DESIGN.md §3). Only manifests this project wrote, under
the tag the mapping computes for their key, count; anything else in the registry is left be.
The referrer rows of each live object come from the registry's referrers of its manifest
(referrers API or fallback tag), read as listing discovers them (``referrers.registry_
referrers``): the gateway's own and those other tools attached alike. An object whose
referrers cannot be listed keeps its row and gets none (logged, counted as skipped).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from gateway.domain import mapping, referrers
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord, ObjectRecord, ReferrerRecord
from gateway.registry.errors import RegistryError, RegistryNotFound

log = logging.getLogger(__name__)
CONCURRENCY = 16


@dataclass(frozen=True)
class ReindexReport:
    buckets: int
    objects: int
    skipped: int
    referrers: int = 0


async def _read_objects(
    store: Store, repository: str, limit: asyncio.Semaphore
) -> tuple[list[ObjectRecord], int]:
    async def one(tag: str) -> ObjectRecord | None:
        async with limit:
            try:
                manifest = await store.registry.get_manifest(repository, tag)
            except RegistryNotFound:
                return None
        digest = "sha256:" + hashlib.sha256(manifest.body).hexdigest()
        try:
            record = mapping.parse_object_manifest(manifest.body, digest)
        except mapping.NotAnObject as exc:
            log.warning("reindex: skipping %s:%s (%s)", repository, tag, exc)
            return None
        if mapping.locate(store.prefix, record.bucket, record.key) != mapping.ObjectLocation(
            repository, tag
        ):
            log.warning("reindex: skipping %s:%s (tag does not match its key)", repository, tag)
            return None
        return record

    tags = [tag async for tag in store.registry.tags(repository) if tag.startswith("o-")]
    found = await asyncio.gather(*(one(tag) for tag in tags))
    records = [record for record in found if record is not None]
    return records, len(tags) - len(records)


async def reindex(store: Store) -> ReindexReport:
    buckets: dict[str, BucketRecord] = {}
    objects: list[ObjectRecord] = []
    skipped = 0
    limit = asyncio.Semaphore(CONCURRENCY)
    async for repository in store.registry.catalog():
        parts = repository.split("/")
        if len(parts) != 3 or parts[0] != store.prefix:
            continue
        if parts[2] == mapping.BUCKET_REPOSITORY:
            try:
                manifest = await store.registry.get_manifest(repository, mapping.BUCKET_TAG)
                record = mapping.parse_bucket_manifest(manifest.body)
            except (RegistryNotFound, mapping.NotAnObject):
                continue  # a deleted bucket leaves an empty repository behind
            buckets[record.name] = record
            continue
        records, missed = await _read_objects(store, repository, limit)
        objects.extend(records)
        skipped += missed
    live = [record for record in objects if record.bucket in buckets]
    skipped += len(objects) - len(live)
    found, missed = await _read_referrers(store, live, limit)
    await store.index.replace_all(buckets.values(), live, found)
    return ReindexReport(
        buckets=len(buckets), objects=len(live), skipped=skipped + missed, referrers=len(found)
    )


async def _read_referrers(
    store: Store, records: list[ObjectRecord], limit: asyncio.Semaphore
) -> tuple[list[ReferrerRecord], int]:
    async def one(record: ObjectRecord) -> list[ReferrerRecord] | None:
        async with limit:
            try:
                return await referrers.registry_referrers(
                    store, record.bucket, record.key, record.manifest_digest
                )
            except RegistryError as exc:
                log.warning("reindex: no referrers for %s/%s (%s)", record.bucket, record.key, exc)
                return None

    found = await asyncio.gather(*(one(record) for record in records))
    rows = [row for rows in found if rows is not None for row in rows]
    return rows, sum(1 for rows in found if rows is None)
