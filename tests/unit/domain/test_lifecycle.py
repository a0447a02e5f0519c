"""Lifecycle rules: which versions a rule selects and when they are due (hypothesis, against
oracles written from S3's documentation), what a rule does to a versioned key's history,
the stored form, and the sweeper's bounds, in buckets never versioned and versioned."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import lifecycle, objects, versions
from gateway.domain.buckets import create_bucket, set_setting
from gateway.domain.lifecycle import (
    DAY,
    EXPIRE,
    MARKER,
    NONCURRENT,
    Filter,
    Rule,
    dumps,
    loads,
    plan,
)
from gateway.domain.objects import NewObject, put_object
from gateway.domain.store import Store
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.sweeper import Action, Sweeper
from gateway.domain.values import ObjectLock, ObjectRecord
from gateway.index.store import SqlIndex
from tests.unit.domain.fakes import FakeIndex, FakeRegistry, Faults

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda m: m.replace(microsecond=m.microsecond // 1000 * 1000))
days = st.sampled_from([timedelta(days=1), timedelta(seconds=1), timedelta(seconds=7)])
text = st.text(alphabet="ab/", max_size=4)
tags = st.dictionaries(st.sampled_from(["env", "keep"]), st.sampled_from(["ci", "no"]))
sizes = st.integers(0, 4096)


@given(
    prefix=text,
    wanted=st.lists(st.tuples(st.sampled_from(["env", "keep"]), st.sampled_from(["ci", "no"])),
                    max_size=2, unique_by=lambda t: t[0]),
    low=st.none() | sizes,
    high=st.none() | sizes,
    key=text,
    size=sizes,
    have=tags,
)  # fmt: skip
def test_a_filter_selects_what_every_condition_allows(prefix, wanted, low, high, key, size, have):  # type: ignore[no-untyped-def]
    chosen = Filter(prefix, tuple(wanted), low, high)
    oracle = (
        key.startswith(prefix)
        and all(have.get(name) == value for name, value in wanted)
        and (low is None or size > low)  # ObjectSizeGreaterThan is strict
        and (high is None or size < high)  # and so is ObjectSizeLessThan
    )
    assert chosen.selects(key, size, have) is oracle


@given(created=moments, count=st.integers(1, 400), day=days)
def test_days_are_counted_from_creation_and_rounded_up_to_a_day_boundary(created, count, day):  # type: ignore[no-untyped-def]
    due = Rule("r", True, expiration_days=count).expiry(created, day)
    assert due is not None
    assert (due - EPOCH) % day == timedelta(0)  # midnight UTC, for a real day
    assert created + count * day <= due < created + (count + 1) * day


@given(created=moments, count=st.integers(1, 400), day=days, waited=st.integers(0, 10**9))
def test_an_upload_is_aborted_exactly_when_its_rounded_day_has_come(created, count, day, waited):  # type: ignore[no-untyped-def]
    moment = created + timedelta(milliseconds=waited)
    rule = Rule("r", True, abort_incomplete_days=count)
    before = rule.aborts_before(moment, day)
    assert before is not None
    due = lifecycle._next_boundary(created + count * day, day)
    assert (created < before) is (due <= moment)


def test_a_date_expires_everything_selected_on_that_date() -> None:
    rule = Rule("r", True, expiration_date=datetime(2030, 1, 1, tzinfo=UTC))
    assert rule.expiry(datetime(2029, 12, 31, 23, tzinfo=UTC)) == datetime(2030, 1, 1, tzinfo=UTC)
    assert rule.expiry(datetime(2031, 1, 1, tzinfo=UTC)) == datetime(2030, 1, 1, tzinfo=UTC)
    assert Rule("r", True, noncurrent_days=3).expiry(datetime(2030, 1, 1, tzinfo=UTC)) is None


rules = st.builds(
    Rule,
    id=st.text(min_size=1, max_size=8),
    enabled=st.booleans(),
    filter=st.builds(
        Filter,
        prefix=text,
        tags=st.lists(st.tuples(st.text(max_size=3), st.text(max_size=3)), max_size=2).map(tuple),
        size_greater_than=st.none() | sizes,
        size_less_than=st.none() | sizes,
    ),
    expiration_days=st.none() | st.integers(1, 99),
    expiration_date=st.none() | moments.map(lambda m: datetime(m.year, m.month, m.day, tzinfo=UTC)),
    expired_object_delete_marker=st.booleans(),
    noncurrent_days=st.none() | st.integers(1, 99),
    newer_noncurrent_versions=st.none() | st.integers(1, 99),
    abort_incomplete_days=st.none() | st.integers(1, 99),
)  # fmt: skip


@given(st.lists(rules, max_size=4))
def test_rules_survive_their_stored_form(chosen: list[Rule]) -> None:
    assert loads(dumps(chosen)) == chosen


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def filled(count: int) -> Store:
    faults = Faults()
    store = Store(
        registry=cast(Any, FakeRegistry(faults)),
        index=cast(Any, FakeIndex(faults)),
        supply=SupplyChainWing(),
    )
    await create_bucket(store, "ci-builds")
    for n in range(count):
        await put_object(store, "ci-builds", f"b/{n:03d}", _bytes(b"x"), 1, NewObject({}, {}))
    rule = Rule("old", True, filter=Filter(prefix="b/"), expiration_days=1)
    await set_setting(store, "ci-builds", lifecycle.LIFECYCLE_SETTING, dumps([rule]))
    return store


async def keys(store: Store) -> list[str]:
    return [r.key for r in await store.index.scan("ci-builds", "", inclusive=False, limit=10**6)]


@pytest.mark.anyio
async def test_a_pass_is_bounded_and_the_next_resumes_where_it_stopped() -> None:
    store = await filled(7)
    done: list[Action] = []

    async def report(action: Action) -> None:
        done.append(action)

    sweeper = Sweeper(store, report, budget=2, page=3)
    later = datetime.now(UTC) + timedelta(days=3)
    assert await sweeper.sweep(later) == 2
    assert await keys(store) == ["b/002", "b/003", "b/004", "b/005", "b/006"]
    assert sweeper.cursors == {"ci-builds": "b/001"}
    assert await sweeper.sweep(later) == 2  # resumes after b/001
    assert [a.key for a in done] == ["b/000", "b/001", "b/002", "b/003"]
    assert await sweeper.sweep(later) == 2
    assert await sweeper.sweep(later) == 1  # the end: the cursor is dropped
    assert "ci-builds" not in sweeper.cursors
    assert await keys(store) == []
    assert {(a.kind, a.rule) for a in done} == {("expire", "old")}


@pytest.mark.anyio
async def test_nothing_is_due_before_its_day_and_a_newer_write_is_never_expired() -> None:
    store = await filled(2)

    async def report(action: Action) -> None:
        pass

    sweeper = Sweeper(store, report)
    assert await sweeper.sweep(datetime.now(UTC)) == 0
    record = await store.index.get_object("ci-builds", "b/000")
    assert isinstance(record, ObjectRecord)
    await put_object(store, "ci-builds", "b/000", _bytes(b"new"), 3, NewObject({}, {}))
    assert not await objects.delete_object(store, "ci-builds", "b/000", only=record.manifest_digest)
    assert await keys(store) == ["b/000", "b/001"]


@pytest.mark.anyio
async def test_a_locked_version_is_never_expired() -> None:
    store = await filled(4)
    later = datetime.now(UTC) + timedelta(days=3)
    locks = {
        "b/000": ObjectLock(legal_hold=True),
        "b/001": ObjectLock(mode="COMPLIANCE", until=later + timedelta(days=1)),
        "b/002": ObjectLock(mode="GOVERNANCE", until=datetime.now(UTC) - timedelta(minutes=1)),
    }
    for key, lock in locks.items():
        record = await store.index.get_object("ci-builds", key)
        assert isinstance(record, ObjectRecord)
        await store.index.put_object(replace(record, lock=lock))

    async def report(action: Action) -> None:
        pass

    assert await Sweeper(store, report).sweep(later) == 2
    assert await keys(store) == ["b/000", "b/001"]


# -- versioned keys: what the rules do to a key's history --------------------------------------

BASE = datetime(2030, 1, 1, tzinfo=UTC)


def _version(
    n: int, moment: datetime, marker: bool, locked: bool, env: str, size: int
) -> ObjectRecord:
    return ObjectRecord(
        bucket="b",
        key="k",
        manifest_digest=f"sha256:{n:064x}",
        size=0 if marker else size,
        etag="" if marker else f'"{n}"',
        last_modified=moment,
        layers=(),
        tags={} if marker else {"env": env},
        version_id=f"{n:032x}",
        delete_marker=marker,
        lock=ObjectLock(legal_hold=locked and not marker),
    )


@st.composite
def histories(draw: st.DrawFn, day: timedelta) -> list[ObjectRecord]:
    """A key's versions, newest first: objects and delete markers, some locked, written at
    most a few 'days' apart."""
    count = draw(st.integers(1, 8))
    moment, found = BASE, []
    for n in range(count):
        moment += draw(st.integers(1, 3 * int(day / timedelta(milliseconds=1)))) * timedelta(
            milliseconds=1
        )
        found.append(
            _version(
                n,
                moment,
                marker=draw(st.booleans()),
                locked=draw(st.booleans()),
                env=draw(st.sampled_from(["ci", "rel"])),
                size=draw(st.integers(0, 20)),
            )
        )
    return found[::-1]


def _past_a_boundary(start: datetime, moment: datetime, day: timedelta) -> bool:
    """Oracle: some day boundary (a multiple of ``day`` since the epoch) lies in
    [start, moment] - S3's 'rounded up to the next midnight UTC, then due'."""
    last = EPOCH + math.floor((moment - EPOCH) / day) * day
    return start <= last


filters = st.builds(
    Filter,
    prefix=st.sampled_from(["", "k", "x"]),
    tags=st.sampled_from([(), (("env", "ci"),)]),
    size_greater_than=st.none() | st.integers(0, 10),
)


def _oracle_selects(chosen: Filter, record: ObjectRecord) -> bool:
    if not record.key.startswith(chosen.prefix):
        return False
    if record.delete_marker:  # no tags, no size: only a prefix selects a delete marker
        return not chosen.tags and chosen.size_greater_than is None
    tagged = all(record.tags.get(name) == value for name, value in chosen.tags)
    return tagged and (chosen.size_greater_than is None or record.size > chosen.size_greater_than)


@given(
    data=st.data(),
    day=days,
    noncurrent=st.integers(1, 4),
    keep=st.none() | st.integers(1, 4),
    chosen=filters,
    later=st.integers(0, 20),
)
def test_noncurrent_versions_go_when_due_beyond_the_newest_kept(  # type: ignore[no-untyped-def]
    data, day, noncurrent, keep, chosen, later
):
    history = data.draw(histories(day))
    moment = history[0].last_modified + later * day / 2
    rule = Rule(
        "nc", True, filter=chosen, noncurrent_days=noncurrent, newer_noncurrent_versions=keep
    )
    steps = plan([rule], history, moment, day)
    expected = [
        version.version_id
        for index, version in reversed(list(enumerate(history)))
        if index > 0  # the current version is never a noncurrent one
        and not version.lock.legal_hold  # Object Lock keeps it
        and _oracle_selects(chosen, version)
        and (keep is None or index - 1 >= keep)  # the ``keep`` newest noncurrent stay
        and _past_a_boundary(history[index - 1].last_modified + noncurrent * day, moment, day)
    ]
    assert all(step.kind == NONCURRENT and step.rule == "nc" for step in steps[: len(expected)])
    assert [step.version.version_id for step in steps if step.kind == NONCURRENT] == expected
    assert history[0] not in [step.version for step in steps if step.kind == NONCURRENT]
    assert not any(step.version.lock.legal_hold for step in steps)


@given(data=st.data(), day=days, count=st.integers(1, 4), later=st.integers(0, 20))
def test_expiration_puts_a_marker_over_the_current_version_or_cleans_a_lone_marker(  # type: ignore[no-untyped-def]
    data, day, count, later
):
    history = data.draw(histories(day))
    moment = history[0].last_modified + later * day / 2
    current = history[0]
    steps = plan([Rule("old", True, expiration_days=count)], history, moment, day)
    due = _past_a_boundary(current.last_modified + count * day, moment, day)
    if not current.delete_marker:
        assert [(s.kind, s.version) for s in steps] == ([(EXPIRE, current)] if due else [])
    elif len(history) == 1:  # an expired object delete marker, as old as the rule says
        assert [(s.kind, s.version) for s in steps] == ([(MARKER, current)] if due else [])
    else:  # a delete marker over other versions: nothing to do
        assert steps == []


def test_an_expired_object_delete_marker_goes_at_once_with_its_flag() -> None:
    marker = _version(1, BASE, marker=True, locked=False, env="ci", size=0)
    older = _version(0, BASE - DAY, marker=False, locked=False, env="ci", size=1)
    flag = Rule("eodm", True, expired_object_delete_marker=True)
    assert [(s.kind, s.rule) for s in plan([flag], [marker], BASE)] == [(MARKER, "eodm")]
    assert plan([flag], [marker, older], BASE) == []  # other versions remain
    tagged = Rule("eodm", True, Filter(tags=(("env", "ci"),)), expired_object_delete_marker=True)
    assert plan([tagged], [marker], BASE) == []  # a marker has no tags
    # Its last other version going in the same pass leaves it alone, so it goes too.
    both = [flag, Rule("nc", True, noncurrent_days=1)]
    later = BASE + 3 * DAY
    assert [(s.kind, s.version) for s in plan(both, [marker, older], later)] == [
        (NONCURRENT, older),
        (MARKER, marker),
    ]


def test_a_suspended_bucket_never_replaces_a_locked_null_version() -> None:
    null = replace(_version(0, BASE, marker=False, locked=True, env="ci", size=1), version_id=None)
    rule = Rule("old", True, expiration_days=1)
    later = BASE + 3 * DAY
    assert plan([rule], [null], later, state=versions.SUSPENDED) == []
    assert [s.kind for s in plan([rule], [null], later, state=versions.ENABLED)] == [EXPIRE]


# -- the sweeper over a versioned bucket (the SQL index on SQLite, the registry faked) ---------


@pytest.fixture
async def versioned(tmp_path: Path) -> AsyncIterator[Store]:
    index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    store = Store(registry=cast(Any, FakeRegistry(Faults())), index=index, supply=SupplyChainWing())
    await create_bucket(store, "kept", {versions.VERSIONING_SETTING: versions.ENABLED})
    try:
        yield store
    finally:
        await index.close()


async def write(store: Store, key: str, data: bytes = b"x") -> ObjectRecord:
    return await put_object(store, "kept", key, _bytes(data), len(data), NewObject({}, {}))


async def rules_are(store: Store, *rules: Rule) -> None:
    await set_setting(store, "kept", lifecycle.LIFECYCLE_SETTING, dumps(list(rules)))


async def history(store: Store, key: str) -> list[tuple[str | None, bool]]:
    return [(v.version_id, v.delete_marker) for v in await store.index.key_versions("kept", key)]


def recorder() -> tuple[list[Action], Any]:
    done: list[Action] = []

    async def report(action: Action) -> None:
        done.append(action)

    return done, report


@pytest.mark.anyio
async def test_expiry_in_a_versioned_bucket_adds_a_delete_marker(versioned: Store) -> None:
    first = await write(versioned, "k")
    await rules_are(versioned, Rule("old", True, expiration_days=1))
    done, report = recorder()
    sweeper = Sweeper(versioned, report)
    later = datetime.now(UTC) + 3 * DAY
    assert await sweeper.sweep(later) == 1
    shown = await history(versioned, "k")
    assert shown[0][1]  # a delete marker, over the object
    assert shown[1:] == [(first.version_id, False)]
    assert done == [Action(EXPIRE, "kept", "k", "old", shown[0][0], marker=True)]
    assert await versioned.index.get_object("kept", "k") is None  # GET answers 404
    assert await sweeper.sweep(later) == 0  # a marker over a version: nothing more to do


@pytest.mark.anyio
async def test_a_suspended_bucket_gets_a_null_marker_which_days_then_clean_up(
    versioned: Store,
) -> None:
    await set_setting(versioned, "kept", versions.VERSIONING_SETTING, versions.SUSPENDED)
    await write(versioned, "k")  # the null version
    await rules_are(versioned, Rule("old", True, expiration_days=1))
    done, report = recorder()
    sweeper = Sweeper(versioned, report)
    later = datetime.now(UTC) + 3 * DAY
    assert await sweeper.sweep(later) == 1
    assert await history(versioned, "k") == [(None, True)]  # the null version replaced
    assert await sweeper.sweep(later) == 1  # now an expired object delete marker, old enough
    assert await history(versioned, "k") == []
    assert [(a.kind, a.version, a.marker) for a in done] == [
        (EXPIRE, "null", True),
        (MARKER, "null", False),
    ]


@pytest.mark.anyio
async def test_noncurrent_versions_expire_beyond_the_newest_kept_and_never_a_locked_one(
    versioned: Store,
) -> None:
    written = [await write(versioned, "k", bytes([n])) for n in range(4)]
    oldest = written[0]
    assert await versioned.index.set_lock(
        "kept", "k", oldest.version_id, ObjectLock(legal_hold=True)
    )
    await rules_are(versioned, Rule("nc", True, noncurrent_days=1, newer_noncurrent_versions=1))
    done, report = recorder()
    later = datetime.now(UTC) + 3 * DAY
    assert await Sweeper(versioned, report).sweep(later) == 1
    assert await history(versioned, "k") == [
        (written[3].version_id, False),  # current
        (written[2].version_id, False),  # the newest noncurrent, kept
        (oldest.version_id, False),  # locked
    ]
    assert done == [Action(NONCURRENT, "kept", "k", "nc", written[1].version_id)]


@pytest.mark.anyio
async def test_an_expired_object_delete_marker_is_removed(versioned: Store) -> None:
    first = await write(versioned, "k")
    await objects.delete(versioned, "kept", "k")  # a marker over the object
    await rules_are(versioned, Rule("eodm", True, expired_object_delete_marker=True))
    done, report = recorder()
    sweeper = Sweeper(versioned, report)
    assert await sweeper.sweep() == 0  # the object is still under it
    await objects.delete(versioned, "kept", "k", version=first.version_id)
    assert await sweeper.sweep() == 1
    assert await history(versioned, "k") == []
    assert [a.kind for a in done] == [MARKER]


@pytest.mark.anyio
async def test_a_versioned_pass_is_bounded_and_resumes(versioned: Store) -> None:
    for n in range(5):
        await write(versioned, f"b/{n}")
    await rules_are(versioned, Rule("old", True, expiration_days=1))
    done, report = recorder()
    sweeper = Sweeper(versioned, report, budget=2, page=3)
    later = datetime.now(UTC) + 3 * DAY
    assert await sweeper.sweep(later) == 2
    assert sweeper.cursors == {"kept": "b/1"}
    assert await sweeper.sweep(later) == 2  # resumes after b/1
    assert sweeper.cursors == {"kept": "b/3"}
    assert await sweeper.sweep(later) == 1  # the end: the cursor is dropped
    assert "kept" not in sweeper.cursors
    assert [a.key for a in done] == [f"b/{n}" for n in range(5)]
    for n in range(5):
        assert (await history(versioned, f"b/{n}"))[0][1]  # every key under a marker


@pytest.mark.anyio
async def test_a_step_is_judged_again_under_the_key_lock(versioned: Store) -> None:
    await write(versioned, "k")
    rule = Rule("old", True, expiration_days=1)
    await rules_are(versioned, rule)
    later = datetime.now(UTC) + 3 * DAY
    seen = await versioned.index.key_versions("kept", "k")
    [step] = plan([rule], seen, later)
    newer = await write(versioned, "k", b"new")  # written after the sweep looked
    _, report = recorder()
    sweeper = Sweeper(versioned, report)
    assert await sweeper._take("kept", versions.ENABLED, [rule], step, later) == 0
    assert (await history(versioned, "k"))[0] == (newer.version_id, False)
