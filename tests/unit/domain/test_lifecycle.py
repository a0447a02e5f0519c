"""Lifecycle rules: which objects a rule selects and when they are due (hypothesis, against
oracles written from S3's documentation), the stored form, and the sweeper's bounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import lifecycle
from gateway.domain.buckets import create_bucket, set_setting
from gateway.domain.lifecycle import Action, Filter, Rule, Sweeper, dumps, loads
from gateway.domain.objects import NewObject, put_object
from gateway.domain.store import Store
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.values import ObjectLock, ObjectRecord
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
    assert not await lifecycle.objects.delete_object(
        store, "ci-builds", "b/000", only=record.manifest_digest
    )
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
