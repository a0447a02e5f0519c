"""The key locks replicas share (``index/advisory.py``) on a real PostgreSQL: two
``AdvisoryLocks`` stand for two replicas (each its own pool, as each host has)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.domain.locks import KeyBusy, KeyLocks
from gateway.index.advisory import AdvisoryLocks, lock_number
from gateway.index.store import connect_args

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[KeyLocks, KeyLocks]]:
    def one() -> KeyLocks:
        shared = AdvisoryLocks(
            postgres_url, connections=3, pool_timeout=10, connect_args=connect_args(postgres_url)
        )
        return KeyLocks(shared=shared)

    first, second = one(), one()
    yield first, second
    await first.close()
    await second.close()


def test_a_key_has_the_same_lock_in_every_process() -> None:
    assert lock_number(("bucket", "key")) == lock_number(("bucket", "key"))
    assert lock_number(("bucket", "key")) != lock_number(("bucket", "other"))
    assert -(2**63) <= lock_number(("b", "k")) < 2**63


async def test_a_writer_on_one_replica_keeps_the_others_writers_of_that_key_waiting(
    replicas: tuple[KeyLocks, KeyLocks],
) -> None:
    first, second = replicas
    order: list[str] = []
    async with first.hold(("b", "k")):
        with pytest.raises(KeyBusy):  # a conditional write answers 409 at once
            async with second.hold(("b", "k"), wait=False):
                pass
        async with second.hold(("b", "other"), wait=False):  # another key: no wait
            order.append("other key")

        async def wait_for_it() -> None:
            async with second.hold(("b", "k")):
                order.append("second")

        waiting = asyncio.create_task(wait_for_it())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        order.append("first")
    await asyncio.wait_for(waiting, 10)
    assert order == ["other key", "first", "second"]


async def test_reindex_waits_for_writers_and_keeps_new_ones_out(
    replicas: tuple[KeyLocks, KeyLocks],
) -> None:
    first, second = replicas
    order: list[str] = []

    async def reindex() -> None:
        async with second.hold_every_key():
            order.append("reindex starts")
            await asyncio.sleep(0.3)
            order.append("reindex ends")

    async with first.hold(("b", "in flight")):
        running = asyncio.create_task(reindex())
        await asyncio.sleep(0.3)
        assert order == []  # the write in flight holds it off
        order.append("write in flight done")
    await asyncio.sleep(0.1)
    with pytest.raises(KeyBusy):  # reindex running: a conditional write does not wait
        async with first.hold(("b", "late"), wait=False):
            pass
    async with first.hold(("b", "late")):
        order.append("late write")
    await asyncio.wait_for(running, 10)
    assert order == ["write in flight done", "reindex starts", "reindex ends", "late write"]


async def test_a_cancelled_writer_leaves_no_lock_behind(
    replicas: tuple[KeyLocks, KeyLocks],
) -> None:
    first, second = replicas

    async def held_forever() -> None:
        async with first.hold(("b", "k")):
            await asyncio.sleep(3600)

    task = asyncio.create_task(held_forever())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with second.hold(("b", "k"), wait=False):
        pass
    async with second.hold_every_key():
        pass
