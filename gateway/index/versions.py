"""Versions of keys in versioned buckets (``VersionIndex``): the live object is the key's row
in ``objects`` (with its version id); noncurrent versions and delete markers are rows of
``versions``. A key's latest version is its live object if it has one, else its newest
delete marker. Writes that make a new latest version go through ``objects.replace_object``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.values import ObjectLock, ObjectRecord
from gateway.index.base import SqlBase
from gateway.index.objects import LOCK, object_rows, replace_object, version_rows
from gateway.index.schema import objects, versions


async def _key_versions(conn: AsyncConnection, bucket: str, key: str) -> list[ObjectRecord]:
    live = (
        await conn.execute(objects.select().where(objects.c.bucket == bucket, objects.c.key == key))
    ).first()
    rest = await conn.execute(
        versions.select()
        .where(versions.c.bucket == bucket, versions.c.key == key)
        .order_by(versions.c.last_modified_ms.desc(), versions.c.version_id.desc())
    )
    found = [version_rows.record(row) for row in rest]
    return ([object_rows.record(live)] if live is not None else []) + found


class SqlVersionIndex(SqlBase):
    async def key_versions(self, bucket: str, key: str) -> list[ObjectRecord]:
        """Every version of the key, newest first (the live object first, if any)."""
        async with self._engine.connect() as conn:
            return await _key_versions(conn, bucket, key)

    async def get_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> ObjectRecord | None:
        live = (
            objects.c.version_id.is_(None)
            if version_id is None
            else objects.c.version_id == version_id
        )
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    objects.select().where(objects.c.bucket == bucket, objects.c.key == key, live)
                )
            ).first()
            if row is not None:
                return object_rows.record(row)
            row = (
                await conn.execute(
                    versions.select().where(
                        versions.c.bucket == bucket,
                        versions.c.key == key,
                        versions.c.version_id == (version_id or "null"),
                    )
                )
            ).first()
        return version_rows.record(row) if row is not None else None

    async def put_version(self, record: ObjectRecord) -> None:
        """Make ``record`` (an object or a delete marker) the key's latest version."""
        async with self._engine.begin() as conn:
            await replace_object(conn, record)

    async def retag_version(self, record: ObjectRecord) -> None:
        values = {"tags": record.tags, "tagging": record.tagging}
        async with self._engine.begin() as conn:
            live = (
                objects.c.version_id.is_(None)
                if record.version_id is None
                else objects.c.version_id == record.version_id
            )
            done = await conn.execute(
                objects.update()
                .where(objects.c.bucket == record.bucket, objects.c.key == record.key, live)
                .values(**values)
            )
            if done.rowcount:
                return
            await conn.execute(
                versions.update()
                .where(
                    versions.c.bucket == record.bucket,
                    versions.c.key == record.key,
                    versions.c.version_id == record.version,
                )
                .values(**values)
            )

    async def remove_version(self, bucket: str, key: str, version_id: str | None) -> None:
        """Forget one version for good; if the key is left without a live object and its
        newest remaining version is an object, that one becomes live."""
        async with self._engine.begin() as conn:
            live = (
                objects.c.version_id.is_(None)
                if version_id is None
                else objects.c.version_id == version_id
            )
            await conn.execute(
                objects.delete().where(objects.c.bucket == bucket, objects.c.key == key, live)
            )
            await conn.execute(
                versions.delete().where(
                    versions.c.bucket == bucket,
                    versions.c.key == key,
                    versions.c.version_id == (version_id or "null"),
                )
            )
            remaining = await _key_versions(conn, bucket, key)
            if not remaining or remaining[0].delete_marker:
                return
            newest = remaining[0]
            if (
                await conn.scalar(
                    sa.select(objects.c.key).where(objects.c.bucket == bucket, objects.c.key == key)
                )
                is None
            ):
                await conn.execute(
                    versions.delete().where(
                        versions.c.bucket == bucket,
                        versions.c.key == key,
                        versions.c.version_id == newest.version,
                    )
                )
                await conn.execute(objects.insert().values(object_rows.row(newest)))

    async def scan_versions(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        """At least the versions of up to ``limit`` rows' worth of keys of ``bucket`` from
        ``start`` on, whole keys only (a key's versions are never split across calls), in key
        order and, within a key, newest first."""
        live_bound = objects.c.key >= start if inclusive else objects.c.key > start
        rest_bound = versions.c.key >= start if inclusive else versions.c.key > start
        async with self._engine.connect() as conn:
            keys: list[str] = sorted(
                set(
                    await conn.scalars(
                        sa.select(objects.c.key)
                        .where(objects.c.bucket == bucket, live_bound)
                        .order_by(objects.c.key)
                        .limit(limit)
                    )
                )
                | set(
                    await conn.scalars(
                        sa.select(versions.c.key)
                        .where(versions.c.bucket == bucket, rest_bound)
                        .group_by(versions.c.key)
                        .order_by(versions.c.key)
                        .limit(limit)
                    )
                )
            )[:limit]
            if not keys:
                return []
            last = keys[-1]
            first_bound: Any = (objects.c.key >= start) if inclusive else (objects.c.key > start)
            live = await conn.execute(
                objects.select().where(
                    objects.c.bucket == bucket, first_bound, objects.c.key <= last
                )
            )
            rest_first: Any = (versions.c.key >= start) if inclusive else (versions.c.key > start)
            rest = await conn.execute(
                versions.select().where(
                    versions.c.bucket == bucket, rest_first, versions.c.key <= last
                )
            )
            current = {row.key: object_rows.record(row) for row in live}
            older: dict[str, list[ObjectRecord]] = {}
            for row in rest:
                older.setdefault(row.key, []).append(version_rows.record(row))
        entries: list[ObjectRecord] = []
        for key in sorted(current.keys() | older.keys()):
            if key in current:  # the live object is always the key's newest version
                entries.append(current[key])
            entries.extend(
                sorted(older.get(key, []), key=lambda e: (e.last_modified, e.version), reverse=True)
            )
        return entries

    async def set_lock(
        self, bucket: str, key: str, version_id: str | None, lock: ObjectLock
    ) -> bool:
        value = LOCK.dump(lock)
        live = (
            objects.c.version_id.is_(None)
            if version_id is None
            else objects.c.version_id == version_id
        )
        async with self._engine.begin() as conn:
            done = await conn.execute(
                objects.update()
                .where(objects.c.bucket == bucket, objects.c.key == key, live)
                .values(lock=value)
            )
            if done.rowcount:
                return True
            done = await conn.execute(
                versions.update()
                .where(
                    versions.c.bucket == bucket,
                    versions.c.key == key,
                    versions.c.version_id == (version_id or "null"),
                    versions.c.delete_marker.is_(False),
                )
                .values(lock=value)
            )
            return bool(done.rowcount)
