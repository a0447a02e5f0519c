"""Conditional requests (RFC 9110 §13) as S3 evaluates them, and byte ranges.

S3: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (If-Match true and
If-Unmodified-Since false -> 200; If-None-Match false and If-Modified-Since true -> 304),
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.errors import InvalidRange, NoSuchKey, NotModified, PreconditionFailed
from gateway.domain.values import ObjectRecord


@dataclass(frozen=True)
class ReadConditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    if_unmodified_since: datetime | None = None


@dataclass(frozen=True)
class WriteConditions:
    if_match: str | None = None
    if_none_match: str | None = None  # only "*" is meaningful for writes


def _etags(header: str) -> set[str]:
    return {
        part.strip().removeprefix("W/").strip('"') for part in header.split(",") if part.strip()
    }


def etag_matches(header: str, etag: str) -> bool:
    tags = _etags(header)
    return "*" in tags or etag.strip('"') in tags


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def check_read(conditions: ReadConditions, record: ObjectRecord) -> None:
    modified = _seconds(record.last_modified)
    if conditions.if_match is not None:
        if not etag_matches(conditions.if_match, record.etag):
            raise PreconditionFailed()
    elif conditions.if_unmodified_since is not None and modified > conditions.if_unmodified_since:
        raise PreconditionFailed()
    if conditions.if_none_match is not None:
        if etag_matches(conditions.if_none_match, record.etag):
            raise NotModified()
    elif conditions.if_modified_since is not None and modified <= conditions.if_modified_since:
        raise NotModified()


def check_write(conditions: WriteConditions, current: ObjectRecord | None) -> None:
    """Evaluated under the key's lock, right before the commit, so it is atomic."""
    none_match = conditions.if_none_match
    if none_match is not None and current is not None and etag_matches(none_match, current.etag):
        raise PreconditionFailed()
    if conditions.if_match is not None:
        if current is None:
            raise NoSuchKey()
        if not etag_matches(conditions.if_match, current.etag):
            raise PreconditionFailed()


@dataclass(frozen=True)
class RangeRequest:
    """``bytes=first-last``, ``bytes=first-`` or ``bytes=-suffix`` (one range, as S3 serves)."""

    first: int | None
    last: int | None

    def resolve(self, size: int) -> tuple[int, int]:
        """The inclusive byte span this range selects of an object of ``size`` bytes."""
        if self.first is None:
            suffix = self.last or 0
            if suffix == 0 or size == 0:
                raise InvalidRange(size)
            return max(0, size - suffix), size - 1
        if self.first >= size:
            raise InvalidRange(size)
        last = size - 1 if self.last is None else min(self.last, size - 1)
        return self.first, last
