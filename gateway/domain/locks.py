"""Per-key locks: one writer at a time between the manifest push and the index commit.

Within one gateway process an asyncio lock per key keeps the registry's tag and the index row
pointing at the same manifest when clients race on one key. The worker processes of one
gateway (``workers`` > 1, sharing one data directory and SQLite index) also take a file lock
per key under ``directory``, so two processes never interleave those steps either. Replicas
on several hosts share no directory but one PostgreSQL: they pass a ``shared`` lock instead
(``index/advisory.py``, PostgreSQL's advisory locks), held after the in-process one.

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
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

FIRST_PAUSE = 0.001
LONGEST_PAUSE = 0.05


class KeyBusy(Exception):
    """Another writer holds the key's lock."""


class SharedLocks(Protocol):
    """A key lock that other processes see: held after this process's own (so one waiter
    per key and process asks for it), ``KeyBusy`` at once when ``wait`` is false and
    another process holds it."""

    def hold(self, key: Hashable, *, wait: bool) -> AbstractAsyncContextManager[None]: ...

    def hold_every_key(self) -> AbstractAsyncContextManager[None]:
        """Wait until no writer holds a key, and keep every writer out until the end
        (``reindex``: the index it swaps in must not drop a write committed meanwhile)."""
        ...

    async def close(self) -> None: ...


class FileLocks:
    """The worker processes of one host: ``flock`` on a file per key under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def hold(self, key: Hashable, *, wait: bool) -> AbstractAsyncContextManager[None]:
        return _file_lock(self._directory / _file_name(key), wait=wait)

    def hold_every_key(self) -> AbstractAsyncContextManager[None]:
        """Not kept on one host: ``reindex`` there is an offline repair (operations.md)."""
        return contextlib.nullcontext()

    async def close(self) -> None:
        """Nothing to let go: each holder closes its own descriptor."""


class KeyLocks:
    def __init__(self, directory: Path | None = None, *, shared: SharedLocks | None = None) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}
        self._shared = shared if shared is not None or directory is None else FileLocks(directory)

    @asynccontextmanager
    async def hold(self, key: Hashable, *, wait: bool = True) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        if not wait and lock.locked():
            raise KeyBusy()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self._shared is None:
                    yield
                else:
                    async with self._shared.hold(key, wait=wait):
                        yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)

    def hold_every_key(self) -> AbstractAsyncContextManager[None]:
        """Every other process's writers kept out (``SharedLocks.hold_every_key``); this
        process's own are not (``reindex`` runs as a process of its own)."""
        if self._shared is None:
            return contextlib.nullcontext()
        return self._shared.hold_every_key()

    async def close(self) -> None:
        if self._shared is not None:
            await self._shared.close()


def stable_digest(key: Hashable) -> bytes:
    """The same bytes for a key in every process and host (``hash()`` of a string is salted
    per process): names a key's lock file or advisory lock."""
    return hashlib.sha256(repr(key).encode()).digest()


def _file_name(key: Hashable) -> str:
    return stable_digest(key).hex() + ".lock"


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
