"""Bucket lifecycle rules and the sweep that applies them, so CI buckets clean themselves.

A rule selects objects by prefix, tags and size, and expires them a number of days after
their creation (rounded up to the next day boundary, as S3 rounds to midnight UTC) or on a
date; it also aborts multipart uploads left incomplete for a number of days. Expiry of
noncurrent versions is kept with the rule for when versioning exists; with one live version
per key there is nothing for it to act on.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecyclemgmt-expire-general-considerations.html
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.domain import multipart, objectlock, objects
from gateway.domain.buckets import get_bucket
from gateway.domain.errors import NoSuchBucket, NoSuchUpload
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord

LIFECYCLE_SETTING = "lifecycle"  # the rules as JSON, in the bucket's settings
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Filter:
    """What a rule applies to; every part given must hold (S3's ``And``)."""

    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None

    def selects(self, key: str, size: int, tags: Mapping[str, str]) -> bool:
        if not key.startswith(self.prefix):
            return False
        if any(tags.get(name) != value for name, value in self.tags):
            return False
        if self.size_greater_than is not None and size <= self.size_greater_than:
            return False
        return self.size_less_than is None or size < self.size_less_than


@dataclass(frozen=True)
class Rule:
    id: str
    enabled: bool
    filter: Filter = field(default_factory=Filter)
    expiration_days: int | None = None
    expiration_date: datetime | None = None
    expired_object_delete_marker: bool = False  # for versioning: no delete markers yet
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_incomplete_days: int | None = None

    def expiry(self, created: datetime, day: timedelta = DAY) -> datetime | None:
        """When an object created at ``created`` expires under this rule (None: never)."""
        if self.expiration_date is not None:
            return self.expiration_date
        if self.expiration_days is None:
            return None
        return _next_boundary(created + self.expiration_days * day, day)

    def expires(self, record: ObjectRecord, moment: datetime, day: timedelta = DAY) -> bool:
        if not self.enabled or not self.filter.selects(record.key, record.size, record.tags):
            return False
        due = self.expiry(record.last_modified, day)
        return due is not None and due <= moment

    def aborts_before(self, moment: datetime, day: timedelta = DAY) -> datetime | None:
        """Incomplete uploads of this rule's prefix begun before this are due for abort:
        ``initiated + days`` rounded up to a day boundary is at or before ``moment``."""
        if not self.enabled or self.abort_incomplete_days is None:
            return None
        return _last_boundary(moment, day) - self.abort_incomplete_days * day + _TICK


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TICK = timedelta(milliseconds=1)  # the index keeps milliseconds


def _next_boundary(moment: datetime, day: timedelta) -> datetime:
    """Round up to a multiple of ``day`` since the epoch (midnight UTC for a day)."""
    return _EPOCH + math.ceil((moment - _EPOCH) / day) * day


def _last_boundary(moment: datetime, day: timedelta) -> datetime:
    return _EPOCH + math.floor((moment - _EPOCH) / day) * day


def dumps(rules: list[Rule]) -> str:
    def encode(rule: Rule) -> dict[str, object]:
        document = asdict(rule)
        if rule.expiration_date is not None:
            document["expiration_date"] = rule.expiration_date.isoformat()
        return document

    return json.dumps([encode(rule) for rule in rules], separators=(",", ":"))


def loads(text: str) -> list[Rule]:
    rules = []
    for document in json.loads(text):
        given = dict(document)
        given["filter"] = Filter(
            **{**given["filter"], "tags": tuple(map(tuple, given["filter"]["tags"]))}
        )
        if given.get("expiration_date"):
            given["expiration_date"] = datetime.fromisoformat(given["expiration_date"])
        rules.append(Rule(**given))
    return rules


async def get_rules(store: Store, bucket: str) -> list[Rule] | None:
    text = (await get_bucket(store, bucket)).settings.get(LIFECYCLE_SETTING)
    return loads(text) if text else None


def expiration(
    rules: list[Rule], record: ObjectRecord, day: timedelta = DAY
) -> tuple[datetime, str] | None:
    """The earliest expiry an enabled rule gives ``record``, with that rule's id (the
    ``x-amz-expiration`` header of GET, HEAD and PUT)."""
    dues = [
        (due, rule.id)
        for rule in rules
        if rule.enabled and rule.filter.selects(record.key, record.size, record.tags)
        for due in [rule.expiry(record.last_modified, day)]
        if due is not None
    ]
    return min(dues) if dues else None


@dataclass(frozen=True)
class Action:
    """One thing a sweep did: what, where and under which rule (for the audit log)."""

    kind: str  # "expire" (an object) or "abort" (an incomplete upload)
    bucket: str
    key: str
    rule: str


Report = Callable[[Action], Awaitable[None]]


@dataclass
class Sweeper:
    """Applies every bucket's rules, at most ``budget`` actions and ``page`` index rows per
    bucket and pass. It resumes each bucket's object scan where the last pass stopped, so a
    bucket of millions of keys is covered over several passes without one long stall; after
    a restart it starts over, which is harmless: expiring is idempotent."""

    store: Store
    report: Report
    day: timedelta = DAY
    budget: int = 1000
    page: int = 1000
    cursors: dict[str, str] = field(default_factory=dict)

    async def sweep(self, moment: datetime | None = None) -> int:
        moment = moment or datetime.now(UTC)
        done = 0
        for bucket in await self.store.index.list_buckets():
            text = bucket.settings.get(LIFECYCLE_SETTING)
            if not text:
                self.cursors.pop(bucket.name, None)
                continue
            rules = loads(text)
            try:
                done += await self._objects(bucket.name, rules, moment)
                done += await self._uploads(bucket.name, rules, moment)
            except NoSuchBucket:  # deleted meanwhile
                self.cursors.pop(bucket.name, None)
        return done

    async def _objects(self, bucket: str, rules: list[Rule], moment: datetime) -> int:
        if not any(r.enabled and (r.expiration_days or r.expiration_date) for r in rules):
            return 0
        rows = await self.store.index.scan(
            bucket, self.cursors.get(bucket, ""), inclusive=False, limit=self.page
        )
        done, last = 0, None
        for record in rows:
            last = record.key
            chosen = next((r for r in rules if r.expires(record, moment, self.day)), None)
            if chosen is None or objectlock.keeps(record, moment):
                continue  # a locked version is never expired
            if await objects.delete_object(
                self.store, bucket, record.key, only=record.manifest_digest
            ):
                await self.report(Action("expire", bucket, record.key, chosen.id))
                done += 1
            if done >= self.budget:
                break
        if last is None or (last == rows[-1].key and len(rows) < self.page):
            self.cursors.pop(bucket, None)  # the end: the next pass starts over
        else:
            self.cursors[bucket] = last
        return done

    async def _uploads(self, bucket: str, rules: list[Rule], moment: datetime) -> int:
        done = 0
        for rule in rules:
            before = rule.aborts_before(moment, self.day)
            if before is None:
                continue
            for upload in await self.store.index.stale_uploads(before):
                if upload.bucket != bucket or not upload.key.startswith(rule.filter.prefix):
                    continue
                if done >= self.budget:
                    return done
                try:
                    await multipart.abort_multipart_upload(
                        self.store, bucket, upload.key, upload.upload_id
                    )
                except NoSuchUpload:  # completed or aborted meanwhile
                    continue
                await self.report(Action("abort", bucket, upload.key, rule.id))
                done += 1
        return done
