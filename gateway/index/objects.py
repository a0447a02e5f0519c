"""Objects: the live version of each key (``ObjectIndex``). ``get_object_counted`` also counts
the referrers table's rows, in the same query; ``replace_object`` is the write that Complete
(uploads) shares."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.values import NO_LOCK, Layer, ObjectLock, ObjectRecord
from gateway.index.base import Column, Rows, SqlBase, absent, copied, from_ms, millis, to_ms
from gateway.index.schema import objects, referrers, versions


def _dump_layer(layer: Layer) -> list[str | int]:
    """``[digest, size]``, and the part's checksum third when it has one (rows written before
    part checksums were kept have two items: no migration needed, the column is JSON)."""
    row: list[str | int] = [layer.digest, layer.size]
    if layer.checksum is not None:
        row.append(layer.checksum)
    return row


def _load_layers(rows: list[list[Any]]) -> tuple[Layer, ...]:
    return tuple(Layer(str(row[0]), int(row[1]), row[2] if len(row) > 2 else None) for row in rows)


def _dump_lock(lock: ObjectLock) -> dict[str, Any] | None:
    if lock.empty and lock.manifest is None:
        return None
    return {
        "mode": lock.mode,
        "until": to_ms(lock.until) if lock.until is not None else None,
        "hold": lock.legal_hold,
        "manifest": lock.manifest,
    }


def _load_lock(value: dict[str, Any] | None) -> ObjectLock:
    if not value:
        return NO_LOCK
    until = value.get("until")
    return ObjectLock(
        mode=value.get("mode"),
        until=from_ms(until) if until is not None else None,
        legal_hold=bool(value.get("hold")),
        manifest=value.get("manifest"),
    )


LOCK = Column("lock", dump=_dump_lock, load=_load_lock)

# What a live object's row and an older version's row share.
_VERSION_COLUMNS: dict[str, Column] = {
    "last_modified": millis("last_modified_ms"),
    "layers": Column(
        "layers", dump=lambda layers: [_dump_layer(x) for x in layers], load=_load_layers
    ),
    "headers": copied("headers"),
    "metadata": copied("metadata"),
    "checksums": copied("checksums"),
    "tags": copied("tags"),
    "lock": LOCK,
}
object_rows = Rows(objects, ObjectRecord, **_VERSION_COLUMNS, delete_marker=absent())
version_rows = Rows(
    versions,
    ObjectRecord,
    **_VERSION_COLUMNS,
    version_id=Column(
        "version_id", dump=lambda v: v or "null", load=lambda v: None if v == "null" else v
    ),
)


@functools.lru_cache(maxsize=8)
def _counted_query(kinds: tuple[str, ...]) -> sa.Select[Any]:
    """The object's row with one correlated count of its current referrers per kind (built
    once: building a statement costs more than running it)."""
    counts = [
        sa.select(sa.func.count())
        .where(
            referrers.c.bucket == objects.c.bucket,
            referrers.c.key == objects.c.key,
            referrers.c.subject == objects.c.manifest_digest,
            referrers.c.kind == kind,
        )
        .scalar_subquery()
        .label(f"referrers_{number}")
        for number, kind in enumerate(kinds)
    ]
    return sa.select(objects, *counts).where(
        objects.c.bucket == sa.bindparam("bucket"), objects.c.key == sa.bindparam("key")
    )


async def replace_object(conn: AsyncConnection, record: ObjectRecord) -> None:
    """Make ``record`` (an object or a delete marker) its key's latest version, in the
    caller's transaction. The live row of the same version id is replaced (a bucket never
    versioned: always, as the null version replaces the null version); one of another id
    becomes a noncurrent version. A noncurrent version of the same id (the null version
    while versioning is suspended) is replaced too."""
    gone = (
        await conn.execute(
            objects.delete()
            .where(objects.c.bucket == record.bucket, objects.c.key == record.key)
            .returning(*objects.c)
        )
    ).first()
    previous = object_rows.record(gone) if gone is not None else None
    if previous is not None and previous.version_id != record.version_id:
        await conn.execute(versions.insert().values(version_rows.row(previous)))
    if previous is None or previous.version_id != record.version_id:
        await conn.execute(
            versions.delete().where(
                versions.c.bucket == record.bucket,
                versions.c.key == record.key,
                versions.c.version_id == (record.version_id or "null"),
            )
        )
    if record.delete_marker:
        await conn.execute(versions.insert().values(version_rows.row(record)))
    else:
        await conn.execute(objects.insert().values(object_rows.row(record)))


class SqlObjectIndex(SqlBase):
    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    objects.select().where(objects.c.bucket == bucket, objects.c.key == key)
                )
            ).first()
        return object_rows.record(row) if row else None

    async def get_object_counted(
        self, bucket: str, key: str, kinds: tuple[str, ...]
    ) -> tuple[ObjectRecord, dict[str, int]] | None:
        """The object and how many referrers of each of ``kinds`` its current manifest has,
        in one query (GET and HEAD answer both; a second query would double their index
        time)."""
        query = _counted_query(kinds)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query, {"bucket": bucket, "key": key})).first()
        if row is None:
            return None
        columns = row._mapping
        return object_rows.record(row), {
            kind: int(columns[f"referrers_{number}"]) for number, kind in enumerate(kinds)
        }

    async def put_object(self, record: ObjectRecord) -> None:
        """Make ``record`` the live version of its key (the commit is the visibility point)."""
        async with self._engine.begin() as conn:
            await replace_object(conn, record)

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
            return object_rows.record(row)

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
            return [object_rows.record(row) for row in await conn.execute(query)]
