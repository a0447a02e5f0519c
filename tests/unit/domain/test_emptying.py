"""Recursive bucket deletion (``domain/emptying.py``) over the in-memory registry and a real
SQLite index whose calls share the registry's fault counter (``fakes.CountedIndex``).

A bucket holding objects (one with tags set after the write, one signed), an upload in
flight, or versions and delete markers, goes with all of it: no index row, no tag in the
registry. A refusal by the referee or a version Object Lock keeps stops the survey before
anything is deleted. Stopped at any call (a crash, or a port's error), the job run again by
a new process resumes and finishes. The paging reads each page once and yields every item
once, in the order the removal needs (property test over a plain model of the index).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import emptying, multipart, objectlock, objects, tagging
from gateway.domain.buckets import create_bucket, get_bucket
from gateway.domain.emptying import Item, delete_bucket_recursive
from gateway.domain.errors import BucketNotEmpty, ContentRefused, NoSuchBucket
from gateway.domain.objects import NewObject
from gateway.domain.ports.registry import RegistryUnavailable
from gateway.domain.store import Store
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply import referrers
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.values import BucketRecord, ObjectRecord, UploadRecord
from gateway.domain.versions import ENABLED, put_bucket_versioning
from gateway.index.store import SqlIndex
from tests.fixtures.supply_chain import dump, sigstore_bundle
from tests.unit.domain.fakes import CountedIndex, Crash, FakeRegistry, Faults, Mode
from tests.unit.registry.test_client import chunks

pytestmark = pytest.mark.anyio
BUCKET = "emptied"
SIGNATURE = dump(sigstore_bundle(b"signed"))


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class World:
    faults: Faults
    registry: FakeRegistry
    index: CountedIndex
    inner: SqlIndex

    def store(self) -> Store:
        """A gateway process over the ports: fresh locks and caches, as after a restart."""
        return Store(
            registry=cast(Any, self.registry), index=cast(Any, self.index), supply=SupplyChainWing()
        )

    def tags(self) -> list[tuple[str, str]]:
        """The registry's tags in the bucket's repositories."""
        return sorted(name for name in self.registry.tagged if name[0].startswith(f"s3/{BUCKET}/"))

    async def rows(self) -> dict[str, int]:
        """The index rows of the bucket, per table."""
        tables = ("buckets", "objects", "versions", "uploads")
        counts = {}
        async with self.inner._engine.connect() as conn:
            for table in tables:
                column = "name" if table == "buckets" else "bucket"
                query = sa.text(f"SELECT count(*) FROM {table} WHERE {column} = :b")
                counts[table] = int(await conn.scalar(query, {"b": BUCKET}) or 0)
        return counts


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    faults = Faults()
    inner = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    try:
        yield World(faults, FakeRegistry(faults), CountedIndex(inner, faults), inner)
    finally:
        await inner.close()


@dataclass
class Referee:
    """Allows everything but ``refused`` (action, key) pairs; ``lines`` is its audit log."""

    refused: frozenset[tuple[str, str]] = frozenset()
    lines: list[tuple[str, str, str]] = field(default_factory=list)

    async def may(self, item: Item) -> bool:
        if (item.action, item.key) in self.refused:
            self.lines.append((item.action, item.key, "refused"))
            return False
        return True

    @asynccontextmanager
    async def removing(self, item: Item) -> AsyncIterator[None]:
        if (item.action, item.key) in self.refused:
            self.lines.append((item.action, item.key, "refused"))
            raise ContentRefused(refused=1, keys=(item.key,))
        outcome = "failed"
        try:
            yield
            outcome = "removed"
        finally:
            self.lines.append((item.action, item.key, outcome))


async def put(store: Store, key: str, data: bytes = b"data") -> ObjectRecord:
    return await objects.put_object(store, BUCKET, key, chunks(data), len(data), NewObject({}, {}))


async def plain(store: Store, count: int = 5) -> None:
    """A bucket never versioned: ``count`` objects, one tagged after the write, one signed,
    and an upload in flight with one part."""
    await create_bucket(store, BUCKET)
    for number in range(count):
        await put(store, f"k/{number:03}")
    await tagging.put_object_tagging(store, BUCKET, "k/000", {"env": "ci"})
    await referrers.attach(
        store, BUCKET, "k/001", types.SIGNATURE, types.SIGSTORE_BUNDLE, SIGNATURE
    )
    upload = await multipart.create_multipart_upload(store, BUCKET, "big", NewObject({}, {}))
    await multipart.upload_part(
        store, BUCKET, "big", upload.upload_id, 1, chunks(b"part"), 4, NewObject({}, {})
    )


async def versioned(store: Store) -> None:
    """A versioned bucket: ``a`` with the null version (written before versioning) and two
    more, ``b`` signed then hidden by a delete marker, ``c`` a delete marker alone, and a
    tagged noncurrent version."""
    await create_bucket(store, BUCKET)
    await put(store, "a", b"null")
    await put_bucket_versioning(store, BUCKET, ENABLED)
    first = await put(store, "a", b"one")
    await put(store, "a", b"two")
    await tagging.put_object_tagging(store, BUCKET, "a", {"old": "yes"}, first.version)
    await put(store, "b", b"bee")
    await referrers.attach(store, BUCKET, "b", types.SIGNATURE, types.SIGSTORE_BUNDLE, SIGNATURE)
    await objects.delete(store, BUCKET, "b")
    await objects.delete(store, BUCKET, "c")


async def assert_gone(world: World) -> None:
    assert await world.rows() == {"buckets": 0, "objects": 0, "versions": 0, "uploads": 0}
    assert world.tags() == []
    with pytest.raises(NoSuchBucket):
        await get_bucket(world.store(), BUCKET)


async def test_a_plain_bucket_goes_with_its_objects_tags_referrers_and_uploads(world: World):
    store = world.store()
    await plain(store)
    referee = Referee()
    progress = await delete_bucket_recursive(store, BUCKET, referee, page=2)
    assert progress.step == "done"
    assert progress.deleted.as_dict() == {
        "objects": 5,
        "versions": 0,
        "delete_markers": 0,
        "uploads": 1,
    }
    await assert_gone(world)
    # Every manifest of the bucket went too: objects, tagging, signature, upload and part.
    assert [name for name in world.registry.manifests if name[0].startswith("s3/")] == []
    assert referee.lines == [
        ("s3:AbortMultipartUpload", "big", "removed"),
        *((("s3:DeleteObject", f"k/{n:03}", "removed")) for n in range(5)),
        ("s3:DeleteBucket", "", "removed"),
    ]


async def test_a_versioned_bucket_goes_with_every_version_and_delete_marker(world: World):
    store = world.store()
    await versioned(store)
    referee = Referee()
    progress = await delete_bucket_recursive(store, BUCKET, referee, page=1)
    assert progress.deleted.as_dict() == {
        "objects": 0,
        "versions": 4,
        "delete_markers": 2,
        "uploads": 0,
    }
    await assert_gone(world)
    assert [name for name in world.registry.manifests if name[0].startswith("s3/")] == []
    assert [line[:2] for line in referee.lines] == [
        *[("s3:DeleteObjectVersion", "a")] * 3,
        *[("s3:DeleteObjectVersion", "b")] * 2,
        ("s3:DeleteObjectVersion", "c"),
        ("s3:DeleteBucket", ""),
    ]


async def test_an_empty_bucket_goes_at_once(world: World):
    store = world.store()
    await create_bucket(store, BUCKET)
    progress = await delete_bucket_recursive(store, BUCKET, Referee())
    assert (progress.step, progress.round, progress.deleted.as_dict()) == (
        "done",
        1,
        {"objects": 0, "versions": 0, "delete_markers": 0, "uploads": 0},
    )
    await assert_gone(world)


async def test_a_missing_bucket_is_no_such_bucket(world: World):
    with pytest.raises(NoSuchBucket):
        await delete_bucket_recursive(world.store(), BUCKET, Referee())


async def snapshot(world: World) -> tuple[object, ...]:
    return (
        await world.rows(),
        dict(world.registry.tagged),
        set(world.registry.manifests),
    )


@pytest.mark.parametrize(
    ("refused", "counts"),
    [
        ({("s3:DeleteObject", "k/003")}, (1, 0)),
        ({("s3:DeleteObject", "k/001"), ("s3:AbortMultipartUpload", "big")}, (2, 0)),
    ],
    ids=["one-object", "an-object-and-an-upload"],
)
async def test_content_the_caller_may_not_delete_stops_the_job_before_anything_goes(
    world: World, refused: set[tuple[str, str]], counts: tuple[int, int]
):
    store = world.store()
    await plain(store)
    before = await snapshot(world)
    referee = Referee(frozenset(refused))
    with pytest.raises(ContentRefused) as caught:
        await delete_bucket_recursive(store, BUCKET, referee, page=2)
    assert (caught.value.refused, caught.value.locked) == counts
    assert sorted(caught.value.keys) == sorted(key for _, key in refused)
    assert caught.value.left == {"objects": 5, "versions": 0, "delete_markers": 0, "uploads": 1}
    assert await snapshot(world) == before
    assert sorted(referee.lines) == sorted((a, k, "refused") for a, k in refused)


async def test_a_bucket_the_caller_may_not_delete_is_left_whole(world: World):
    store = world.store()
    await plain(store)
    before = await snapshot(world)
    with pytest.raises(ContentRefused) as caught:
        await delete_bucket_recursive(store, BUCKET, Referee(frozenset({("s3:DeleteBucket", "")})))
    assert caught.value.message == emptying.BUCKET_REFUSED
    assert await snapshot(world) == before


async def test_a_version_object_lock_keeps_stops_the_job_before_anything_goes(world: World):
    store = world.store()
    await create_bucket(store, BUCKET, objectlock.bucket_settings())
    await put(store, "free")
    held = await put(store, "held")
    await objectlock.put_object_legal_hold(store, BUCKET, "held", held.version, True)
    before = await snapshot(world)
    with pytest.raises(ContentRefused) as caught:
        await delete_bucket_recursive(store, BUCKET, Referee())
    assert (caught.value.refused, caught.value.locked, caught.value.keys) == (0, 1, ("held",))
    assert "1 kept by Object Lock" in caught.value.message
    assert await snapshot(world) == before
    # Once the hold is lifted, the same call deletes everything.
    await objectlock.put_object_legal_hold(store, BUCKET, "held", held.version, False)
    await delete_bucket_recursive(store, BUCKET, Referee())
    await assert_gone(world)


async def test_a_lock_set_after_the_survey_stops_the_removal(world: World):
    """A version locked between the survey and its removal is refused then, as S3 refuses
    its DeleteObject; what was deleted before stays deleted, the bucket stays."""
    store = world.store()
    await create_bucket(store, BUCKET, objectlock.bucket_settings())
    await put(store, "a")
    held = await put(store, "b")

    class LockingReferee(Referee):
        async def may(self, item: Item) -> bool:
            if item.key == "b" and item.action == emptying.DELETE_VERSION:  # survey's last item
                await objectlock.put_object_legal_hold(store, BUCKET, "b", held.version, True)
            return await super().may(item)

    with pytest.raises(ContentRefused) as caught:
        await delete_bucket_recursive(store, BUCKET, LockingReferee())
    assert (caught.value.refused, caught.value.locked, caught.value.keys) == (0, 1, ("b",))
    assert caught.value.left == {"objects": 0, "versions": 1, "delete_markers": 0, "uploads": 0}
    assert (await world.rows())["objects"] == 1
    assert (await world.rows())["buckets"] == 1


async def test_a_refusal_met_in_the_removal_stops_it_and_says_what_is_left(world: World):
    """The referee refuses an item the survey allowed (a policy changed meanwhile)."""
    store = world.store()
    await plain(store, count=3)

    class ChangingReferee(Referee):
        async def may(self, item: Item) -> bool:
            return True

    referee = ChangingReferee(frozenset({("s3:DeleteObject", "k/001")}))
    with pytest.raises(ContentRefused) as caught:
        await delete_bucket_recursive(store, BUCKET, referee)
    assert caught.value.keys == ("k/001",)
    assert caught.value.left == {"objects": 2, "versions": 0, "delete_markers": 0, "uploads": 0}
    assert (await world.rows())["objects"] == 2


async def test_an_upload_completed_after_the_survey_goes_as_the_object_it_became(world: World):
    store = world.store()
    await plain(store, count=2)

    class Completing(Referee):
        async def may(self, item: Item) -> bool:
            if item.kind == "bucket":
                return await super().may(item)
            if item.kind == "uploads":  # the client completes it once the survey saw it
                assert item.upload_id is not None
                parts = await world.index.list_parts(item.upload_id)
                await multipart.complete_multipart_upload(
                    store,
                    BUCKET,
                    item.key,
                    item.upload_id,
                    [multipart.RequestedPart(1, parts[0].etag)],
                    conditions=objects.NO_WRITE_CONDITIONS,
                    declared={},
                    min_part_size=1,
                )
            return await super().may(item)

    referee = Completing()
    progress = await delete_bucket_recursive(store, BUCKET, referee)
    assert progress.deleted.as_dict() == {
        "objects": 3,
        "versions": 0,
        "delete_markers": 0,
        "uploads": 0,
    }
    assert ("s3:DeleteObject", "big", "removed") in referee.lines
    await assert_gone(world)


async def test_content_arriving_during_the_removal_takes_another_round(world: World):
    store = world.store()
    await plain(store, count=2)
    written: list[str] = []

    class Writer(Referee):
        @asynccontextmanager
        async def removing(self, item: Item) -> AsyncIterator[None]:
            async with super().removing(item):
                yield
            if item.key == "k/001" and not written:  # after the last object of round 1
                written.append("k/000")
                await put(store, "k/000")  # behind the removal's cursor

    progress = await delete_bucket_recursive(store, BUCKET, Writer())
    assert (progress.round, progress.deleted.objects) == (2, 3)
    await assert_gone(world)


async def test_content_that_keeps_arriving_leaves_the_bucket(world: World):
    store = world.store()
    await create_bucket(store, BUCKET)
    await put(store, "k")

    class Writer(Referee):
        @asynccontextmanager
        async def removing(self, item: Item) -> AsyncIterator[None]:
            async with super().removing(item):
                yield
            await put(store, "k")  # every removal is undone at once

    with pytest.raises(BucketNotEmpty):
        await delete_bucket_recursive(store, BUCKET, Writer())
    assert (await world.rows())["buckets"] == 1


# -- interrupted and resumed -----------------------------------------------------------------

Fill = Callable[[Store], Awaitable[None]]
FILLS: dict[str, Fill] = {"plain": lambda store: plain(store, count=2), "versioned": versioned}
EMPTY_ROWS = {"buckets": 0, "objects": 0, "versions": 0, "uploads": 0}


def open_world(faults: Faults, inner: SqlIndex) -> World:
    return World(faults, FakeRegistry(faults), CountedIndex(inner, faults), inner)


@dataclass
class Template:
    """A bucket filled once (index file and registry contents), copied for each run: a
    fresh index costs its migrations, a copy does not."""

    database: Path
    registry: FakeRegistry

    @classmethod
    async def make(cls, tmp_path: Path, fill: Fill) -> Template:
        database = tmp_path / "template.db"
        inner = await SqlIndex.open(f"sqlite+aiosqlite:///{database}")
        try:
            world = open_world(Faults(), inner)
            await fill(world.store())
        finally:
            await inner.close()
        return cls(database, world.registry)

    @asynccontextmanager
    async def world(self, path: Path) -> AsyncIterator[World]:
        shutil.copy(self.database, path)
        inner = await SqlIndex.open(f"sqlite+aiosqlite:///{path}")
        world = open_world(Faults(), inner)
        world.registry.blobs = dict(self.registry.blobs)
        world.registry.manifests = dict(self.registry.manifests)
        world.registry.tagged = dict(self.registry.tagged)
        try:
            yield world
        finally:
            await inner.close()


async def clean_run_calls(tmp_path: Path, template: Template) -> list[str]:
    async with template.world(tmp_path / "clean.db") as world:
        world.faults.arm(10**9, "crash")  # counts the calls from here
        await delete_bucket_recursive(world.store(), BUCKET, Referee())
        return list(world.faults.calls)


def leftovers(calls: list[str], position: int, mode: Mode) -> list[str]:
    """The tags (by kind) a stop at ``position`` leaves that no later run can see. Two
    windows, both of the existing deletes the job calls, not of the job: DeleteBucket commits
    the index first and then deletes the bucket's record manifest (``bucket``), so a stop
    after its commit leaves that manifest tagged and the index without a bucket to resume
    (``reindex`` would bring the empty bucket back); AbortMultipartUpload deletes the upload's
    row and then, best effort, its record (``u-``) and part (``p-``) manifests, so a stop or
    a registry error there leaves them tagged. A crash stops everything after it; an error
    at a best-effort call skips that call only."""
    stopped = position - 1
    if "index.delete_bucket" in calls[:stopped]:
        return ["bucket"]
    if "index.delete_upload" not in calls[:stopped]:
        return []
    after = stopped - calls.index("index.delete_upload")
    if mode == "crash":
        return {1: ["p-", "u-"], 2: ["p-"]}.get(after, [])
    return {1: ["u-"], 2: ["p-"]}.get(after, [])


def kind_of(tag: str) -> str:
    return tag if tag == "bucket" else tag[:2]


@pytest.mark.parametrize("mode", ["crash", "error"])
@pytest.mark.parametrize("content", sorted(FILLS))
async def test_a_job_stopped_at_any_call_is_resumed_by_running_it_again(
    tmp_path: Path, content: str, mode: Mode
):
    """Every call of a clean run, stopped in turn: the process dies there (``crash``) or the
    port fails (``error``; a best-effort call swallows it and the job goes on). A new
    process runs the job again (NoSuchBucket if the first got past the bucket's own index
    commit) and nothing of the bucket is left in the index, nor tagged in the registry but
    for ``leftovers``."""
    template = await Template.make(tmp_path, FILLS[content])
    calls = await clean_run_calls(tmp_path, template)
    assert calls.count("index.delete_bucket") == 1
    wrong: list[str] = []
    for position in range(1, len(calls) + 1):
        async with template.world(tmp_path / f"{position}.db") as world:
            world.faults.arm(position, mode)
            finished = False
            with suppress(Crash, RegistryUnavailable, sa.exc.OperationalError):
                await delete_bucket_recursive(world.store(), BUCKET, Referee())
                finished = True  # a best-effort call swallowed the error
            world.faults.disarm()
            try:
                progress = await delete_bucket_recursive(world.store(), BUCKET, Referee())
                assert progress.step == "done"
            except NoSuchBucket:
                assert finished or "index.delete_bucket" in calls[:position]
            where = f"{position} {calls[position - 1]}"
            rows = await world.rows()
            tags = sorted(kind_of(tag) for _, tag in world.tags())
            if rows != EMPTY_ROWS:
                wrong.append(f"{where}: rows {rows}")
            if tags != leftovers(calls, position, mode):
                wrong.append(f"{where}: tags {tags}, expected {leftovers(calls, position, mode)}")
    assert not wrong, "\n".join(wrong)


# -- paging ----------------------------------------------------------------------------------


@dataclass
class ModelIndex:
    """The index's listing calls as their ports document them, over plain lists, counting
    the rows each call hands out (the most the job holds at once)."""

    bucket: BucketRecord
    rows: list[ObjectRecord]  # every version, any order
    uploads: list[UploadRecord]
    largest: int = 0

    def _handed(self, rows: list[Any]) -> list[Any]:
        self.largest = max(self.largest, len(rows))
        return rows

    async def get_bucket(self, name: str) -> BucketRecord | None:
        return self.bucket if name == self.bucket.name else None

    async def list_uploads(
        self, bucket: str, prefix: str, key_marker: str, upload_id_marker: str, limit: int
    ) -> list[UploadRecord]:
        ordered = sorted(self.uploads, key=lambda u: (u.key, u.upload_id))
        after = [
            u
            for u in ordered
            if not key_marker or (u.key, u.upload_id) > (key_marker, upload_id_marker)
        ]
        return self._handed(after[:limit])

    async def scan(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        live = sorted((r for r in self.rows if _from(r.key, start, inclusive)), key=lambda r: r.key)
        return self._handed(live[:limit])

    async def scan_versions(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        keys = sorted({r.key for r in self.rows if _from(r.key, start, inclusive)})[:limit]
        return self._handed(
            [
                r
                for key in keys
                for r in sorted(
                    (r for r in self.rows if r.key == key),
                    key=lambda r: r.last_modified,
                    reverse=True,
                )
            ]
        )


def _from(key: str, start: str, inclusive: bool) -> bool:
    return key > start or (inclusive and key == start)


def record(key: str, number: int, version: bool) -> ObjectRecord:
    return ObjectRecord(
        bucket=BUCKET,
        key=key,
        manifest_digest=f"sha256:{number:064x}",
        size=0,
        etag="",
        last_modified=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=number),
        layers=(),
        version_id=f"v{number:04}" if version else None,
    )


keys = st.text(alphabet="ab/", min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    versioned=st.booleans(),
    written=st.lists(keys, max_size=25),
    uploads=st.lists(keys, max_size=6),
    page=st.integers(1, 5),
)
async def test_the_content_is_every_item_once_in_removal_order_a_page_at_a_time(
    versioned: bool, written: list[str], uploads: list[str], page: int
):
    """Uploads first; then objects in key order, or each key's versions oldest first; each
    exactly once, whatever the page size, and no call hands out more than a page of keys'
    rows."""
    if not versioned:
        written = sorted(set(written))  # one live object per key
    rows = [record(key, number, versioned) for number, key in enumerate(written)]
    settings_ = {"versioning": "Enabled"} if versioned else {}
    model = ModelIndex(
        BucketRecord(BUCKET, datetime(2026, 1, 1, tzinfo=UTC), "us-east-1", settings_),
        rows,
        [
            UploadRecord(f"u{number}", BUCKET, key, datetime(2026, 1, 1, tzinfo=UTC))
            for number, key in enumerate(uploads)
        ],
    )
    store = Store(registry=cast(Any, None), index=cast(Any, model))
    found = [item async for item, _ in emptying._content(store, BUCKET, page)]
    expected_uploads = [
        (u.key, u.upload_id) for u in sorted(model.uploads, key=lambda u: (u.key, u.upload_id))
    ]
    assert [(i.key, i.upload_id) for i in found if i.kind == "uploads"] == expected_uploads
    expected = sorted(rows, key=lambda r: (r.key, r.last_modified))  # oldest first per key
    got = [i for i in found if i.kind != "uploads"]
    assert [(i.key, i.version_id) for i in got] == [(r.key, r.version_id) for r in expected]
    assert {i.kind for i in got} <= ({"versions"} if versioned else {"objects"})
    most_versions = max((len(list(g)) for _, g in itertools.groupby(sorted(written))), default=0)
    assert model.largest <= page * max(1, most_versions)
