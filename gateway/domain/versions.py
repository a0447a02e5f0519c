"""Bucket versioning: every write of a versioned bucket keeps the versions before it.

Each version is its own manifest (nothing is copied), kept from the registry's GC by its own
tag ``v-<hex sha256(key)>-<version id>``; the key's ``o-`` tag names the latest version,
object or delete marker (``mapping.version_tag``). A bucket whose versioning was never set
writes exactly as before (no version tag, no version annotation, the same manifests).
Registry first, the index commit is visibility, as for every write: the new manifest goes
under the key's tag and its version tag, then the index makes it the latest version; a
failure anywhere there (the process alive) takes the new manifest back (``_restore``).
https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gateway.domain import mapping
from gateway.domain.buckets import get_bucket, set_setting
from gateway.domain.conditions import WriteConditions, check_write
from gateway.domain.errors import (
    ConditionalRequestConflict,
    InvalidBucketState,
)
from gateway.domain.locks import KeyBusy
from gateway.domain.ports.registry import RegistryError
from gateway.domain.store import Store
from gateway.domain.tagging import forget_tagging
from gateway.domain.values import BucketRecord, ObjectRecord

VERSIONING_SETTING = "versioning"  # "Enabled" or "Suspended"; absent: never versioned
LOCK_SETTING = "object-lock"  # Object Lock's configuration (domain/objectlock.py)
ENABLED, SUSPENDED = "Enabled", "Suspended"


def status(bucket: BucketRecord) -> str | None:
    return bucket.settings.get(VERSIONING_SETTING)


async def get_bucket_versioning(store: Store, bucket: str) -> str | None:
    return status(await get_bucket(store, bucket))


async def put_bucket_versioning(store: Store, bucket: str, state: str) -> None:
    """Enabled or Suspended; a bucket once versioned never returns to unversioned (S3), and
    a bucket with Object Lock stays Enabled."""
    record = await get_bucket(store, bucket)
    if state != ENABLED and LOCK_SETTING in record.settings:
        raise InvalidBucketState(
            "An Object Lock configuration is present on this bucket, so the versioning state "
            "cannot be changed."
        )
    await set_setting(store, bucket, VERSIONING_SETTING, state)


def new_version_id() -> str:
    """Opaque to clients: 12 hex digits of the time in ms and 20 random ones (valid in an
    OCI tag and a URL as they are)."""
    millis = int(datetime.now(UTC).timestamp() * 1000)
    return f"{millis:012x}{secrets.token_hex(10)}"


@contextlib.asynccontextmanager
async def write_lock(
    store: Store, bucket: str, key: str, conditions: WriteConditions
) -> AsyncIterator[None]:
    """The key's lock. A conditional write does not queue behind a write in flight (one
    holding the lock between its check and its commit, here or in another worker): it answers
    409 ConditionalRequestConflict, as S3 does, rather than judge a state about to change."""
    try:
        async with store.locks.hold((bucket, key), wait=not conditions.conditional):
            yield
    except KeyBusy as exc:
        raise ConditionalRequestConflict() from exc


async def commit(
    store: Store,
    record: ObjectRecord,
    conditions: WriteConditions,
    state: str,
    write: Callable[[ObjectRecord], Awaitable[None]] | None = None,
    check: Callable[[list[ObjectRecord]], None] | None = None,
) -> ObjectRecord:
    """Make ``record`` (an object or a delete marker) the key's latest version in a bucket
    whose versioning is ``state``: Enabled gives it a new version id and keeps every version
    before it; Suspended makes it the null version, replacing the previous null version.
    ``check`` may refuse the write, given the key's versions as they are under its lock (a
    lifecycle expiry re-judges the key it saw)."""
    location = mapping.locate(store.prefix, record.bucket, record.key)
    version_id = new_version_id() if state == ENABLED else None
    async with write_lock(store, record.bucket, record.key, conditions):
        history = await store.index.key_versions(record.bucket, record.key)
        if check is not None:
            check(history)
        latest = history[0] if history else None
        check_write(conditions, latest if latest and not latest.delete_marker else None)
        moment = record.last_modified
        if latest is not None and moment <= latest.last_modified:
            moment = latest.last_modified + timedelta(milliseconds=1)  # newest stays newest
        record = replace(record, version_id=version_id, last_modified=moment)
        body = mapping.version_manifest(record)
        record = replace(record, manifest_digest=mapping.manifest_digest(body))
        replaced = [entry for entry in history if entry.version_id == version_id]
        if latest is not None and latest.version_id is None and version_id is not None:
            await _keep(store, location.repository, latest)  # written before versioning
        if record.delete_marker:  # its one layer: the repository may not hold it yet
            await store.registry.ensure_blob(
                location.repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST
            )
        try:
            # The key's tag first: a process that dies before the version tag leaves only
            # the key's tag on the new manifest, which the next write of the key moves.
            await store.registry.push_manifest(
                location.repository, location.tag, body, mapping.MANIFEST_MEDIA_TYPE
            )
            await store.registry.push_manifest(
                location.repository,
                mapping.version_tag(record.key, version_id),
                body,
                mapping.MANIFEST_MEDIA_TYPE,
            )
            await (write or store.index.put_version)(record)
        except Exception:
            await _restore(store, location, record, latest, replaced)
            raise
        for old in replaced:
            if old.manifest_digest != record.manifest_digest:
                await _drop(store, location.repository, old)
    if not record.delete_marker:
        await store.supply.committed(store, record)
    return record


async def _keep(store: Store, repository: str, record: ObjectRecord) -> None:
    """Tag a version by its version id before the key's tag leaves it."""
    manifest = await store.registry.get_manifest(repository, record.manifest_digest)
    await store.registry.push_manifest(
        repository,
        mapping.version_tag(record.key, record.version_id),
        manifest.body,
        manifest.media_type,
    )


async def _restore(
    store: Store,
    location: mapping.ObjectLocation,
    pushed: ObjectRecord,
    latest: ObjectRecord | None,
    replaced: list[ObjectRecord],
) -> None:
    """A push of the new manifest's tags or the index commit failed: drop the new manifest
    (and its tags) and give the tags back to the versions that had them, so a ``reindex``
    never publishes a write the client was told failed. Best effort, as ``objects._untag``."""
    with contextlib.suppress(RegistryError):
        await store.registry.delete_manifest(location.repository, pushed.manifest_digest)
        for old in replaced:
            await _keep(store, location.repository, old)
        if latest is not None:
            live = await store.registry.get_manifest(location.repository, latest.manifest_digest)
            await store.registry.push_manifest(
                location.repository, location.tag, live.body, live.media_type
            )


async def forget_lock(store: Store, repository: str, record: ObjectRecord) -> None:
    """Best effort: a lock manifest left behind costs space; ``reindex`` reads the newest."""
    if record.lock.manifest is None:
        return
    with contextlib.suppress(RegistryError):
        await store.registry.remove_referrer(
            repository, record.manifest_digest, record.lock.manifest
        )


async def _drop(store: Store, repository: str, record: ObjectRecord) -> None:
    """A version gone for good: its tagging and lock manifests, its manifest, its referrers."""
    if record.tagging is not None:
        await forget_tagging(store, repository, record)
    await forget_lock(store, repository, record)
    with contextlib.suppress(RegistryError):
        await store.registry.delete_manifest(repository, record.manifest_digest)
    if not record.delete_marker:
        await store.supply.retire(
            store, record.bucket, record.key, keep=None, only=record.manifest_digest
        )


def delete_marker(bucket: str, key: str, moment: datetime) -> ObjectRecord:
    return ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="",
        size=0,
        etag="",
        last_modified=moment,
        layers=(),
        delete_marker=True,
    )


async def delete_version(
    store: Store,
    bucket: str,
    key: str,
    version_id: str | None,
    check: Callable[[ObjectRecord, list[ObjectRecord]], None] | None = None,
) -> ObjectRecord | None:
    """Remove one version for good (DeleteObject with ``versionId``); returns it, or None if
    the key has no such version (S3 answers success all the same). If it was the latest,
    the next newest version becomes the latest (the key's tag moves to it). The registry goes
    first: its manifest (with its version tag, and the key's tag if it was the latest), then
    the index. ``check`` may refuse the version found, given the key's versions as they are
    under its lock (Object Lock; a lifecycle expiry re-judges the key it saw)."""
    async with store.locks.hold((bucket, key)):
        history = await store.index.key_versions(bucket, key)
        target = next((entry for entry in history if entry.version_id == version_id), None)
        if target is None:
            return None
        if check is not None:
            check(target, history)  # raises if the version may not go
        location = mapping.locate(store.prefix, bucket, key)
        if target.tagging is not None:
            await forget_tagging(store, location.repository, target)
        await forget_lock(store, location.repository, target)
        await store.registry.delete_manifest(location.repository, target.manifest_digest)
        if history[0] is target and len(history) > 1:
            following = await store.registry.get_manifest(
                location.repository, history[1].manifest_digest
            )
            await store.registry.push_manifest(
                location.repository, location.tag, following.body, following.media_type
            )
        await store.index.remove_version(bucket, key, version_id)
        if not target.delete_marker:
            await store.supply.retire(store, bucket, key, keep=None, only=target.manifest_digest)
        return target


async def get_version(
    store: Store, bucket: str, key: str, version_id: str | None
) -> ObjectRecord | None:
    await get_bucket(store, bucket)
    return await store.index.get_version(bucket, key, version_id)


async def latest_marker(store: Store, bucket: str, key: str) -> ObjectRecord | None:
    """The delete marker that hides the key, when its latest version is one."""
    history = await store.index.key_versions(bucket, key)
    return history[0] if history and history[0].delete_marker else None
