"""Buckets (``BucketIndex``). Deleting a bucket also drops its uploads in flight and their
parts, in the same transaction, so it reads the uploads family's tables too."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.domain.errors import BucketNotEmpty
from gateway.domain.values import BucketRecord, UploadRecord
from gateway.index.base import Rows, SqlBase, copied, millis
from gateway.index.schema import buckets, objects, parts, uploads, versions
from gateway.index.uploads import LIVE, upload_rows

bucket_rows = Rows(buckets, BucketRecord, created=millis("created_ms"), settings=copied("settings"))


class SqlBucketIndex(SqlBase):
    async def create_bucket(self, record: BucketRecord) -> bool:
        """Insert the bucket; False if it exists already."""
        async with self._engine.begin() as conn:
            found = await conn.scalar(
                sa.select(buckets.c.name).where(buckets.c.name == record.name)
            )
            if found is not None:
                return False
            await conn.execute(buckets.insert().values(bucket_rows.row(record)))
            return True

    async def update_bucket(self, record: BucketRecord) -> None:
        """Store a bucket's changed settings."""
        async with self._engine.begin() as conn:
            await conn.execute(
                buckets.update()
                .where(buckets.c.name == record.name)
                .values(settings=record.settings)
            )

    async def get_bucket(self, name: str) -> BucketRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(buckets.select().where(buckets.c.name == name))).first()
        return bucket_rows.record(row) if row else None

    async def list_buckets(
        self, *, prefix: str = "", after: str = "", region: str | None = None, limit: int = 0
    ) -> list[BucketRecord]:
        # Code-point order: SQLite's BINARY collation is that, PostgreSQL's "C" (the column
        # itself keeps the database's default, which may order "a-b" after "ab").
        name: sa.ColumnElement[str] = buckets.c.name
        if self._engine.dialect.name == "postgresql":
            name = name.collate("C")
        query = buckets.select().order_by(name)
        if prefix:
            query = query.where(sa.func.substr(buckets.c.name, 1, len(prefix)) == prefix)
        if after:
            query = query.where(name > after)
        if region is not None:
            query = query.where(buckets.c.region == region)
        if limit:
            query = query.limit(limit)
        async with self._engine.connect() as conn:
            rows = await conn.execute(query)
            return [bucket_rows.record(row) for row in rows]

    async def delete_bucket(self, name: str) -> tuple[list[UploadRecord], list[tuple[str, str]]]:
        """Remove an empty bucket's row, and its uploads in flight (S3 drops them with the
        bucket); returns those uploads and (key, part manifest digest) of their parts for the
        caller to release. BucketNotEmpty if any object is left."""
        async with self._engine.begin() as conn:
            any_key = await conn.scalar(
                sa.select(objects.c.key).where(objects.c.bucket == name).limit(1)
            )
            if any_key is None:  # noncurrent versions and delete markers count too
                any_key = await conn.scalar(
                    sa.select(versions.c.key).where(versions.c.bucket == name).limit(1)
                )
            if any_key is not None:
                raise BucketNotEmpty()
            in_flight = sa.select(uploads.c.upload_id).where(uploads.c.bucket == name)
            rows = await conn.execute(
                sa.select(uploads.c.key, parts.c.manifest_digest)
                .join(parts, parts.c.upload_id == uploads.c.upload_id)
                .where(uploads.c.bucket == name)
            )
            released = [(row.key, row.manifest_digest) for row in rows]
            live = await conn.execute(
                uploads.select().where(uploads.c.bucket == name, LIVE).order_by(uploads.c.upload_id)
            )
            ended = [upload_rows.record(row) for row in live]
            await conn.execute(parts.delete().where(parts.c.upload_id.in_(in_flight)))
            await conn.execute(uploads.delete().where(uploads.c.bucket == name))
            await conn.execute(buckets.delete().where(buckets.c.name == name))
        return ended, released
