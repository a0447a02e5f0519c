"""Object Lock (WORM): a bucket's lock configuration and default retention, each version's
retention (GOVERNANCE or COMPLIANCE until a date) and legal hold.

A locked version can be deleted by nobody (COMPLIANCE, a legal hold) or only with the
governance bypass (GOVERNANCE); an overwrite in a lock bucket (always versioned) makes a new
version and leaves the locked one as it is. Lock state given with the write is an annotation
of the version's manifest; a change after the write cannot go there (the digest is what
signatures name), so it is a small *lock manifest*, a referrer of the version
(``mapping.lock_manifest``), as a tag set changed later is; the index row holds the state,
``reindex`` takes the newest lock manifest over the manifest's own annotation.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from gateway.domain import mapping, version_ids, versions
from gateway.domain.buckets import get_bucket, set_setting
from gateway.domain.errors import (
    DeleteMarkerVersion,
    InvalidBucketState,
    InvalidRequest,
    NoSuchKey,
    NoSuchObjectLockConfiguration,
    NoSuchVersion,
    ObjectLockConfigurationNotFound,
    ObjectLocked,
)
from gateway.domain.store import Store
from gateway.domain.values import NO_LOCK, BucketRecord, ObjectLock, ObjectRecord

LOCK_SETTING = versions.LOCK_SETTING  # the configuration as JSON; present: enabled
GOVERNANCE, COMPLIANCE = "GOVERNANCE", "COMPLIANCE"
MODES = frozenset({GOVERNANCE, COMPLIANCE})


@dataclass(frozen=True)
class DefaultRetention:
    mode: str
    days: int | None = None
    years: int | None = None

    def until(self, moment: datetime) -> datetime:
        if self.days is not None:
            return moment + timedelta(days=self.days)
        years = self.years or 0
        try:
            return moment.replace(year=moment.year + years)
        except ValueError:  # 29 February
            return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class LockConfiguration:
    """A lock bucket's configuration: enabled, and an optional default retention."""

    rule: DefaultRetention | None = None

    def dump(self) -> str:
        if self.rule is None:
            return "{}"
        rule = {"mode": self.rule.mode, "days": self.rule.days, "years": self.rule.years}
        return json.dumps({k: v for k, v in rule.items() if v is not None}, sort_keys=True)


def configuration(bucket: BucketRecord) -> LockConfiguration | None:
    text = bucket.settings.get(LOCK_SETTING)
    if text is None:
        return None
    rule = json.loads(text)
    if not rule:
        return LockConfiguration()
    return LockConfiguration(DefaultRetention(rule["mode"], rule.get("days"), rule.get("years")))


def bucket_settings() -> dict[str, str]:
    """The settings of a bucket created with Object Lock: versioning is on, for good."""
    return {versions.VERSIONING_SETTING: versions.ENABLED, LOCK_SETTING: "{}"}


async def get_object_lock_configuration(store: Store, bucket: str) -> LockConfiguration:
    found = configuration(await get_bucket(store, bucket))
    if found is None:
        raise ObjectLockConfigurationNotFound()
    return found


async def put_object_lock_configuration(
    store: Store, bucket: str, config: LockConfiguration
) -> None:
    """Enable Object Lock (a bucket with versioning Enabled may get it later, as S3 allows)
    and set or clear its default retention."""
    record = await get_bucket(store, bucket)
    if LOCK_SETTING not in record.settings and versions.status(record) != versions.ENABLED:
        raise InvalidBucketState(
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
        )
    await set_setting(store, bucket, LOCK_SETTING, config.dump())


def for_write(bucket: BucketRecord, requested: ObjectLock, moment: datetime) -> ObjectLock:
    """The lock state of a new version: what the write asked for, else the bucket's default
    retention; lock headers on a bucket without Object Lock are refused."""
    config = configuration(bucket)
    if config is None:
        if not requested.empty:
            raise InvalidRequest("Bucket is missing Object Lock Configuration")
        return NO_LOCK
    if requested.mode is None and config.rule is not None:
        return replace(
            requested,
            mode=config.rule.mode,
            until=mapping.truncate_to_millis(config.rule.until(moment)),
        )
    return requested


def keeps(record: ObjectRecord, moment: datetime) -> bool:
    """Whether Object Lock keeps the version from every delete (a lifecycle expiry's too)."""
    return record.lock.legal_hold or record.lock.retained(moment)


def check_delete(record: ObjectRecord, *, bypass: bool, moment: datetime) -> None:
    """A version under a legal hold, COMPLIANCE retention, or GOVERNANCE retention without
    the bypass, is not removed by anyone."""
    lock = record.lock
    if lock.legal_hold or (lock.retained(moment) and (lock.mode == COMPLIANCE or not bypass)):
        raise ObjectLocked()


async def _target(store: Store, bucket: str, key: str, version: str | None) -> ObjectRecord:
    """The version a request names (its ``versionId`` as sent), or the key's live object."""
    record_bucket = await get_bucket(store, bucket)
    if LOCK_SETTING not in record_bucket.settings:
        raise InvalidRequest("Bucket is missing Object Lock Configuration")
    if version is None:
        record = await store.index.get_object(bucket, key)
        if record is None:
            raise NoSuchKey()
        return record
    found = await store.index.get_version(bucket, key, version_ids.parse_version_id(version))
    if found is None:
        raise NoSuchVersion(version)
    if found.delete_marker:
        raise DeleteMarkerVersion(found.version, found.last_modified)
    return found


async def get_object_retention(
    store: Store, bucket: str, key: str, version: str | None
) -> ObjectLock:
    lock = (await _target(store, bucket, key, version)).lock
    if lock.mode is None:
        raise NoSuchObjectLockConfiguration()
    return lock


async def get_object_legal_hold(store: Store, bucket: str, key: str, version: str | None) -> bool:
    return (await _target(store, bucket, key, version)).lock.legal_hold


def _check_retention(current: ObjectLock, wanted: ObjectLock, *, bypass: bool) -> None:
    """Lengthening (same mode, a later or equal date) is always allowed; anything else while
    a retention runs needs the governance bypass (GOVERNANCE) or is never allowed
    (COMPLIANCE). https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html"""
    if not current.retained(datetime.now(UTC)):
        return
    assert current.until is not None
    if wanted.mode == current.mode and wanted.until is not None and wanted.until >= current.until:
        return
    if current.mode == COMPLIANCE or not bypass:
        raise ObjectLocked()


async def put_object_retention(
    store: Store,
    bucket: str,
    key: str,
    version: str | None,
    retention: tuple[str, datetime] | None,
    *,
    bypass: bool,
) -> None:
    """Set (or, with None, remove) one version's retention."""

    def change(current: ObjectLock) -> ObjectLock:
        mode, until = retention if retention is not None else (None, None)
        wanted = replace(current, mode=mode, until=until)
        _check_retention(current, wanted, bypass=bypass)
        return wanted

    await _change(store, bucket, key, version, change)


async def put_object_legal_hold(
    store: Store, bucket: str, key: str, version: str | None, on: bool
) -> None:
    await _change(store, bucket, key, version, lambda current: replace(current, legal_hold=on))


async def _change(
    store: Store,
    bucket: str,
    key: str,
    version: str | None,
    change: Callable[[ObjectLock], ObjectLock],
) -> None:
    """Under the key's lock: a lock manifest (a referrer of the version) to the registry,
    then the index row, then the lock manifest it replaces is deleted (best effort)."""
    location = mapping.locate(store.prefix, bucket, key)
    async with store.locks.hold((bucket, key)):
        record = await _target(store, bucket, key, version)
        wanted = change(record.lock)
        if replace(wanted, manifest=None) == replace(record.lock, manifest=None):
            return
        subject = await store.registry.get_manifest(location.repository, record.manifest_digest)
        created = mapping.truncate_to_millis(datetime.now(UTC))
        body = mapping.lock_manifest(record, len(subject.body), wanted, created)
        await store.registry.ensure_blob(
            location.repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST
        )
        pushed = await store.registry.push_referrer(location.repository, body)
        wanted = replace(wanted, manifest=pushed.digest)
        await store.index.set_lock(bucket, key, record.version_id, wanted)
        await versions.forget_lock(store, location.repository, record)
