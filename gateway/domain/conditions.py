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

    @property
    def conditional(self) -> bool:
        """Whether the write depends on the key's state (so must not wait for another's)."""
        return self.if_match is not None or self.if_none_match is not None


def _etags(header: str, *, weak: bool) -> set[str]:
    """The entity-tags of a list, quotes dropped (S3 also takes them unquoted). A weak tag
    (``W/"..."``) counts only for the weak comparison (RFC 9110 §8.8.3.2)."""
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            if not weak:
                continue
            tag = tag[2:]
        if tag:
            tags.add(tag.strip('"'))
    return tags


def etag_matches(header: str, etag: str, *, weak: bool = True) -> bool:
    """If-None-Match compares weakly (§13.1.2), If-Match strongly (§13.1.1)."""
    tags = _etags(header, weak=weak)
    return "*" in tags or etag.strip('"') in tags


CACHING = ("Cache-Control", "Expires")  # the stored headers a 304 carries too


def _not_modified(record: ObjectRecord) -> NotModified:
    caching = {name: record.headers[name] for name in CACHING if name in record.headers}
    return NotModified(record.etag, record.last_modified, caching)


def _seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def check_read(conditions: ReadConditions, record: ObjectRecord) -> None:
    """RFC 9110 §13.2.2 for GET and HEAD: a failed If-Match (or, without it, a failed
    If-Unmodified-Since) is 412; then a failed If-None-Match (or, without it, a failed
    If-Modified-Since) is 304. S3's two documented exceptions are this order's consequences."""
    modified = _seconds(record.last_modified)
    if conditions.if_match is not None:
        if not etag_matches(conditions.if_match, record.etag, weak=False):
            raise PreconditionFailed("If-Match")
    elif conditions.if_unmodified_since is not None and modified > conditions.if_unmodified_since:
        raise PreconditionFailed("If-Unmodified-Since")
    if conditions.if_none_match is not None:
        if etag_matches(conditions.if_none_match, record.etag):
            raise _not_modified(record)
    elif conditions.if_modified_since is not None and modified <= conditions.if_modified_since:
        raise _not_modified(record)


COPY_SOURCE = "x-amz-copy-source-"


def check_copy_source(conditions: ReadConditions, record: ObjectRecord) -> None:
    """The ``x-amz-copy-source-if-*`` headers of CopyObject and UploadPartCopy: the order of
    :func:`check_read`, but every failure is 412 (a copy has nothing to leave unmodified):
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
    try:
        check_read(conditions, record)
    except PreconditionFailed as exc:
        raise PreconditionFailed(COPY_SOURCE + exc.condition) from exc
    except NotModified as exc:
        failed = "If-None-Match" if conditions.if_none_match is not None else "If-Modified-Since"
        raise PreconditionFailed(COPY_SOURCE + failed) from exc


def check_write(conditions: WriteConditions, current: ObjectRecord | None) -> None:
    """Evaluated under the key's lock, right before the commit, so it is atomic."""
    none_match = conditions.if_none_match
    if none_match is not None and current is not None and etag_matches(none_match, current.etag):
        raise PreconditionFailed("If-None-Match")
    if conditions.if_match is not None:
        if current is None:
            raise NoSuchKey()
        if not etag_matches(conditions.if_match, current.etag, weak=False):
            raise PreconditionFailed("If-Match")


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
