"""Listing keys with prefix, delimiter and pagination, over the index's ordered scan.

The result is defined by a plain model (tests/unit/domain/test_listing.py checks it with
hypothesis): take every key under ``prefix``; roll each key that has ``delimiter`` after the
prefix up into its common prefix; sort the distinct entries; return the first ``max_keys``
entries strictly greater than ``after``. Resuming after the last entry returned therefore
always advances and never skips or repeats anything.
"""

from __future__ import annotations

import sys
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


async def list_entries(
    store: Store,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    after: str | None = None,
    max_keys: int = MAX_KEYS,
) -> ListPage:
    page = ListPage()
    if max_keys <= 0:
        return page
    cursor, inclusive = prefix, True
    if after is not None and after >= prefix:
        cursor, inclusive = after, False
    batch_size = min(max_keys + 1, MAX_KEYS + 1)
    while True:
        batch = await store.index.scan(bucket, cursor, inclusive=inclusive, limit=batch_size)
        if not batch:
            return page
        rescan = False
        for record in batch:
            key = record.key
            if not key.startswith(prefix):
                return page  # past the prefix's range: keys are sorted
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                if page.count == max_keys:
                    page.truncated = True
                    return page
                page.objects.append(record)
                page.last = key
                continue
            common = key[: cut + len(delimiter)]
            if after is None or common > after:
                if page.count == max_keys:
                    page.truncated = True
                    return page
                page.prefixes.append(common)
                page.last = common
            following = successor(common)
            if following is None:
                return page  # every key left starts with this common prefix
            cursor, inclusive, rescan = following, True, True
            break
        if not rescan:
            if len(batch) < batch_size:
                return page
            cursor, inclusive = batch[-1].key, False


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
    page = VersionPage()
    if max_keys <= 0:
        return page
    after = key_marker or None
    cursor, inclusive = prefix, True
    skipping = False  # inside key_marker, before version_marker
    if after is not None and after >= prefix:
        cursor, inclusive = after, bool(version_marker)
        skipping = bool(version_marker)
    batch_size = min(max_keys + 1, MAX_KEYS + 1)
    while True:
        batch = await store.index.scan_versions(
            bucket, cursor, inclusive=inclusive, limit=batch_size
        )
        if not batch:
            return page
        rescan, previous = False, None
        for record in batch:
            key = record.key
            latest = key != previous
            previous = key
            if not key.startswith(prefix):
                return page
            if skipping:
                if key != after:
                    skipping = False
                else:
                    if record.version == version_marker:
                        skipping = False
                    continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                if page.count == max_keys:
                    page.truncated = True
                    return page
                page.entries.append((record, latest))
                page.next_key, page.next_version = key, record.version
                continue
            common = key[: cut + len(delimiter)]
            if after is None or common > after:
                if page.count == max_keys:
                    page.truncated = True
                    return page
                page.prefixes.append(common)
                page.next_key, page.next_version = common, None
            following = successor(common)
            if following is None:
                return page
            cursor, inclusive, rescan = following, True, True
            break
        if not rescan:
            if len({record.key for record in batch}) < batch_size:
                return page
            cursor, inclusive = batch[-1].key, False
