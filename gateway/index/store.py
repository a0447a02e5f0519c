"""``SqlIndex``: the ``Index`` port, made of one class per table family (buckets.py,
objects.py, uploads.py, access_keys.py, referrers.py, as the port's protocols are) over one
engine. What spans every family stays here: opening the database (with its migrations),
``ping``, ``close``, and ``replace_all``, the rebuild that ``reindex`` writes in one
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gateway.domain.values import (
    BucketRecord,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)
from gateway.index.access_keys import SqlAccessKeyIndex
from gateway.index.base import to_ms
from gateway.index.buckets import SqlBucketIndex, bucket_rows
from gateway.index.measured import measured
from gateway.index.migrate import upgrade
from gateway.index.objects import SqlObjectIndex, object_rows, version_rows
from gateway.index.referrers import SqlReferrerIndex, referrer_rows
from gateway.index.schema import buckets, health, objects, parts, referrers, uploads, versions
from gateway.index.uploads import LIVE, SqlUploadIndex, part_rows, upload_rows
from gateway.index.versions import SqlVersionIndex

if TYPE_CHECKING:
    from gateway.domain.ports.index import Index


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
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
    async def open(cls, url: str) -> SqlIndex:
        if url.startswith("sqlite"):
            database = sa.engine.make_url(url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        await upgrade(engine)
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
