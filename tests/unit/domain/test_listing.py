"""Listing: ``list_entries`` against a plain reference model, over a fake index and SQLite.

The model is the one the module's docstring defines: take every key under ``prefix``; roll
each key that has ``delimiter`` after the prefix up into its common prefix; sort the distinct
entries by code point; keep those strictly greater than ``after``; return the first
``max_keys``; the page is truncated iff more entries remain.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.lowlevel
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.listing import MAX_KEYS, ListPage, list_entries, successor
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord, Layer, ObjectRecord
from gateway.index.store import SqlIndex

BUCKET = "listed"
OTHER = "other"  # holds the same keys and more: a scan that ignores the bucket shows them
OTHER_ONLY = ("a", "a/b", "b-", "é", "\U0001f600")
WHEN = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
ALPHABET = "/-.abé\U0001f600"
# Code points where UTF-16 order, surrogate handling or the BMP boundary could go wrong.
MAX = "\U0010ffff"
BOUNDARY_ALPHABET = "/a\ud7ff\ue000\uffff\U00010000" + MAX


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# -- the reference model ---------------------------------------------------------------------


Entry = tuple[str, bool]  # (key or common prefix, is a common prefix)


@dataclass(frozen=True)
class Expected:
    entries: list[Entry]
    truncated: bool


def model(
    keys: Iterable[str], *, prefix: str, delimiter: str, after: str | None, max_keys: int
) -> Expected:
    kinds: dict[str, bool] = {}
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            kinds[prefix + rest[: rest.index(delimiter) + len(delimiter)]] = True
        else:
            kinds[key] = False
    ordered = sorted(entry for entry in kinds if after is None or entry > after)
    if max_keys <= 0:
        return Expected([], truncated=False)
    return Expected([(e, kinds[e]) for e in ordered[:max_keys]], len(ordered) > max_keys)


def entries_of(page: ListPage) -> list[Entry]:
    """The page's entries in order; also checks each list on its own is sorted and distinct."""
    keys = [record.key for record in page.objects]
    assert keys == sorted(set(keys))
    assert page.prefixes == sorted(set(page.prefixes))
    return sorted([(key, False) for key in keys] + [(p, True) for p in page.prefixes])


# -- the indexes under test ------------------------------------------------------------------


def record(bucket: str, key: str) -> ObjectRecord:
    data = key.encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="sha256:" + hashlib.sha256(bucket.encode() + data).hexdigest(),
        size=len(data),
        etag=f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"',
        last_modified=WHEN,
        layers=(Layer(digest=digest, size=len(data)),),
        headers={"Content-Type": "text/plain"},
        metadata={"key": key},
        checksums={"SHA256": digest},
    )


class FakeIndex:
    """``SqlIndex.scan`` over a dict: same bucket filter, bound, order and limit.

    Counts scans and rows read; more than ``max_scans`` scans fails the test (a listing that
    does not advance would otherwise loop forever).
    """

    def __init__(self, records: Iterable[ObjectRecord], max_scans: int = 10_000) -> None:
        self.records = {(r.bucket, r.key): r for r in records}
        self.max_scans = max_scans
        self.scans = 0
        self.rows = 0

    async def scan(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        self.scans += 1
        if self.scans > self.max_scans:
            raise AssertionError(f"more than {self.max_scans} scans: the listing does not advance")
        await anyio.lowlevel.checkpoint()
        keys = sorted(
            key
            for owner, key in self.records
            if owner == bucket and (key >= start if inclusive else key > start)
        )
        found = [self.records[bucket, key] for key in keys[:limit]]
        self.rows += len(found)
        return found


def store_over(index: object) -> Store:
    return Store(registry=cast(Any, None), index=cast(Any, index))


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    """One event loop in a thread for the module: hypothesis drives it from sync tests."""
    with start_blocking_portal("asyncio") as running:
        yield running


class Lister:
    """Loads a key set into one backend, then lists it with ``list_entries``."""

    def __init__(self, portal: BlockingPortal, sql: SqlIndex | None) -> None:
        self.portal = portal
        self.sql = sql
        self.index: FakeIndex | SqlIndex | None = None
        self.records: dict[str, ObjectRecord] = {}

    def load(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        self.records = {key: record(BUCKET, key) for key in keys}
        everything = [*self.records.values()] + [record(OTHER, key) for key in {*keys, *OTHER_ONLY}]
        if self.sql is None:
            self.index = FakeIndex(everything)
            return
        buckets = [BucketRecord(name=BUCKET, created=WHEN), BucketRecord(name=OTHER, created=WHEN)]
        self.portal.call(self.sql.replace_all, buckets, everything)
        self.index = self.sql

    def list(self, **options: Any) -> ListPage:
        page = self.portal.call(
            functools.partial(list_entries, store_over(self.index), BUCKET, **options)
        )
        for found in page.objects:  # the very records of this bucket, read back intact
            assert found == self.records[found.key]
        return page


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def lister(
    request: pytest.FixtureRequest,
    portal: BlockingPortal,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Lister]:
    if request.param == "memory":
        yield Lister(portal, None)
        return
    path = tmp_path_factory.mktemp("listing") / "index.db"
    index = portal.call(SqlIndex.open, f"sqlite+aiosqlite:///{path}")
    try:
        yield Lister(portal, index)
    finally:
        portal.call(index.close)


# -- properties ------------------------------------------------------------------------------


def keys_from(alphabet: str) -> st.SearchStrategy[set[str]]:
    return st.sets(st.text(alphabet, min_size=1, max_size=8), max_size=24)


def delimiters_from(alphabet: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""), st.sampled_from(list(alphabet)), st.text(alphabet, min_size=2, max_size=3)
    )


def afters_from(alphabet: str) -> st.SearchStrategy[str | None]:
    return st.none() | st.text(alphabet, max_size=8)


def check_page(lister: Lister, keys: set[str], **options: Any) -> None:
    lister.load(keys)
    expected = model(keys, **options)
    page = lister.list(**options)
    assert entries_of(page) == expected.entries
    assert page.truncated == expected.truncated
    assert page.count == len(expected.entries)
    assert page.last == (expected.entries[-1][0] if expected.entries else None)


@settings(max_examples=120, deadline=None)
@given(
    keys=keys_from(ALPHABET),
    prefix=st.text(ALPHABET, max_size=3),
    delimiter=delimiters_from(ALPHABET),
    after=afters_from(ALPHABET),
    max_keys=st.integers(0, 7),
)
def test_page_matches_the_model(
    lister: Lister, keys: set[str], prefix: str, delimiter: str, after: str | None, max_keys: int
) -> None:
    check_page(lister, keys, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)


@settings(max_examples=40, deadline=None)
@given(
    keys=keys_from(BOUNDARY_ALPHABET),
    prefix=st.text(BOUNDARY_ALPHABET, max_size=2),
    delimiter=delimiters_from(BOUNDARY_ALPHABET),
    after=afters_from(BOUNDARY_ALPHABET),
    max_keys=st.integers(0, 7),
)
def test_page_matches_the_model_around_surrogates_and_the_bmp(
    lister: Lister, keys: set[str], prefix: str, delimiter: str, after: str | None, max_keys: int
) -> None:
    check_page(lister, keys, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)


@settings(max_examples=80, deadline=None)
@given(
    keys=keys_from(ALPHABET),
    prefix=st.text(ALPHABET, max_size=2),
    delimiter=delimiters_from(ALPHABET),
    start_after=afters_from(ALPHABET),
    max_keys=st.integers(1, 7),
)
def test_paginating_after_the_last_entry_visits_everything_once_in_order(
    lister: Lister,
    keys: set[str],
    prefix: str,
    delimiter: str,
    start_after: str | None,
    max_keys: int,
) -> None:
    lister.load(keys)
    everything = model(
        keys, prefix=prefix, delimiter=delimiter, after=start_after, max_keys=len(keys) + 1
    )
    seen: list[Entry] = []
    after = start_after
    for _ in range(len(keys) + 2):
        page = lister.list(prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys)
        entries = entries_of(page)
        if page.truncated:
            assert len(entries) == max_keys
            assert page.last is not None
            assert after is None or page.last > after  # always advances
        seen.extend(entries)
        if not page.truncated:
            break
        after = page.last
    else:
        pytest.fail("pagination did not end")
    assert seen == everything.entries
    assert not everything.truncated


# -- examples --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_max_keys_zero_is_an_empty_untruncated_page() -> None:
    index = FakeIndex([record(BUCKET, "a"), record(BUCKET, "b/c")])
    page = await list_entries(store_over(index), BUCKET, delimiter="/", max_keys=0)
    assert page == ListPage(objects=[], prefixes=[], truncated=False, last=None)
    assert index.scans == 0


@pytest.mark.anyio
async def test_delimiter_rolls_up_and_objects_and_prefixes_are_kept_apart() -> None:
    keys = ["a.txt", "dir/x", "dir/y/z", "dir2/", "photos/2024/1.jpg", "photos/2024/2.jpg"]
    index = FakeIndex([record(BUCKET, k) for k in keys])
    page = await list_entries(store_over(index), BUCKET, delimiter="/")
    assert [r.key for r in page.objects] == ["a.txt"]
    assert page.prefixes == ["dir/", "dir2/", "photos/"]
    assert not page.truncated
    assert page.last == "photos/"

    nested = await list_entries(store_over(index), BUCKET, prefix="photos/", delimiter="/")
    assert nested.prefixes == ["photos/2024/"]
    assert nested.objects == []


@pytest.mark.anyio
async def test_a_common_prefix_is_skipped_over_not_read_through() -> None:
    keys = [f"big/{n:04d}" for n in range(3000)] + ["zzz"]
    index = FakeIndex([record(BUCKET, k) for k in keys])
    page = await list_entries(store_over(index), BUCKET, delimiter="/", max_keys=2)
    assert page.prefixes == ["big/"]
    assert [r.key for r in page.objects] == ["zzz"]
    assert not page.truncated
    assert index.rows <= 2 * 3  # one batch of max_keys + 1 per entry, not 3000 rows


@pytest.mark.anyio
async def test_pages_larger_than_one_scan_batch() -> None:
    keys = [f"k{n:05d}" for n in range(MAX_KEYS + 600)]
    index = FakeIndex([record(BUCKET, k) for k in keys])
    first = await list_entries(store_over(index), BUCKET, max_keys=MAX_KEYS + 200)
    assert [r.key for r in first.objects] == keys[: MAX_KEYS + 200]
    assert first.truncated
    rest = await list_entries(store_over(index), BUCKET, after=first.last, max_keys=MAX_KEYS)
    assert [r.key for r in rest.objects] == keys[MAX_KEYS + 200 :]
    assert not rest.truncated


@pytest.mark.anyio
async def test_sqlite_scan_orders_by_code_point_not_utf16(tmp_path: Path) -> None:
    # UTF-16 would put U+10000 (a surrogate pair, 0xD800...) before U+FFFF; S3 does not.
    keys = ["\U00010000", "\uffff", "\ue000", "z", "é", "\U0001f600"]
    index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    try:
        await index.create_bucket(BucketRecord(name=BUCKET, created=WHEN))
        for key in keys:
            await index.put_object(record(BUCKET, key))
        scanned = await index.scan(BUCKET, "", inclusive=True, limit=100)
        assert [r.key for r in scanned] == [
            "z",
            "é",
            "\ue000",
            "\uffff",
            "\U00010000",
            "\U0001f600",
        ]
        assert scanned[0] == record(BUCKET, "z")
        after = await index.scan(BUCKET, "\uffff", inclusive=False, limit=1)
        assert [r.key for r in after] == ["\U00010000"]
    finally:
        await index.close()


@pytest.mark.parametrize(
    ("keys", "options"),
    [
        pytest.param([MAX], {"delimiter": MAX}, id="one-key"),
        pytest.param([MAX, MAX + "a", "b"], {"delimiter": MAX, "max_keys": 5}, id="duplicates"),
        pytest.param([MAX + "a", "b"], {"delimiter": MAX, "after": MAX}, id="resume-loops"),
    ],
)
@pytest.mark.anyio
async def test_common_prefix_of_the_last_code_point_ends_the_listing(
    keys: list[str], options: dict[str, Any]
) -> None:
    # Regression: a common prefix made only of U+10FFFF has no successor; rescanning from
    # the prefix itself listed it again and again, and resuming after it looped forever.
    index = FakeIndex([record(BUCKET, k) for k in keys], max_scans=50)
    page = await list_entries(store_over(index), BUCKET, **options)
    expected = model(
        keys,
        prefix="",
        delimiter=MAX,
        after=options.get("after"),
        max_keys=options.get("max_keys", MAX_KEYS),
    )
    assert entries_of(page) == expected.entries
    assert page.truncated == expected.truncated


# -- successor -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", "b"),
        ("a/", "a0"),
        ("photos/2024/", "photos/20240"),
        ("é", "ê"),
        ("\U0001f600", "\U0001f601"),
        ("\ud7ff", "\ue000"),  # the surrogates cannot be stored: skip past them
        ("ab" + MAX, "ac"),
        ("a" + MAX + MAX, "b"),
        ("\uffff", "\U00010000"),
    ],
)
def test_successor(text: str, expected: str) -> None:
    assert successor(text) == expected


@pytest.mark.parametrize("text", ["", MAX, MAX * 3])
def test_no_successor_past_the_last_code_point(text: str) -> None:
    assert successor(text) is None


SUCCESSOR_ALPHABET = "\x00a/\ud7ff\ue000\uffff\U00010000" + MAX


@settings(max_examples=200, deadline=None)
@given(data=st.data(), text=st.text(SUCCESSOR_ALPHABET, min_size=1, max_size=5))
def test_successor_is_the_least_bound_of_the_prefix_range(data: st.DataObject, text: str) -> None:
    bound = successor(text)
    if set(text) == {MAX}:
        assert bound is None  # no string is greater than every extension of U+10FFFF...
        return
    assert bound is not None
    assert bound > text
    assert not bound.startswith(text)
    suffix = st.text(SUCCESSOR_ALPHABET, max_size=5)
    other = data.draw(st.one_of(suffix, suffix.map(lambda s: text + s)))
    if other.startswith(text):
        assert other < bound
    elif other > text:
        assert other >= bound  # nothing outside the range sits between text and its bound
