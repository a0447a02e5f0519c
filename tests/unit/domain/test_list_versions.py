"""ListObjectVersions paging: ``list_versions`` against a plain model, over the fake index of
``fakes.py`` (its version methods are held to ``SqlIndex``'s by the last property here).

The model: every version of every key under ``prefix`` (objects and delete markers; null
versions among them), each key that has ``delimiter`` after the prefix rolled up into its
common prefix; items in order of their name (key or common prefix), a key's versions newest
first, only its newest one ``IsLatest``. Paging through with the next key and version-id
markers must give exactly that sequence, each item once, every page but the last full and
truncated; resuming after any item gives exactly the items after it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.listing import VersionPage, list_versions
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord, Layer, ObjectLock, ObjectRecord
from gateway.index.store import SqlIndex
from tests.unit.domain.fakes import FakeIndex, Faults

BUCKET = "versions"
OTHER = "other"  # the same keys' versions again: a scan that ignores the bucket shows them
ALPHABET = "/ab"
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

# (name, version id, IsLatest, delete marker); a common prefix is (prefix, None, False, False)
Item = tuple[str, str | None, bool, bool]
# A key's versions, newest first: (is a delete marker, is the null version).
History = list[tuple[bool, bool]]


@pytest.fixture(scope="module")
def portal() -> Iterator[BlockingPortal]:
    with start_blocking_portal("asyncio") as running:
        yield running


def version(bucket: str, key: str, age: int, marker: bool, version_id: str | None) -> ObjectRecord:
    data = f"{key}@{version_id}".encode()
    return ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="sha256:" + hashlib.sha256(bucket.encode() + data).hexdigest(),
        size=0 if marker else len(data),
        etag="" if marker else f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"',
        last_modified=WHEN - timedelta(milliseconds=age),
        layers=() if marker else (Layer("sha256:" + hashlib.sha256(data).hexdigest(), len(data)),),
        version_id=version_id,
        delete_marker=marker,
    )


def records(
    bucket: str, histories: dict[str, History]
) -> tuple[list[ObjectRecord], list[ObjectRecord]]:
    """(live objects, other versions) as the index keeps them: a key's newest version is its
    live object unless it is a delete marker. Version ids are 32 hex digits, unique."""
    live: list[ObjectRecord] = []
    older: list[ObjectRecord] = []
    serial = 0
    for key, history in sorted(histories.items()):
        for age, (marker, null) in enumerate(history):
            serial += 1
            record = version(bucket, key, age, marker, None if null else f"{serial:032x}")
            (live if age == 0 and not marker else older).append(record)
    return live, older


def model(histories: dict[str, History], prefix: str, delimiter: str) -> list[Item]:
    entries: dict[str, list[Item]] = {}
    live, older = records(BUCKET, histories)
    by_key: dict[str, list[ObjectRecord]] = {}
    for record in sorted(live + older, key=lambda r: r.last_modified, reverse=True):
        by_key.setdefault(record.key, []).append(record)
    for key, found in by_key.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            entries[common] = [(common, None, False, False)]
        else:
            entries[key] = [(key, r.version, n == 0, r.delete_marker) for n, r in enumerate(found)]
    return [item for name in sorted(entries) for item in entries[name]]


def items_of(page: VersionPage) -> list[Item]:
    """The page's items in listing order (versions and prefixes merged by name; a key's
    versions keep their order); each list on its own must be in order already."""
    versions: list[Item] = [
        (r.key, r.version, latest, r.delete_marker) for r, latest in page.entries
    ]
    assert [v[0] for v in versions] == sorted(v[0] for v in versions)
    assert page.prefixes == sorted(set(page.prefixes))
    prefixes: list[Item] = [(p, None, False, False) for p in page.prefixes]
    return sorted(versions + prefixes, key=lambda item: item[0])


def store_over(bucket_histories: dict[str, History]) -> Store:
    """A store whose fake index holds ``bucket_histories`` in BUCKET (and again, with one more
    key, in OTHER)."""
    index = FakeIndex(Faults())
    for bucket, extra in ((BUCKET, {}), (OTHER, {"a": [(False, True)]})):
        live, older = records(bucket, {**bucket_histories, **extra})
        index.objects.update(((r.bucket, r.key), r) for r in live)
        index.versions.update(((r.bucket, r.key, r.version), r) for r in older)
    return Store(registry=cast(Any, None), index=cast(Any, index))


class Lister:
    """Lists a bucket of histories with ``list_versions``, on the module's event loop."""

    def __init__(self, portal: BlockingPortal) -> None:
        self.portal = portal
        self.store = store_over({})

    def load(self, histories: dict[str, History]) -> None:
        self.store = store_over(histories)

    def list(self, **options: Any) -> VersionPage:
        return self.portal.call(functools.partial(list_versions, self.store, BUCKET, **options))


@pytest.fixture(scope="module")
def lister(portal: BlockingPortal) -> Lister:
    return Lister(portal)


@st.composite
def histories(draw: st.DrawFn) -> dict[str, History]:
    """Keys and their versions, newest first: objects and delete markers, at most one null
    version a key (anywhere in its history)."""
    keys = draw(st.sets(st.text(ALPHABET, min_size=1, max_size=4), max_size=7))
    found: dict[str, History] = {}
    for key in keys:
        markers = draw(st.lists(st.booleans(), min_size=1, max_size=4))
        null = draw(st.none() | st.integers(0, len(markers) - 1))
        found[key] = [(marker, n == null) for n, marker in enumerate(markers)]
    return found


PREFIXES = st.text(ALPHABET, max_size=2)
DELIMITERS = st.sampled_from(["", "/", "a", "/a"])


LISTED = {"versions": histories(), "prefix": PREFIXES, "delimiter": DELIMITERS}


@settings(max_examples=150, deadline=None)
@given(**LISTED, max_keys=st.integers(1, 4))
def test_paging_with_the_next_markers_lists_everything_once_in_order(
    lister: Lister, versions: dict[str, History], prefix: str, delimiter: str, max_keys: int
) -> None:
    lister.load(versions)
    everything = model(versions, prefix, delimiter)
    seen: list[Item] = []
    key_marker, version_marker = "", ""
    for _ in range(len(everything) + 2):
        page = lister.list(
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_marker=version_marker,
            max_keys=max_keys,
        )
        items = items_of(page)
        assert page.count == len(items) <= max_keys
        seen.extend(items)
        assert page.truncated == (len(seen) < len(everything))  # IsTruncated
        if not page.truncated:
            break
        assert len(items) == max_keys
        last = items[-1]
        assert (page.next_key, page.next_version) == (last[0], last[1])
        key_marker, version_marker = page.next_key or "", page.next_version or ""
    else:
        pytest.fail("paging did not end")
    assert seen == everything


@settings(max_examples=100, deadline=None)
@given(**LISTED, at=st.integers(0, 40))
def test_resuming_after_any_item_lists_exactly_the_items_after_it(
    lister: Lister, versions: dict[str, History], prefix: str, delimiter: str, at: int
) -> None:
    lister.load(versions)
    everything = model(versions, prefix, delimiter)
    if not everything:
        assert lister.list(prefix=prefix, delimiter=delimiter).entries == []
        return
    at %= len(everything)
    name, version_id, _, _ = everything[at]
    page = lister.list(
        prefix=prefix, delimiter=delimiter, key_marker=name, version_marker=version_id or ""
    )
    assert items_of(page) == everything[at + 1 :]
    assert not page.truncated


@settings(max_examples=100, deadline=None)
@given(**LISTED, key_marker=st.text(ALPHABET, max_size=4), max_keys=st.integers(0, 6))
def test_a_key_marker_alone_starts_after_every_version_of_that_key(
    lister: Lister,
    versions: dict[str, History],
    prefix: str,
    delimiter: str,
    key_marker: str,
    max_keys: int,
) -> None:
    lister.load(versions)
    after = [item for item in model(versions, prefix, delimiter) if item[0] > key_marker]
    page = lister.list(prefix=prefix, delimiter=delimiter, key_marker=key_marker, max_keys=max_keys)
    assert items_of(page) == after[:max_keys]
    assert page.truncated == (len(after) > max_keys > 0)


@pytest.mark.anyio
async def test_a_page_can_end_inside_a_key_and_the_next_one_resumes_there() -> None:
    store = store_over({"k": [(False, False), (True, False), (False, True)]})
    first = await list_versions(store, BUCKET, max_keys=2)
    assert [(r.version, latest, r.delete_marker) for r, latest in first.entries] == [
        (f"{1:032x}", True, False),
        (f"{2:032x}", False, True),
    ]
    assert first.truncated
    assert (first.next_key, first.next_version) == ("k", f"{2:032x}")
    rest = await list_versions(
        store, BUCKET, key_marker="k", version_marker=f"{2:032x}", max_keys=2
    )
    assert [(r.version, latest, r.delete_marker) for r, latest in rest.entries] == [
        ("null", False, False)
    ]
    assert not rest.truncated


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


# -- the fake's version methods against SqlIndex -----------------------------------------------


@pytest.fixture(scope="module")
def sql(portal: BlockingPortal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlIndex]:
    path = tmp_path_factory.mktemp("versions") / "index.db"
    index = portal.call(SqlIndex.open, f"sqlite+aiosqlite:///{path}")
    try:
        yield index
    finally:
        portal.call(index.close)


@dataclass(frozen=True)
class Op:
    """One write to both indexes: ``put`` a new latest version (``marker``, ``null``), or
    ``remove`` / ``retag`` / ``lock`` the ``pick``-th version of the key (if it has any)."""

    kind: str
    key: str
    marker: bool = False
    null: bool = False
    pick: int = 0


OPS = st.lists(
    st.builds(
        Op,
        kind=st.sampled_from(["put", "put", "remove", "retag", "lock"]),
        key=st.sampled_from(["a", "a/b", "b"]),
        marker=st.booleans(),
        null=st.booleans(),
        pick=st.integers(0, 5),
    ),
    max_size=14,
)


async def apply(indexes: tuple[FakeIndex, SqlIndex], ops: list[Op]) -> None:
    fake, sql = indexes
    for tick, op in enumerate(ops, 1):
        if op.kind == "put":
            record = version(BUCKET, op.key, -tick, op.marker, None if op.null else f"{tick:032x}")
            await fake.put_version(record)
            await sql.put_version(record)
            continue
        history = await fake.key_versions(BUCKET, op.key)
        if not history:
            continue
        chosen = history[op.pick % len(history)]
        if op.kind == "remove":
            await fake.remove_version(BUCKET, op.key, chosen.version_id)
            await sql.remove_version(BUCKET, op.key, chosen.version_id)
        elif op.kind == "retag":
            tagged = replace(chosen, tags={"tick": str(tick)}, tagging=f"sha256:{tick:064x}")
            await fake.retag_version(tagged)
            await sql.retag_version(tagged)
        else:
            lock = ObjectLock(legal_hold=True)
            set_fake = await fake.set_lock(BUCKET, op.key, chosen.version_id, lock)
            assert set_fake == await sql.set_lock(BUCKET, op.key, chosen.version_id, lock)


async def state(index: FakeIndex | SqlIndex) -> list[Any]:
    """What the version methods read: each key's versions, each version by id, and scans
    from every start, both bounds, every limit."""
    found: list[Any] = []
    for key in ("a", "a/b", "b"):
        history = await index.key_versions(BUCKET, key)
        found.append(history)
        for vid in {None, *(r.version_id for r in history)}:
            found.append(await index.get_version(BUCKET, key, vid))
        found.append(await index.get_object(BUCKET, key))
    for start in ("", "a", "a/b", "b"):
        for inclusive in (True, False):
            for limit in (1, 2, 5):
                found.append(
                    await index.scan_versions(BUCKET, start, inclusive=inclusive, limit=limit)
                )
    return found


@settings(max_examples=60, deadline=None)
@given(ops=OPS)
def test_the_fake_index_keeps_versions_as_the_sql_index_does(
    portal: BlockingPortal, sql: SqlIndex, ops: list[Op]
) -> None:
    fake = FakeIndex(Faults())
    bucket = BucketRecord(name=BUCKET, created=WHEN)
    fake.buckets[BUCKET] = bucket
    portal.call(sql.replace_all, [bucket], [])
    portal.call(apply, (fake, sql), ops)
    assert portal.call(state, fake) == portal.call(state, sql)
