"""Rebuild the index from the registry alone: catalog -> tags -> manifests -> annotations.

Losing the database loses no object (DESIGN.md §3). Only manifests this project wrote, under
the tag the mapping computes for their key, count; anything else in the registry is left be.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass

from gateway.domain import mapping
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord, ObjectRecord
from gateway.registry.errors import RegistryNotFound

log = logging.getLogger(__name__)
CONCURRENCY = 16


@dataclass(frozen=True)
class ReindexReport:
    buckets: int
    objects: int
    skipped: int


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
    await store.index.replace_all(buckets.values(), live)
    return ReindexReport(buckets=len(buckets), objects=len(live), skipped=skipped)
