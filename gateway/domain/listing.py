"""Listing keys with prefix, delimiter and pagination, over the index's ordered scan.

The result is defined by a plain model (tests/unit/domain/test_listing.py checks it with
hypothesis): take every key under ``prefix``; roll each key that has ``delimiter`` after the
prefix up into its common prefix; sort the distinct entries; return the first ``max_keys``
entries strictly greater than ``after``. Resuming after the last entry returned therefore
always advances and never skips or repeats anything. ListObjectVersions is the same walk
over every version of each key (a key's versions newest first), resumable inside a key.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord

MAX_KEYS = 1000


@dataclass
class ListPage:
    objects: list[ObjectRecord] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None  # the last entry returned: where the next page starts after

    @property
    def count(self) -> int:
        return len(self.objects) + len(self.prefixes)


def successor(text: str) -> str | None:
    """The smallest string greater than every string that starts with ``text``; None when
    there is none (``text`` is all U+10FFFF, the last code point)."""
    while text:
        code = ord(text[-1]) + 1
        if 0xD800 <= code <= 0xDFFF:  # surrogates cannot be stored; skip past them
            code = 0xE000
        if code <= sys.maxunicode:
            return text[:-1] + chr(code)
        text = text[:-1]
    return None


Scan = Callable[[str, bool, int], Awaitable[list[ObjectRecord]]]
"""(start, inclusive, limit) -> the records of up to ``limit`` keys from ``start`` on, in key
order, a key's records together (``ObjectIndex.scan``, ``VersionIndex.scan_versions``)."""


@dataclass
class _Walk:
    """What one page's walk gathered: records (each with whether it is the first its key
    gave: its newest version), common prefixes, and the last of either."""

    entries: list[tuple[ObjectRecord, bool]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: ObjectRecord | str | None = None

    def room(self, max_keys: int) -> bool:
        """Whether one more item fits; if not, there is more to list: truncated."""
        self.truncated = len(self.entries) + len(self.prefixes) == max_keys
        return not self.truncated


async def _walk(
    scan: Scan,
    *,
    prefix: str,
    delimiter: str,
    after: str | None,
    max_keys: int,
    version_marker: str = "",
) -> _Walk:
    """The first ``max_keys`` items (records, and common prefixes ``delimiter`` folds keys
    into) under ``prefix`` after ``after``: after all of its records, or with
    ``version_marker``, after that one of its versions. The index is read in batches of at
    most ``max_keys + 1`` keys; a common prefix is skipped over, not read through."""
    walk = _Walk()
    if max_keys <= 0:
        return walk
    cursor, inclusive, skipping = prefix, True, False
    if after is not None and after >= prefix:
        # With a version marker, ``after``'s own versions are read and skipped up to it.
        cursor, inclusive, skipping = after, bool(version_marker), bool(version_marker)
    batch_size = min(max_keys + 1, MAX_KEYS + 1)
    while True:
        batch = await scan(cursor, inclusive, batch_size)
        if not batch:
            return walk
        rescan, previous = False, None
        for record in batch:
            key = record.key
            first, previous = key != previous, key
            if not key.startswith(prefix):
                return walk  # past the prefix's range: keys are sorted
            if skipping and key == after:
                skipping = record.version != version_marker
                continue
            skipping = False
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                if not walk.room(max_keys):
                    return walk
                walk.entries.append((record, first))
                walk.last = record
                continue
            common = key[: cut + len(delimiter)]
            if after is None or common > after:
                if not walk.room(max_keys):
                    return walk
                walk.prefixes.append(common)
                walk.last = common
            following = successor(common)
            if following is None:
                return walk  # every key left starts with this common prefix
            cursor, inclusive, rescan = following, True, True
            break
        if not rescan:
            if len({record.key for record in batch}) < batch_size:
                return walk
            cursor, inclusive = batch[-1].key, False


async def list_entries(
    store: Store,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    after: str | None = None,
    max_keys: int = MAX_KEYS,
) -> ListPage:
    async def scan(start: str, inclusive: bool, limit: int) -> list[ObjectRecord]:
        return await store.index.scan(bucket, start, inclusive=inclusive, limit=limit)

    walk = await _walk(scan, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
    last = walk.last.key if isinstance(walk.last, ObjectRecord) else walk.last
    return ListPage([record for record, _ in walk.entries], walk.prefixes, walk.truncated, last)


@dataclass
class VersionPage:
    """One page of ListObjectVersions: versions and delete markers (with whether each is its
    key's latest), common prefixes, and where the next page starts."""

    entries: list[tuple[ObjectRecord, bool]] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    next_key: str | None = None
    next_version: str | None = None  # None after a common prefix

    @property
    def count(self) -> int:
        return len(self.entries) + len(self.prefixes)


async def list_versions(
    store: Store,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_marker: str = "",
    max_keys: int = MAX_KEYS,
) -> VersionPage:
    """Every version of every key under ``prefix``, keys in order and each key's versions
    newest first, keys with ``delimiter`` after the prefix rolled up into common prefixes.
    Resumes after ``key_marker`` (all its versions), or, with ``version_marker``, after that
    version of ``key_marker``.
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html"""

    async def scan(start: str, inclusive: bool, limit: int) -> list[ObjectRecord]:
        return await store.index.scan_versions(bucket, start, inclusive=inclusive, limit=limit)

    walk = await _walk(
        scan,
        prefix=prefix,
        delimiter=delimiter,
        after=key_marker or None,
        max_keys=max_keys,
        version_marker=version_marker,
    )
    page = VersionPage(walk.entries, walk.prefixes, walk.truncated)
    if isinstance(walk.last, ObjectRecord):
        page.next_key, page.next_version = walk.last.key, walk.last.version
    else:
        page.next_key = walk.last
    return page
