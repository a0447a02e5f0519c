"""Bucket operations. The bucket's record goes to the registry first (so ``reindex`` brings
back empty buckets and their settings), then to the index, whose commit makes it visible."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gateway.domain import mapping
from gateway.domain.errors import BucketAlreadyOwnedByYou, NoSuchBucket
from gateway.domain.names import check_bucket_name
from gateway.domain.ports.registry import RegistryError, RegistryNotFound
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord

POLICY_SETTING = "policy"  # the bucket policy's JSON text, in the bucket's settings


async def create_bucket(
    store: Store, name: str, settings: dict[str, str] | None = None
) -> BucketRecord:
    check_bucket_name(name)
    async with store.locks.hold(("bucket", name)):
        if await store.index.get_bucket(name) is not None:
            raise BucketAlreadyOwnedByYou()
        record = BucketRecord(
            name=name,
            created=mapping.truncate_to_millis(datetime.now(UTC)),
            region=store.region,
            settings=dict(settings or {}),
        )
        location = mapping.bucket_location(store.prefix, name)
        await store.registry.ensure_blob(
            location.repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST
        )
        await store.registry.push_manifest(
            location.repository,
            location.tag,
            mapping.bucket_manifest(record),
            mapping.MANIFEST_MEDIA_TYPE,
        )
        if not await store.index.create_bucket(record):
            raise BucketAlreadyOwnedByYou()
        return record


async def get_bucket(store: Store, name: str) -> BucketRecord:
    record = store.buckets.get(name)
    if record is not None:
        return record
    record = await store.index.get_bucket(name)
    if record is None:
        raise NoSuchBucket()
    store.buckets.put(record)
    return record


async def set_setting(store: Store, name: str, setting: str, value: str | None) -> BucketRecord:
    """Change one of the bucket's settings (None removes it): the bucket's record manifest in
    the registry first (``reindex`` brings settings back), then the index."""
    async with store.locks.hold(("bucket", name)):
        current = await store.index.get_bucket(name)
        if current is None:
            raise NoSuchBucket()
        settings = {k: v for k, v in current.settings.items() if k != setting}
        if value is not None:
            settings[setting] = value
        record = replace(current, settings=settings)
        location = mapping.bucket_location(store.prefix, name)
        previous = await store.registry.get_manifest(location.repository, location.tag)
        digest = await store.registry.push_manifest(
            location.repository,
            location.tag,
            mapping.bucket_manifest(record),
            mapping.MANIFEST_MEDIA_TYPE,
        )
        await store.index.update_bucket(record)
        store.buckets.forget(name)
        if previous.digest and previous.digest != digest:
            with contextlib.suppress(RegistryError):
                await store.registry.delete_manifest(location.repository, previous.digest)
        return record


@dataclass(frozen=True)
class BucketPage:
    buckets: list[BucketRecord]
    last: str | None  # the name to continue after; None when nothing is left


async def list_buckets(
    store: Store,
    visible: Callable[[str], Awaitable[bool]],
    *,
    prefix: str = "",
    after: str = "",
    region: str | None = None,
    limit: int = 0,
) -> BucketPage:
    """Up to ``limit`` (0: all) of the buckets the caller may see (``visible``), in name
    order. A page is short only at the end: buckets the caller may not see are skipped
    without counting, and ``last`` is set only when a further visible bucket exists."""
    found: list[BucketRecord] = []
    batch = limit + 1 if limit else 0
    while True:
        rows = await store.index.list_buckets(
            prefix=prefix, after=after, region=region, limit=batch
        )
        for record in rows:
            if await visible(record.name):
                found.append(record)
                if limit and len(found) > limit:
                    return BucketPage(found[:limit], found[limit - 1].name)
        if not batch or len(rows) < batch:
            return BucketPage(found, None)
        after = rows[-1].name


async def delete_bucket(store: Store, name: str) -> None:
    await get_bucket(store, name)
    async with store.locks.hold(("bucket", name)):
        store.buckets.forget(name)
        ended, released = await store.index.delete_bucket(name)
        store.buckets.forget(name)  # a lookup may have cached it meanwhile
        records = [(u.key, mapping.manifest_digest(mapping.upload_manifest(u))) for u in ended]
        for key, digest in records + released:  # uploads that were in flight, their parts
            repository = mapping.locate(store.prefix, name, key).repository
            with contextlib.suppress(RegistryError):
                await store.registry.delete_manifest(repository, digest)
        location = mapping.bucket_location(store.prefix, name)
        try:
            manifest = await store.registry.get_manifest(location.repository, location.tag)
        except RegistryNotFound:
            return
        await store.registry.delete_manifest(location.repository, manifest.digest)
