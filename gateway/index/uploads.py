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
from gateway.index.base import SqlBase, from_ms, to_ms
from gateway.index.objects import replace_object
from gateway.index.schema import parts, uploads

LIVE = uploads.c.completed_ms.is_(None)


def upload_row(record: UploadRecord) -> dict[str, Any]:
    return {
        "upload_id": record.upload_id,
        "bucket": record.bucket,
        "key": record.key,
        "initiated_ms": to_ms(record.initiated),
        "headers": record.headers,
        "metadata": record.metadata,
        "checksum_algorithm": record.checksum_algorithm,
        "checksum_type": record.checksum_type,
        "length": record.length,
    }


def upload_record(row: sa.Row[Any]) -> UploadRecord:
    return UploadRecord(
        upload_id=row.upload_id,
        bucket=row.bucket,
        key=row.key,
        initiated=from_ms(row.initiated_ms),
        headers=dict(row.headers),
        metadata=dict(row.metadata),
        checksum_algorithm=row.checksum_algorithm,
        checksum_type=row.checksum_type,
        length=row.length,
        completed=row.completed_ms is not None,
    )


def part_row(upload_id: str, part: PartRecord) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "part_number": part.part_number,
        "size": part.size,
        "etag": part.etag,
        "digest": part.digest,
        "last_modified_ms": to_ms(part.last_modified),
        "manifest_digest": part.manifest_digest,
        "checksum": part.checksum,
    }


def part_record(row: sa.Row[Any]) -> PartRecord:
    return PartRecord(
        part_number=row.part_number,
        size=row.size,
        etag=row.etag,
        digest=row.digest,
        last_modified=from_ms(row.last_modified_ms),
        manifest_digest=row.manifest_digest,
        checksum=row.checksum,
    )


class SqlUploadIndex(SqlBase):
    async def create_upload(self, record: UploadRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(uploads.insert().values(upload_row(record)))

    async def get_upload(self, upload_id: str, *, live: bool = True) -> UploadRecord | None:
        """A live upload (not completed, not aborted); with ``live=False`` also a completed
        one whose answer is still kept."""
        query = uploads.select().where(uploads.c.upload_id == upload_id)
        if live:
            query = query.where(LIVE)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return upload_record(row) if row else None

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
            await conn.execute(parts.insert().values(part_row(upload_id, part)))
        return part_record(row) if row else None

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
            return [part_record(row) for row in await conn.execute(query)]

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
            return [upload_record(row) for row in await conn.execute(query)]

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
            removed = [part_record(row) for row in rows]
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
            return [upload_record(row) for row in await conn.execute(query)]

    async def forget_completed_uploads(self, before: datetime) -> int:
        """Drop the answers of uploads completed before ``before``."""
        async with self._engine.begin() as conn:
            gone = await conn.execute(
                uploads.delete().where(
                    uploads.c.completed_ms.is_not(None), uploads.c.completed_ms < to_ms(before)
                )
            )
        return int(gone.rowcount)
