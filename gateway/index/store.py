"""The metadata index: S3's fast path. Zot holds the truth; this can be rebuilt from it.

All SQL of the gateway lives here. Each method is one short transaction, and a write's
commit is the moment an object becomes visible (DESIGN.md §3).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.domain.errors import BucketNotEmpty
from gateway.domain.values import BucketRecord, Layer, ObjectRecord
from gateway.index.migrate import upgrade
from gateway.index.schema import buckets, objects


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _object_row(record: ObjectRecord) -> dict[str, Any]:
    return {
        "bucket": record.bucket,
        "key": record.key,
        "manifest_digest": record.manifest_digest,
        "size": record.size,
        "etag": record.etag,
        "last_modified_ms": _ms(record.last_modified),
        "layers": [[layer.digest, layer.size] for layer in record.layers],
        "headers": record.headers,
        "metadata": record.metadata,
        "checksums": record.checksums,
    }


def _object(row: sa.Row[Any]) -> ObjectRecord:
    return ObjectRecord(
        bucket=row.bucket,
        key=row.key,
        manifest_digest=row.manifest_digest,
        size=row.size,
        etag=row.etag,
        last_modified=_from_ms(row.last_modified_ms),
        layers=tuple(Layer(digest=d, size=s) for d, s in row.layers),
        headers=dict(row.headers),
        metadata=dict(row.metadata),
        checksums=dict(row.checksums),
    )


def _bucket_row(record: BucketRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "created_ms": _ms(record.created),
        "region": record.region,
        "settings": record.settings,
    }


def _bucket(row: sa.Row[Any]) -> BucketRecord:
    return BucketRecord(
        name=row.name,
        created=_from_ms(row.created_ms),
        region=row.region,
        settings=dict(row.settings),
    )


class SqlIndex:
    """The ``Index`` port over SQLAlchemy Core (async)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

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

    # -- buckets -----------------------------------------------------------------------------

    async def create_bucket(self, record: BucketRecord) -> bool:
        """Insert the bucket; False if it exists already."""
        async with self._engine.begin() as conn:
            found = await conn.scalar(
                sa.select(buckets.c.name).where(buckets.c.name == record.name)
            )
            if found is not None:
                return False
            await conn.execute(buckets.insert().values(_bucket_row(record)))
            return True

    async def get_bucket(self, name: str) -> BucketRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(buckets.select().where(buckets.c.name == name))).first()
        return _bucket(row) if row else None

    async def list_buckets(self) -> list[BucketRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(buckets.select().order_by(buckets.c.name))
            return [_bucket(row) for row in rows]

    async def delete_bucket(self, name: str) -> None:
        """Remove an empty bucket's row; BucketNotEmpty if any object is left."""
        async with self._engine.begin() as conn:
            any_key = await conn.scalar(
                sa.select(objects.c.key).where(objects.c.bucket == name).limit(1)
            )
            if any_key is not None:
                raise BucketNotEmpty()
            await conn.execute(buckets.delete().where(buckets.c.name == name))

    # -- objects -----------------------------------------------------------------------------

    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    objects.select().where(objects.c.bucket == bucket, objects.c.key == key)
                )
            ).first()
        return _object(row) if row else None

    async def put_object(self, record: ObjectRecord) -> None:
        """Make ``record`` the live version of its key (the commit is the visibility point)."""
        async with self._engine.begin() as conn:
            await self._replace(conn, record)

    @staticmethod
    async def _replace(conn: AsyncConnection, record: ObjectRecord) -> None:
        await conn.execute(
            objects.delete().where(objects.c.bucket == record.bucket, objects.c.key == record.key)
        )
        await conn.execute(objects.insert().values(_object_row(record)))

    async def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    objects.select().where(objects.c.bucket == bucket, objects.c.key == key)
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                objects.delete().where(objects.c.bucket == bucket, objects.c.key == key)
            )
            return _object(row)

    async def scan(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        """Up to ``limit`` objects of ``bucket`` in key order, from ``start`` on."""
        bound = objects.c.key >= start if inclusive else objects.c.key > start
        query = (
            objects.select()
            .where(objects.c.bucket == bucket, bound)
            .order_by(objects.c.key)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_object(row) for row in await conn.execute(query)]

    # -- reindex -----------------------------------------------------------------------------

    async def replace_all(
        self, bucket_records: Iterable[BucketRecord], object_records: Iterable[ObjectRecord]
    ) -> None:
        """Swap the whole index for what was read from the registry, in one transaction."""
        async with self._engine.begin() as conn:
            await conn.execute(objects.delete())
            await conn.execute(buckets.delete())
            bucket_rows = [_bucket_row(record) for record in bucket_records]
            if bucket_rows:
                await conn.execute(buckets.insert(), bucket_rows)
            batch: list[dict[str, Any]] = []
            for record in object_records:
                batch.append(_object_row(record))
                if len(batch) >= 1000:
                    await conn.execute(objects.insert(), batch)
                    batch = []
            if batch:
                await conn.execute(objects.insert(), batch)
