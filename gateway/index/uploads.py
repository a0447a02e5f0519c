"""Multipart uploads and their parts (``UploadIndex``). Complete writes the object's row too
(``objects.replace_object``), in the same transaction as it ends the upload.

A completed upload keeps its row (``completed_ms``, ``result``) to answer a repeated Complete;
``LIVE`` picks the uploads still in flight."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.domain.errors import NoSuchUpload
from gateway.domain.values import ObjectRecord, PartRecord, UploadRecord
from gateway.index.base import Column, Rows, SqlBase, copied, millis, to_ms
from gateway.index.objects import LOCK, replace_object
from gateway.index.schema import parts, uploads

LIVE = uploads.c.completed_ms.is_(None)

upload_rows = Rows(
    uploads,
    UploadRecord,
    initiated=millis("initiated_ms"),
    headers=copied("headers"),
    metadata=copied("metadata"),
    tags=copied("tags"),
    lock=LOCK,
    completed=Column("completed_ms", load=lambda ms: ms is not None, written=False),
)
# A part's row also holds its upload's id: ``part_rows.row(part, upload_id=...)``.
part_rows = Rows(parts, PartRecord, last_modified=millis("last_modified_ms"))


class SqlUploadIndex(SqlBase):
    async def create_upload(self, record: UploadRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(uploads.insert().values(upload_rows.row(record)))

    async def get_upload(self, upload_id: str, *, live: bool = True) -> UploadRecord | None:
        """A live upload (not completed, not aborted); with ``live=False`` also a completed
        one whose answer is still kept."""
        query = uploads.select().where(uploads.c.upload_id == upload_id)
        if live:
            query = query.where(LIVE)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return upload_rows.record(row) if row else None

    async def count_live_uploads(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                await conn.scalar(sa.select(sa.func.count()).select_from(uploads).where(LIVE)) or 0
            )

    async def completed_upload(self, upload_id: str) -> dict[str, Any] | None:
        """What a completed upload answered, for a repeated CompleteMultipartUpload."""
        query = sa.select(uploads.c.result).where(
            uploads.c.upload_id == upload_id, uploads.c.completed_ms.is_not(None)
        )
        async with self._engine.connect() as conn:
            result = await conn.scalar(query)
        return dict(result) if result is not None else None

    async def put_part(self, upload_id: str, part: PartRecord) -> PartRecord | None:
        """Record a part (replacing one of the same number, which is returned); NoSuchUpload
        if the upload ended meanwhile."""
        async with self._engine.begin() as conn:
            live = await conn.scalar(
                sa.select(uploads.c.upload_id)
                .where(uploads.c.upload_id == upload_id, LIVE)
                .with_for_update()
            )
            if live is None:
                raise NoSuchUpload()
            match = (parts.c.upload_id == upload_id, parts.c.part_number == part.part_number)
            row = (await conn.execute(parts.select().where(*match))).first()
            if row is not None:
                await conn.execute(parts.delete().where(*match))
            await conn.execute(parts.insert().values(part_rows.row(part, upload_id=upload_id)))
        return part_rows.record(row) if row else None

    async def list_parts(
        self, upload_id: str, after: int = 0, limit: int | None = None
    ) -> list[PartRecord]:
        query = (
            parts.select()
            .where(parts.c.upload_id == upload_id, parts.c.part_number > after)
            .order_by(parts.c.part_number)
        )
        if limit is not None:
            query = query.limit(limit)
        async with self._engine.connect() as conn:
            return [part_rows.record(row) for row in await conn.execute(query)]

    async def list_uploads(
        self, bucket: str, prefix: str, key_marker: str, upload_id_marker: str, limit: int
    ) -> list[UploadRecord]:
        """Live uploads of ``bucket`` in (key, upload id) order after the markers."""
        query = uploads.select().where(uploads.c.bucket == bucket, LIVE)
        if prefix:
            query = query.where(uploads.c.key >= prefix)
        if key_marker:
            after_marker = uploads.c.key > key_marker
            if upload_id_marker:
                after_marker = sa.or_(
                    after_marker,
                    sa.and_(uploads.c.key == key_marker, uploads.c.upload_id > upload_id_marker),
                )
            query = query.where(after_marker)
        query = query.order_by(uploads.c.key, uploads.c.upload_id).limit(limit)
        async with self._engine.connect() as conn:
            return [upload_rows.record(row) for row in await conn.execute(query)]

    async def complete_upload(
        self, upload_id: str, record: ObjectRecord, result: dict[str, Any]
    ) -> None:
        """In one transaction: the object goes live, the upload is marked done, its parts go."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                uploads.update()
                .where(uploads.c.upload_id == upload_id, LIVE)
                .values(completed_ms=to_ms(record.last_modified), result=result)
            )
            if done.rowcount != 1:
                raise NoSuchUpload()
            await replace_object(conn, record)
            await conn.execute(parts.delete().where(parts.c.upload_id == upload_id))

    async def delete_upload(self, upload_id: str) -> list[PartRecord]:
        """Forget a live upload and its parts; returns the parts (their manifests are left to
        the caller). NoSuchUpload if it is not live."""
        async with self._engine.begin() as conn:
            rows = await conn.execute(parts.select().where(parts.c.upload_id == upload_id))
            removed = [part_rows.record(row) for row in rows]
            gone = await conn.execute(
                uploads.delete().where(uploads.c.upload_id == upload_id, LIVE)
            )
            if gone.rowcount != 1:
                raise NoSuchUpload()
            await conn.execute(parts.delete().where(parts.c.upload_id == upload_id))
        return removed

    async def stale_uploads(self, before: datetime) -> list[UploadRecord]:
        """Live uploads initiated before ``before`` (to abort), oldest first."""
        query = (
            uploads.select()
            .where(LIVE, uploads.c.initiated_ms < to_ms(before))
            .order_by(uploads.c.initiated_ms)
        )
        async with self._engine.connect() as conn:
            return [upload_rows.record(row) for row in await conn.execute(query)]

    async def forget_completed_uploads(self, before: datetime) -> int:
        """Drop the answers of uploads completed before ``before``."""
        async with self._engine.begin() as conn:
            gone = await conn.execute(
                uploads.delete().where(
                    uploads.c.completed_ms.is_not(None), uploads.c.completed_ms < to_ms(before)
                )
            )
        return int(gone.rowcount)
