"""Per-key locks: one writer at a time between the manifest push and the index commit.

Within one gateway process an asyncio lock per key keeps the registry's tag and the index row
pointing at the same manifest when clients race on one key. The worker processes of one
gateway (``workers`` > 1, sharing one data directory and SQLite index) also take a file lock
per key under ``directory``, so two processes never interleave those steps either. Replicas
on several hosts (PostgreSQL) would need a database lock instead; docs/ARCHITECTURE.md says so.

The file lock is ``flock`` on a file named by the key's SHA-256, tried without blocking and
polled with growing pauses (a blocked thread per waiter could starve the worker threads the
data path hashes in); the holder unlinks the file before it lets go, so the directory holds
only the keys being written, and a waiter that locked a file meanwhile unlinked tries again.

``hold(key, wait=False)`` does not queue: while another writer holds the key (its manifest
push and index commit are in flight, in this process or another worker) it raises
:class:`KeyBusy`. Conditional writes use it, to answer S3's 409 ConditionalRequestConflict
instead of deciding on a state that is about to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from pathlib import Path

FIRST_PAUSE = 0.001
LONGEST_PAUSE = 0.05


class KeyBusy(Exception):
    """Another writer holds the key's lock."""


class KeyLocks:
    def __init__(self, directory: Path | None = None) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}
        self._directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def hold(self, key: Hashable, *, wait: bool = True) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        if not wait and lock.locked():
            raise KeyBusy()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self._directory is None:
                    yield
                else:
                    async with _file_lock(self._directory / _file_name(key), wait=wait):
                        yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


def _file_name(key: Hashable) -> str:
    """The same name in every process (``hash()`` of a string is salted per process)."""
    return hashlib.sha256(repr(key).encode()).hexdigest() + ".lock"


def _try_lock(path: Path) -> int | None:
    """A descriptor holding ``path``'s lock, or None if the holder before us unlinked it after
    we opened it (try again at once); BlockingIOError while another holder has it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise
    try:
        same = os.fstat(descriptor).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        same = False
    if not same:
        os.close(descriptor)
        return None
    return descriptor


@asynccontextmanager
async def _file_lock(path: Path, *, wait: bool = True) -> AsyncIterator[None]:
    pause = FIRST_PAUSE
    while True:
        try:
            descriptor = _try_lock(path)
        except BlockingIOError as exc:
            if not wait:
                raise KeyBusy() from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
            continue
        if descriptor is not None:
            break
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(descriptor)  # closing lets the lock go
