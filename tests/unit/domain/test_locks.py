"""KeyLocks: one holder per key at a time, independent keys, and no entry left behind."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from gateway.domain.locks import KeyBusy, KeyLocks


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_one_holder_per_key_at_a_time() -> None:
    locks = KeyLocks()
    inside = 0
    most = 0
    order: list[int] = []

    async def worker(n: int) -> None:
        nonlocal inside, most
        async with locks.hold(("bucket", "key")):
            inside += 1
            most = max(most, inside)
            await anyio.sleep(0.001)
            await anyio.lowlevel.checkpoint()
            order.append(n)
            inside -= 1

    async with anyio.create_task_group() as tasks:
        for n in range(20):
            tasks.start_soon(worker, n)
    assert most == 1
    assert sorted(order) == list(range(20))
    assert len(locks) == 0


@pytest.mark.anyio
async def test_entries_are_removed_after_use() -> None:
    locks = KeyLocks()
    async with locks.hold("a"):
        assert len(locks) == 1
        async with locks.hold("b"):
            assert len(locks) == 2
        assert len(locks) == 1
    assert len(locks) == 0
    with pytest.raises(RuntimeError, match="boom"):
        async with locks.hold("a"):
            raise RuntimeError("boom")
    assert len(locks) == 0


@pytest.mark.anyio
async def test_different_keys_do_not_block_each_other() -> None:
    locks = KeyLocks()
    other_ran = anyio.Event()

    async def other() -> None:
        async with locks.hold(("bucket", "other")):
            other_ran.set()

    async with locks.hold(("bucket", "key")), anyio.create_task_group() as tasks:
        tasks.start_soon(other)
        with anyio.fail_after(2):
            await other_ran.wait()  # would hang if "other" waited for "key"
    assert len(locks) == 0


@pytest.mark.anyio
async def test_a_waiter_blocks_until_the_holder_leaves() -> None:
    locks = KeyLocks()
    acquired = anyio.Event()

    async def waiter() -> None:
        async with locks.hold("k"):
            acquired.set()

    async with anyio.create_task_group() as tasks:
        async with locks.hold("k"):
            tasks.start_soon(waiter)
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            assert not acquired.is_set()
            assert len(locks) == 1  # one shared entry for the holder and the waiter
        with anyio.fail_after(2):
            await acquired.wait()
    assert len(locks) == 0


@pytest.mark.anyio
async def test_a_cancelled_waiter_leaves_no_entry() -> None:
    locks = KeyLocks()

    async def waiter() -> None:
        async with locks.hold("k"):
            pytest.fail("the waiter must not get the lock")

    async with locks.hold("k"), anyio.create_task_group() as tasks:
        tasks.start_soon(waiter)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        tasks.cancel_scope.cancel()
    assert len(locks) == 0
    async with locks.hold("k"):  # and the key is free again
        assert len(locks) == 1
    assert len(locks) == 0


# -- across processes: the workers of one gateway share a lock directory ----------------------


@pytest.mark.anyio
async def test_two_holders_of_one_directory_exclude_each_other(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two KeyLocks on one directory behave as two processes: their flocks are separate."""
    first, second = KeyLocks(tmp_path), KeyLocks(tmp_path)
    acquired = anyio.Event()

    async def other() -> None:
        async with second.hold(("bucket", "key")):
            acquired.set()

    async with anyio.create_task_group() as tasks:
        async with first.hold(("bucket", "key")):
            tasks.start_soon(other)
            await anyio.sleep(0.05)
            assert not acquired.is_set()
            assert len(list(tmp_path.iterdir())) == 1
            async with second.hold(("bucket", "another key")):  # other keys are free
                pass
        with anyio.fail_after(2):
            await acquired.wait()
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def _count_under_lock(directory: str, counter: str, times: int) -> None:
    async def run() -> None:
        locks = KeyLocks(Path(directory))
        for _ in range(times):
            async with locks.hold(("bucket", "contended")):
                value = int(Path(counter).read_text())  # noqa: ASYNC240 - a tiny local file
                await asyncio.sleep(0.0005)  # a read-modify-write that would lose updates
                Path(counter).write_text(str(value + 1))  # noqa: ASYNC240

    asyncio.run(run())


def test_worker_processes_never_interleave_on_one_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    counter = tmp_path / "counter"
    counter.write_text("0")
    locks = tmp_path / "locks"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_count_under_lock, args=(str(locks), str(counter), 40))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert counter.read_text() == "160"
    assert list(locks.iterdir()) == []


# -- not waiting: a conditional write meets a write in flight --------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("shared", [False, True], ids=["one-process", "lock-directory"])
async def test_hold_without_waiting_refuses_a_held_key(tmp_path, shared: bool) -> None:  # type: ignore[no-untyped-def]
    first = KeyLocks(tmp_path if shared else None)
    second = KeyLocks(tmp_path) if shared else first
    async with first.hold(("bucket", "key")):
        with pytest.raises(KeyBusy):
            async with second.hold(("bucket", "key"), wait=False):
                pytest.fail("held twice")
        async with second.hold(("bucket", "other"), wait=False):  # other keys are free
            pass
    async with second.hold(("bucket", "key"), wait=False):  # free again once let go
        pass
    assert len(first) == len(second) == 0
    assert list(tmp_path.iterdir()) == []
