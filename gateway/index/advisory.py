"""Key locks shared by gateway replicas on several hosts: PostgreSQL advisory locks.

Replicas share no directory, so the worker processes' file locks (``domain/locks.py``) cannot
keep two writers of one key apart; the database they share can. A session-level advisory
lock, numbered by the key's digest, is taken with ``pg_try_advisory_lock`` (polled with
growing pauses, as the file lock is, so ``wait=False`` can answer ``KeyBusy`` at once) and
held on a connection of its own for the whole write sequence (manifest push -> index commit
-> old manifest deleted), then released with ``pg_advisory_unlock``. A replica that dies
while holding one loses its session, and PostgreSQL lets the lock go: no lease to expire.

The connections come from an engine of their own, ``connections`` at most, apart from the
index's pool: a writer holding a lock still needs an index connection for its commit, and if
both came from one pool, as many writers as it has connections would wait forever for a
last one. Writers beyond ``connections`` wait for a free one (up to ``pool_timeout``). The
connections run in autocommit, so a held lock is not a transaction left open.

``reindex`` swaps the whole index for what it read from the registry; a write committed
between its read and its swap would vanish from the index. So every writer also holds one
more advisory lock, ``EVERY_KEY``, shared, and ``reindex`` takes it exclusive for its whole
run: it waits for the writers in flight, and writers arriving meanwhile wait for it (a
waiting exclusive request makes PostgreSQL refuse new shared ones, so a busy store cannot
starve it). Reads never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gateway.domain.locks import FIRST_PAUSE, LONGEST_PAUSE, KeyBusy, stable_digest

# The shared lock every writer holds and reindex takes alone: a number no key digest is
# likely to produce (the first 8 bytes of SHA-256("reindex")).
EVERY_KEY = int.from_bytes(hashlib.sha256(b"reindex").digest()[:8], "big", signed=True)


def lock_number(key: Hashable) -> int:
    """The key's advisory lock: a signed 64-bit number (PostgreSQL's bigint) from its digest.
    Two keys sharing one only take turns needlessly (2^-64 per pair)."""
    return int.from_bytes(stable_digest(key)[:8], "big", signed=True)


class AdvisoryLocks:
    def __init__(
        self, url: str, *, connections: int, pool_timeout: float, connect_args: dict[str, Any]
    ) -> None:
        self._engine = create_async_engine(
            url,
            pool_size=connections,
            max_overflow=0,
            pool_timeout=pool_timeout,
            pool_pre_ping=True,
            connect_args=connect_args,
        )

    def hold(self, key: Hashable, *, wait: bool) -> AbstractAsyncContextManager[None]:
        return self._hold(lock_number(key), wait=wait)

    @asynccontextmanager
    async def _hold(self, number: int, *, wait: bool) -> AsyncIterator[None]:
        async with self._engine.connect() as raw:
            conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
            try:
                await _acquire(conn, sa.func.pg_try_advisory_lock(number), wait=wait)
                await _acquire(conn, sa.func.pg_try_advisory_lock_shared(EVERY_KEY), wait=wait)
            except BaseException:
                # KeyBusy, cancelled or failed mid-call: a lock may be held; closing the
                # session lets it go
                await _discard(conn)
                raise
            try:
                yield
            finally:
                await _release(
                    conn,
                    sa.func.pg_advisory_unlock_shared(EVERY_KEY),
                    sa.func.pg_advisory_unlock(number),
                )

    @asynccontextmanager
    async def hold_every_key(self) -> AsyncIterator[None]:
        async with self._engine.connect() as raw:
            conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
            try:
                await conn.execute(sa.select(sa.func.pg_advisory_lock(EVERY_KEY)))
            except BaseException:
                await _discard(conn)
                raise
            try:
                yield
            finally:
                await _release(conn, sa.func.pg_advisory_unlock(EVERY_KEY))

    async def close(self) -> None:
        await self._engine.dispose()


async def _acquire(conn: AsyncConnection, attempt: sa.ColumnElement[Any], *, wait: bool) -> None:
    """Poll ``attempt`` (a ``pg_try_advisory_lock*`` call) with growing pauses."""
    pause = FIRST_PAUSE
    while not (await conn.execute(sa.select(attempt))).scalar_one():
        if not wait:
            raise KeyBusy()
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


async def _release(conn: AsyncConnection, *unlocks: sa.ColumnElement[Any]) -> None:
    """If the unlock does not complete (the connection was lost, which let the lock go with
    its session, or the task was cancelled), the connection is closed rather than pooled: a
    pooled connection still holding the lock would keep the key from every writer."""
    try:
        for unlock in unlocks:
            await conn.execute(sa.select(unlock))
    except (sa.exc.DBAPIError, OSError):
        await _discard(conn)  # the write's own outcome, already decided, is what counts
    except BaseException:
        await _discard(conn)
        raise


async def _discard(conn: AsyncConnection) -> None:
    """Close the connection's session (letting its advisory locks go), never pool it."""
    with contextlib.suppress(Exception):
        await conn.invalidate()
