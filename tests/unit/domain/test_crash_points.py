"""Crash points: PutObject (new key, overwrite), CompleteMultipartUpload (new key, overwrite),
DeleteObject and attaching a referrer, stopped at each of their calls to the two ports.

The ports are the in-memory fakes of ``fakes.py``, sharing one call counter. A clean run of
each operation makes exactly the calls of its ``calls`` tuple (``test_a_clean_run_...``
pins them); the crash tests are parametrized over every position in that tuple, so a new
step in an operation fails the clean-run test until it is listed, and is then crashed at too.
Each point is run in two modes: ``crash`` (the process dies there: nothing after it runs,
nothing can catch it) and ``error`` (the port raises what it raises when its backend fails,
RegistryUnavailable or SQLAlchemy's OperationalError, and the product handles it as it does).

After the failure a new gateway process (fresh locks and caches) over the same ports must

- read the key back wholly old or wholly new (bytes, ETag, the referrers a listing shows and
  the counts HEAD shows, and for multipart whether the upload is still live), never a mix;
- pass the consistency check, ``inconsistencies``: the index equals what ``reindex``
  (gateway/domain/reindex.py) rebuilds from the registry alone (run over a copy of the index,
  as a reindex over the kept database runs). Referrer rows are compared for the objects'
  current manifests only (rows of a superseded manifest are invisible to every read). The
  ``reindex --check`` command (gateway/domain/index_check.py) must find a difference exactly
  where this check does, at every point (``check`` asserts it);
- and, once the operation is run again by the client, end wholly new and consistent.

The read-back lists referrers before it reads HEAD's counts: a listing records the referrers
the registry has and the index lacks (``referrers.discover``), the designed repair for a
referrer pushed without its row; HEAD's counts read the index only.

Crash points that break an invariant are marked ``xfail(strict=True)`` with the bug they show
(see ``BUGS``); the last tests show what those states lead to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar, cast

import pytest
import sqlalchemy as sa

from gateway.domain import index_check, multipart, objects
from gateway.domain.buckets import create_bucket
from gateway.domain.errors import NoSuchKey
from gateway.domain.objects import NO_WRITE_CONDITIONS, NewObject
from gateway.domain.ports.registry import RegistryError
from gateway.domain.reindex import reindex
from gateway.domain.store import Store
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply import referrers
from gateway.domain.supply.wing import SupplyChainWing
from tests.fixtures.supply_chain import dump, sigstore_bundle
from tests.unit.domain.fakes import Crash, FakeIndex, FakeRegistry, Faults, Mode
from tests.unit.registry.test_client import chunks

pytestmark = pytest.mark.anyio
BUCKET, KEY = "crash-points", "releases/1.0/app.tar.gz"
OLD = b"the old version's bytes\n" * 3
NEW = b"the new version: other bytes, another length\n" * 2
PART_ONE, PART_TWO = b"first part " * 5, b"second part"
HEADERS = {"Content-Type": "application/gzip"}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


class TickingClock(datetime):
    """``datetime`` whose ``now()`` moves on a millisecond per call: a version's time (and so
    its manifest's digest) differs from the one before, as for a client's retry, however fast
    the test runs."""

    ticks = 0

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> TickingClock:
        cls.ticks += 1
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=cls.ticks)
        return cls.fromtimestamp(moment.timestamp(), tz)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the domain stamps objects (``objects.now``) and referrers (``attach``)."""
    monkeypatch.setattr(objects, "datetime", TickingClock)
    monkeypatch.setattr(referrers, "datetime", TickingClock)


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def multipart_etag(*pieces: bytes) -> str:
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in pieces)
    return f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(pieces)}"'


SIGNATURE = dump(sigstore_bundle(OLD))  # once: an ECDSA signature differs each time


class Inconsistent(AssertionError):
    """The consistency check found the index and the registry telling different stories."""


@dataclass
class World:
    faults: Faults
    registry: FakeRegistry
    index: FakeIndex

    @classmethod
    def new(cls) -> World:
        faults = Faults()
        return cls(faults, FakeRegistry(faults), FakeIndex(faults))

    def store(self) -> Store:
        """A gateway process over the ports: fresh locks and caches, as after a restart."""
        return Store(
            registry=cast(Any, self.registry),
            index=cast(Any, self.index),
            supply=SupplyChainWing(),
        )


@dataclass(frozen=True)
class View:
    """What a client reads of the key."""

    body: bytes | None  # None: NoSuchKey
    etag: str | None = None
    referrers: tuple[bytes, ...] = ()  # the documents a listing shows, sorted
    signatures: int = 0  # the count HEAD shows
    upload_live: bool | None = None  # multipart only: is the upload still live


async def read(store: Store, upload_id: str | None = None) -> View:
    live = None if upload_id is None else await store.index.get_upload(upload_id) is not None
    try:
        listed = await referrers.list_referrers(store, BUCKET, KEY)
        documents = [(await referrers.fetch(store, BUCKET, KEY, r.digest)).body for r in listed]
        record, reader = await objects.get_object(store, BUCKET, KEY)
    except NoSuchKey:
        return View(None, upload_live=live)
    body = b"".join([chunk async for chunk in reader.chunks()])
    return View(
        body,
        record.etag,
        tuple(sorted(documents)),
        reader.referrers[types.SIGNATURE],
        live,
    )


async def inconsistencies(world: World) -> list[str]:
    """How the index differs from what ``reindex`` rebuilds from the registry."""
    index, rebuilt = world.index, world.index.clone()
    await reindex(
        Store(
            registry=cast(Any, world.registry), index=cast(Any, rebuilt), supply=SupplyChainWing()
        )
    )
    problems: list[str] = []
    if index.buckets != rebuilt.buckets:
        problems.append(f"buckets: index {index.buckets}, registry {rebuilt.buckets}")
    for where in sorted(index.objects.keys() | rebuilt.objects.keys()):
        row, found = index.objects.get(where), rebuilt.objects.get(where)
        if row != found:
            problems.append(
                f"object {'/'.join(where)}: the index row names "
                f"{row.manifest_digest if row else 'nothing'}, the registry's tag "
                f"{found.manifest_digest if found else 'nothing'}"
            )
            continue
        assert row is not None
        current = (row.bucket, row.key, row.manifest_digest)
        mine = set(await index.list_referrers(*current))
        theirs = set(await rebuilt.list_referrers(*current))
        if mine != theirs:
            problems.append(
                f"referrers of {'/'.join(where)}: only in the index "
                f"{sorted(r.digest for r in mine - theirs)}, only in the registry "
                f"{sorted(r.digest for r in theirs - mine)}"
            )
    live = {i: u for i, u in index.uploads.items() if not u.completed}
    rebuilt_live = {i: u for i, u in rebuilt.uploads.items() if not u.completed}
    if live != rebuilt_live:
        problems.append(f"live uploads: index {sorted(live)}, registry {sorted(rebuilt_live)}")
    parts = {i: index.parts.get(i, {}) for i in live}
    rebuilt_parts = {i: rebuilt.parts.get(i, {}) for i in rebuilt_live}
    if parts != rebuilt_parts:
        problems.append(f"parts: index {parts}, registry {rebuilt_parts}")
    return problems


async def check(world: World) -> None:
    world.faults.disarm()
    problems = await inconsistencies(world)
    differences, _ = await index_check.check(world.store())
    assert bool(differences) == bool(problems), (differences, problems)
    if problems:
        raise Inconsistent("; ".join(problems))


async def put(store: Store, data: bytes) -> None:
    await objects.put_object(
        store, BUCKET, KEY, chunks(data), len(data), NewObject(HEADERS, {"v": str(len(data))})
    )


async def attach(store: Store, document: bytes) -> None:
    await referrers.attach(store, BUCKET, KEY, types.SIGNATURE, types.SIGSTORE_BUNDLE, document)


class Scenario:
    """One operation on the key, after ``prepare``; ``old`` and ``new`` are the only views
    a client may read once it ran, or failed anywhere."""

    calls: ClassVar[tuple[str, ...]]
    old: ClassVar[View]
    new: ClassVar[View]
    upload_id: str | None = None

    async def prepare(self, store: Store) -> None:
        await create_bucket(store, BUCKET)

    async def run(self, store: Store) -> None:
        raise NotImplementedError

    async def read(self, store: Store) -> View:
        return await read(store, self.upload_id)


async def put_signed_old(store: Store) -> None:
    await put(store, OLD)
    await attach(store, SIGNATURE)


SIGNED_OLD = View(OLD, etag_of(OLD), (SIGNATURE,), 1)
PUT = ("index.get_bucket", "registry.ensure_blob", "registry.push_blob", "index.get_object")
COMMIT = ("registry.push_manifest",)
# The previous version goes (best effort): its manifest, then its referrers' rows, the
# referrers tag of its manifest, and each referrer's manifest.
FORGET = (
    "registry.delete_manifest",
    "index.delete_referrers",
    "registry.drop_referrers_tag",
    "registry.delete_manifest",
)


class PutNew(Scenario):
    calls: ClassVar[tuple[str, ...]] = (*PUT, *COMMIT, "index.put_object")
    old = View(None)
    new = View(NEW, etag_of(NEW))

    async def run(self, store: Store) -> None:
        await put(store, NEW)


class PutOverwrite(PutNew):
    """Over a version that has a signature: the forgetting of both runs too."""

    calls: ClassVar[tuple[str, ...]] = (*PutNew.calls, *FORGET)
    old = SIGNED_OLD

    async def prepare(self, store: Store) -> None:
        await super().prepare(store)
        await put_signed_old(store)


class CompleteNew(Scenario):
    calls: ClassVar[tuple[str, ...]] = (
        "index.get_bucket",
        "index.get_upload",
        "index.list_parts",
        "index.get_object",
        *COMMIT,
        "index.complete_upload",
        "registry.delete_manifest",  # the upload's record (u-<upload>)
        "registry.delete_manifest",  # part 1's manifest
        "registry.delete_manifest",  # part 2's manifest
    )
    old = View(None, upload_live=True)
    new = View(PART_ONE + PART_TWO, multipart_etag(PART_ONE, PART_TWO), upload_live=False)

    async def prepare(self, store: Store) -> None:
        await super().prepare(store)
        upload = await multipart.create_multipart_upload(store, BUCKET, KEY, NewObject(HEADERS, {}))
        self.upload_id = upload.upload_id
        self.etags: list[str] = []
        for number, data in enumerate((PART_ONE, PART_TWO), 1):
            new = NewObject({}, {})
            part, _ = await multipart.upload_part(
                store, BUCKET, KEY, upload.upload_id, number, chunks(data), len(data), new
            )
            self.etags.append(part.etag)

    async def run(self, store: Store) -> None:
        assert self.upload_id is not None
        await multipart.complete_multipart_upload(
            store,
            BUCKET,
            KEY,
            self.upload_id,
            [multipart.RequestedPart(n, etag) for n, etag in enumerate(self.etags, 1)],
            conditions=NO_WRITE_CONDITIONS,
            declared={},
            min_part_size=1,
        )


class CompleteOverwrite(CompleteNew):
    calls: ClassVar[tuple[str, ...]] = (*CompleteNew.calls[:6], *FORGET, *CompleteNew.calls[6:])
    old = replace(SIGNED_OLD, upload_live=True)

    async def prepare(self, store: Store) -> None:
        await super().prepare(store)
        await put_signed_old(store)


class Delete(Scenario):
    calls: ClassVar[tuple[str, ...]] = (
        "index.get_bucket",
        "index.get_object",
        "registry.get_manifest",  # what the key's tag names (a failed write may have moved it)
        FORGET[0],  # the registry first: a failure here answers an error, deletes nothing
        "index.delete_object",
        *FORGET[1:],
    )
    old = SIGNED_OLD
    new = View(None)

    async def prepare(self, store: Store) -> None:
        await super().prepare(store)
        await put_signed_old(store)

    async def run(self, store: Store) -> None:
        await objects.delete_object(store, BUCKET, KEY)


class Attach(Scenario):
    calls: ClassVar[tuple[str, ...]] = (
        "index.get_bucket",
        "index.get_object",
        "registry.ensure_blob",
        "registry.blob_exists",
        "registry.push_small_blob",
        "index.get_object",  # again, under the key's lock
        "index.list_referrers",  # the same document attached already? (attach is idempotent)
        "registry.referrers",
        "registry.push_referrer",
        "index.put_referrer",
    )
    old = View(OLD, etag_of(OLD))
    new = View(OLD, etag_of(OLD), (SIGNATURE,), 1)

    async def prepare(self, store: Store) -> None:
        await super().prepare(store)
        await put(store, OLD)

    async def run(self, store: Store) -> None:
        await attach(store, SIGNATURE)


SCENARIOS: dict[str, type[Scenario]] = {
    "put-new": PutNew,
    "put-overwrite": PutOverwrite,
    "complete-new": CompleteNew,
    "complete-overwrite": CompleteOverwrite,
    "delete": Delete,
    "attach": Attach,
}
MODES: tuple[Mode, ...] = ("crash", "error")


@dataclass(frozen=True)
class Bug:
    reason: str
    raises: type[AssertionError] = Inconsistent


TAG_MOVED_FIRST = (
    "{what}: a process that dies at its index commit ({call}) leaves the key's tag "
    "o-<sha256(key)> on the new manifest while the index {row}: registry and index disagree "
    "until the key is written or deleted again (a commit the index refuses gives the tag "
    "back, see objects._untag; DeleteObject removes what the tag names, so a deleted key "
    "never comes back: test_a_key_deleted_after_a_failed_write_...). Known, documented in "
    "docs/ARCHITECTURE.md; a reindex would publish that version."
)
# (scenario, position of the failing call, mode or None for both): the bug that point shows.
BUGS: dict[tuple[str, int, Mode | None], Bug] = {
    ("put-new", 6, "crash"): Bug(
        TAG_MOVED_FIRST.format(
            what="PutObject of a new key",
            call="index.put_object",
            row="has no row for it",
            removes="nothing (it finds no row)",
        )
    ),
    ("put-overwrite", 6, "crash"): Bug(
        TAG_MOVED_FIRST.format(
            what="PutObject over an existing key",
            call="index.put_object",
            row="row (what reads serve) still names the old manifest, now untagged",
            removes="the old manifest by digest",
        )
    ),
    ("complete-new", 6, "crash"): Bug(
        TAG_MOVED_FIRST.format(
            what="CompleteMultipartUpload of a new key",
            call="index.complete_upload",
            row="has no row for it (the upload stays live)",
            removes="nothing (it finds no row)",
        )
    ),
    ("complete-overwrite", 6, "crash"): Bug(
        TAG_MOVED_FIRST.format(
            what="CompleteMultipartUpload over an existing key",
            call="index.complete_upload",
            row="row still names the old manifest, now untagged (the upload stays live)",
            removes="the old manifest by digest",
        )
    ),
    ("delete", 5, None): Bug(
        "DeleteObject failing at its index delete (crash or error; the client gets no "
        "success) after the registry deleted the version's manifest: the index row outlives "
        "its manifest until the client's retry, which finishes the delete (reads serve the old "
        "bytes meanwhile, their blobs stay until GC; a reindex drops the key, as the client "
        "asked). Known, documented in docs/ARCHITECTURE.md."
    ),
}
RETRY_BUGS: dict[tuple[str, int, Mode | None], Bug] = {}


def points(bugs: dict[tuple[str, int, Mode | None], Bug]) -> list[Any]:
    return list(_points(bugs))


def _points(bugs: dict[tuple[str, int, Mode | None], Bug]) -> Iterator[Any]:
    for name, scenario in SCENARIOS.items():
        for n, call in enumerate(scenario.calls, 1):
            for mode in MODES:
                bug = bugs.get((name, n, mode)) or bugs.get((name, n, None))
                marks = (
                    [pytest.mark.xfail(strict=True, raises=bug.raises, reason=bug.reason)]
                    if bug
                    else []
                )
                yield pytest.param(name, n, mode, id=f"{name}-{n}-{call}-{mode}", marks=marks)


async def prepared(name: str) -> tuple[World, Scenario]:
    world, scenario = World.new(), SCENARIOS[name]()
    await scenario.prepare(world.store())
    return world, scenario


async def crash(world: World, scenario: Scenario, n: int, mode: Mode) -> BaseException | None:
    """Run the operation with the n-th port call failing; what it raised, if anything."""
    world.faults.arm(n, mode)
    try:
        await scenario.run(world.store())
    except (Crash, RegistryError, sa.exc.OperationalError) as exc:
        raised: BaseException | None = exc
    else:
        raised = None
    world.faults.disarm()
    assert world.faults.failed == scenario.calls[n - 1], world.faults.calls
    if mode == "crash":
        assert isinstance(raised, Crash)
    return raised


@pytest.mark.parametrize("name", SCENARIOS)
async def test_a_clean_run_makes_exactly_these_calls(name: str) -> None:
    world, scenario = await prepared(name)
    world.faults.arm(0, "crash")  # counts from here, never fails
    await scenario.run(world.store())
    assert tuple(world.faults.calls) == scenario.calls
    assert await scenario.read(world.store()) == scenario.new
    await check(world)


@pytest.mark.parametrize("name", SCENARIOS)
async def test_before_the_operation_the_key_reads_old_and_is_consistent(name: str) -> None:
    world, scenario = await prepared(name)
    assert await scenario.read(world.store()) == scenario.old
    await check(world)


@pytest.mark.parametrize(("name", "n", "mode"), points(BUGS))
async def test_a_failure_at_each_call_leaves_the_old_or_the_new_version(
    name: str, n: int, mode: Mode
) -> None:
    world, scenario = await prepared(name)
    await crash(world, scenario, n, mode)
    assert await scenario.read(world.store()) in (scenario.old, scenario.new)
    await check(world)


@pytest.mark.parametrize(("name", "n", "mode"), points(RETRY_BUGS))
async def test_running_the_operation_again_after_a_failure_ends_new_and_consistent(
    name: str, n: int, mode: Mode
) -> None:
    world, scenario = await prepared(name)
    await crash(world, scenario, n, mode)
    await scenario.run(world.store())
    assert await scenario.read(world.store()) == scenario.new
    await check(world)


async def reindexed(world: World) -> World:
    """The same registry under a new, empty index rebuilt by ``reindex`` (a lost database)."""
    rebuilt = World(world.faults, world.registry, FakeIndex(world.faults))
    await reindex(rebuilt.store())
    return rebuilt


@pytest.mark.parametrize("name", ["put-new", "put-overwrite", "complete-new", "complete-overwrite"])
@pytest.mark.parametrize("mode", MODES)
async def test_a_key_deleted_after_a_failed_write_stays_deleted_through_reindex(
    name: str, mode: Mode
) -> None:
    """The write fails at its index commit; the client deletes the key (success), and later
    the index is rebuilt from the registry: the key must stay deleted."""
    world, scenario = await prepared(name)
    commits = ("index.put_object", "index.complete_upload")
    commit = next(n for n, call in enumerate(scenario.calls, 1) if call in commits)
    await crash(world, scenario, commit, mode)
    await objects.delete_object(world.store(), BUCKET, KEY)
    assert await read(world.store()) == View(None)
    assert await read((await reindexed(world)).store()) == View(None)


async def test_a_delete_the_registry_refuses_answers_an_error_and_keeps_the_object() -> None:
    """A RegistryError when DeleteObject deletes the version's manifest: the client is told,
    the object stays whole, and the retry deletes it for good (through a reindex too)."""
    world, scenario = await prepared("delete")
    assert isinstance(await crash(world, scenario, 4, "error"), RegistryError)
    assert await read(world.store()) == scenario.old
    await check(world)
    await scenario.run(world.store())
    assert await read(world.store()) == View(None)
    assert await read((await reindexed(world)).store()) == View(None)
