"""Bucket lifecycle rules, so CI buckets clean themselves: what a rule selects and what it
does to a key's versions (``plan``); domain/sweeper.py applies them in the background.

A rule selects versions by key prefix, tags and size (a delete marker has neither tags nor
size, so only a rule without tag and size conditions selects it) and:

- expires the current version a number of days after its creation (rounded up to the next
  day boundary, as S3 rounds to midnight UTC) or on a date. A bucket never versioned loses
  the object; a versioning-Enabled bucket gets a delete marker (the version becomes
  noncurrent), a Suspended one a null delete marker (replacing the null version). A key
  whose current version is already a delete marker is left alone, unless that marker is
  all the key has left and is itself as old as the rule says: then it goes (S3 cleans up
  expired object delete markers with Days/Date);
- removes such an expired object delete marker as soon as it is one
  (``ExpiredObjectDeleteMarker``);
- removes noncurrent versions ``NoncurrentDays`` after they became noncurrent: the creation
  of the next newer version, rounded up as above; with ``NewerNoncurrentVersions`` N, the N
  newest noncurrent versions stay, due or not. A noncurrent delete marker counts as a
  noncurrent version (S3 does not say; our reading);
- aborts multipart uploads left incomplete for a number of days.

A version Object Lock keeps is never removed (a delete marker may still be put over it, as
S3 does). https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.domain import objectlock, versions
from gateway.domain.buckets import get_bucket
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

    def selects_version(self, record: ObjectRecord) -> bool:
        """A version by its own tags and size; a delete marker has neither, so a condition
        on tags or size never selects one (S3 does not document it; this is our reading)."""
        if record.delete_marker:
            sized = self.size_greater_than is not None or self.size_less_than is not None
            return record.key.startswith(self.prefix) and not self.tags and not sized
        return self.selects(record.key, record.size, record.tags)


@dataclass(frozen=True)
class Rule:
    id: str
    enabled: bool
    filter: Filter = field(default_factory=Filter)
    expiration_days: int | None = None
    expiration_date: datetime | None = None
    expired_object_delete_marker: bool = False
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
        """Whether the current version ``record`` is due (a delete marker: whether it has
        aged past Days or Date, which removes it once it is all its key has left)."""
        if not self.enabled or not self.filter.selects_version(record):
            return False
        due = self.expiry(record.last_modified, day)
        return due is not None and due <= moment

    def removes_marker(self, marker: ObjectRecord, moment: datetime, day: timedelta = DAY) -> bool:
        """Whether an expired object delete marker (all its key has left) goes: at once with
        ``ExpiredObjectDeleteMarker``, else when Days or Date would expire it."""
        if self.enabled and self.expired_object_delete_marker:
            return self.filter.selects_version(marker)
        return self.expires(marker, moment, day)

    def expires_noncurrent(
        self,
        version: ObjectRecord,
        since: datetime,
        newer: int,
        moment: datetime,
        day: timedelta = DAY,
    ) -> bool:
        """Whether a version noncurrent ``since`` (its successor's creation), with ``newer``
        noncurrent versions newer than it, is due for removal."""
        if not self.enabled or self.noncurrent_days is None:
            return False
        if self.newer_noncurrent_versions is not None and newer < self.newer_noncurrent_versions:
            return False
        if not self.filter.selects_version(version):
            return False
        return _next_boundary(since + self.noncurrent_days * day, day) <= moment

    @property
    def acts_on_versions(self) -> bool:
        """Whether the rule has anything to do to a key of a versioned bucket."""
        current = self.expiration_days is not None or self.expiration_date is not None
        return self.enabled and (
            current or self.expired_object_delete_marker or self.noncurrent_days is not None
        )

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


# What a sweep does: the kinds of its actions.
EXPIRE = "expire"  # the current version: deleted, or hidden by a new delete marker
NONCURRENT = "expire-noncurrent"  # a noncurrent version, removed for good
MARKER = "remove-marker"  # an expired object delete marker, removed for good
ABORT = "abort"  # an incomplete multipart upload


@dataclass(frozen=True)
class Due:
    """One thing the rules do to one version of a key of a versioned bucket."""

    kind: str  # EXPIRE (a delete marker goes over it), NONCURRENT or MARKER
    version: ObjectRecord
    rule: str


def plan(
    rules: list[Rule],
    history: list[ObjectRecord],
    moment: datetime,
    day: timedelta = DAY,
    state: str = versions.ENABLED,
) -> list[Due]:
    """What ``rules`` do at ``moment`` to a key of a bucket whose versioning is ``state``,
    given its versions newest first, in the order to do it: noncurrent versions oldest
    first (so each one's successor, which dates it, is still there when it goes), then the
    current version. The first enabled rule (in the configuration's order) that acts names
    the action. A version Object Lock keeps is never removed."""
    if not history:
        return []
    steps: list[Due] = []
    for index in range(len(history) - 1, 0, -1):
        version, successor = history[index], history[index - 1]
        if objectlock.keeps(version, moment):
            continue
        newer = index - 1  # the noncurrent versions newer than this one
        since = successor.last_modified
        chosen = next(
            (r for r in rules if r.expires_noncurrent(version, since, newer, moment, day)), None
        )
        if chosen is not None:
            steps.append(Due(NONCURRENT, version, chosen.id))
    current = history[0]
    if current.delete_marker:
        if len(steps) == len(history) - 1:  # nothing else left: an expired object delete marker
            chosen = next((r for r in rules if r.removes_marker(current, moment, day)), None)
            if chosen is not None:
                steps.append(Due(MARKER, current, chosen.id))
        return steps
    chosen = next((r for r in rules if r.expires(current, moment, day)), None)
    if chosen is not None and not _replaces_locked(history, moment, state):
        steps.append(Due(EXPIRE, current, chosen.id))
    return steps


def _replaces_locked(history: list[ObjectRecord], moment: datetime, state: str) -> bool:
    """A Suspended bucket's delete marker replaces the key's null version for good; not one
    Object Lock keeps (Enabled: the marker goes over a locked version, which stays)."""
    return state != versions.ENABLED and any(
        entry.version_id is None and objectlock.keeps(entry, moment) for entry in history
    )
