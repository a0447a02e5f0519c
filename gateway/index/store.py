"""``SqlIndex``: the ``Index`` port, made of one class per table family (buckets.py,
objects.py, uploads.py, access_keys.py, referrers.py, as the port's protocols are) over one
engine. What spans every family stays here: opening the database (with its migrations),
``ping``, ``close``, ``replace_all``, the rebuild that ``reindex`` writes in one
transaction, and ``contents``, what ``reindex --check`` compares with it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gateway.domain.values import (
    BucketRecord,
    IndexContents,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)
from gateway.index.access_keys import SqlAccessKeyIndex
from gateway.index.base import to_ms
from gateway.index.buckets import SqlBucketIndex, bucket_rows
from gateway.index.measured import measured
from gateway.index.migrate import revisions, upgrade
from gateway.index.objects import SqlObjectIndex, object_rows, version_rows
from gateway.index.referrers import SqlReferrerIndex, referrer_rows
from gateway.index.schema import buckets, health, objects, parts, referrers, uploads, versions
from gateway.index.uploads import LIVE, SqlUploadIndex, part_rows, upload_rows
from gateway.index.versions import SqlVersionIndex

if TYPE_CHECKING:
    from gateway.domain.ports.index import Index


class IndexNotReady(Exception):
    """The index cannot be read as it is (missing, or an older schema) without changing it."""


def _sqlite_file(url: str, *, create: bool) -> None:
    """A SQLite file's directory made (``create``), or the file found (IndexNotReady)."""
    database = sa.engine.make_url(url).database if url.startswith("sqlite") else None
    if not database or database == ":memory:":
        return
    if create:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    elif not Path(database).exists():
        raise IndexNotReady(f"no index at {database}")


BUSY_TIMEOUT_MS = 10_000  # how long a writer waits for another's lock, then IndexBusy


@dataclass(frozen=True)
class Pool:
    """The index's connection pool on PostgreSQL (SQLite keeps SQLAlchemy's own choice:
    one file, no server to spare)."""

    size: int = 5
    overflow: int = 10
    timeout: float = 30.0

    def engine_options(self, url: str) -> dict[str, Any]:
        if not is_postgresql(url):
            return {}
        return {
            "pool_size": self.size,
            "max_overflow": self.overflow,
            "pool_timeout": self.timeout,
        }


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def connect_args(url: str) -> dict[str, Any]:
    """PostgreSQL waits for a lock as long as SQLite does, then refuses (IndexBusy)."""
    if url.startswith("postgresql+asyncpg"):
        return {"server_settings": {"lock_timeout": str(BUSY_TIMEOUT_MS)}}
    return {}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@measured
class SqlIndex(
    SqlBucketIndex,
    SqlObjectIndex,
    SqlVersionIndex,
    SqlUploadIndex,
    SqlAccessKeyIndex,
    SqlReferrerIndex,
):
    """The ``Index`` port over SQLAlchemy Core (async), on SQLite or PostgreSQL."""

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, pool: Pool = Pool()) -> SqlIndex:
        """The index at ``url``, its schema brought up to date. ``migrate=False`` changes
        nothing (``reindex --check``): a database that does not exist, or whose schema is
        not this code's, is ``IndexNotReady``."""
        _sqlite_file(url, create=migrate)
        engine = create_async_engine(
            url, connect_args=connect_args(url), **pool.engine_options(url)
        )
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if migrate:
            await upgrade(engine)
        else:
            current, head = await revisions(engine)
            if current != head:
                await engine.dispose()
                raise IndexNotReady(
                    f"the index's schema is at revision {current}, this gateway's at {head}: "
                    "start the gateway once (it migrates the schema) and check again"
                )
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def write_probe(self, name: str) -> None:
        """Rewrite the health table's row ``name`` and commit (an upsert, so that probes of
        several processes never collide)."""
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        checked = to_ms(datetime.now(UTC))
        statement = (
            dialect.insert(health)
            .values(name=name, checked_ms=checked)
            .on_conflict_do_update(index_elements=[health.c.name], set_={"checked_ms": checked})
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def replace_all(
        self,
        bucket_records: Iterable[BucketRecord],
        object_records: Iterable[ObjectRecord],
        referrer_records: Iterable[ReferrerRecord] = (),
        upload_records: Iterable[UploadRecord] = (),
        part_records: Iterable[tuple[str, PartRecord]] = (),
        version_records: Iterable[ObjectRecord] = (),
    ) -> None:
        """Swap the whole index for what was read from the registry, in one transaction.

        Live uploads and their parts are replaced too; completed uploads' rows (kept only to
        answer a repeated Complete, not in the registry) stay, and win over a live upload of
        the same id rebuilt from a record manifest that Complete had not yet deleted. Access
        keys are not in the registry: they stay as they are."""
        async with self._engine.begin() as conn:
            await conn.execute(referrers.delete())
            await conn.execute(objects.delete())
            await conn.execute(versions.delete())
            await conn.execute(buckets.delete())
            await conn.execute(parts.delete())
            await conn.execute(uploads.delete().where(LIVE))
            await _insert(conn, referrers, map(referrer_rows.row, referrer_records))
            await _insert(conn, buckets, map(bucket_rows.row, bucket_records))
            await _insert(conn, objects, map(object_rows.row, object_records))
            await _insert(conn, versions, map(version_rows.row, version_records))
            done = set(await conn.scalars(sa.select(uploads.c.upload_id)))
            fresh = [upload_rows.row(u) for u in upload_records if u.upload_id not in done]
            await _insert(conn, uploads, fresh)
            live = {row["upload_id"] for row in fresh}
            rows = (part_rows.row(part, upload_id=u) for u, part in part_records if u in live)
            await _insert(conn, parts, rows)

    async def contents(self) -> IndexContents:
        """Every row of the tables ``replace_all`` swaps, over one connection, in key order
        (reads only: ``reindex --check`` must change nothing)."""
        async with self._engine.connect() as conn:
            bucket_list = await conn.execute(buckets.select().order_by(buckets.c.name))
            found_buckets = tuple(bucket_rows.record(row) for row in bucket_list)
            by_key = (objects.c.bucket, objects.c.key)
            live = await conn.execute(objects.select().order_by(*by_key))
            found_objects = tuple(object_rows.record(row) for row in live)
            older = await conn.execute(
                versions.select().order_by(versions.c.bucket, versions.c.key, versions.c.version_id)
            )
            found_versions = tuple(version_rows.record(row) for row in older)
            rows = await conn.execute(
                referrers.select().order_by(referrers.c.bucket, referrers.c.key, referrers.c.digest)
            )
            found_referrers = tuple(referrer_rows.record(row) for row in rows)
            listed = await conn.execute(uploads.select().order_by(uploads.c.upload_id))
            found_uploads = tuple(upload_rows.record(row) for row in listed)
            part_list = await conn.execute(
                parts.select().order_by(parts.c.upload_id, parts.c.part_number)
            )
            found_parts = tuple((row.upload_id, part_rows.record(row)) for row in part_list)
        return IndexContents(
            buckets=found_buckets,
            objects=found_objects,
            versions=found_versions,
            referrers=found_referrers,
            uploads=found_uploads,
            parts=found_parts,
        )


async def _insert(conn: AsyncConnection, table: sa.Table, rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows`` in batches of 1000 (executemany), however many there are."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= 1000:
            await conn.execute(table.insert(), batch)
            batch = []
    if batch:
        await conn.execute(table.insert(), batch)


if TYPE_CHECKING:

    def _conforms(index: SqlIndex) -> Index:
        """mypy holds ``SqlIndex`` to the port: every method of it, typed alike."""
        return index
