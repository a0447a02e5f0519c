"""The metadata index: S3's fast path. Zot holds the truth; this can be rebuilt from it.

All SQL of the gateway lives here. Each method is one short transaction, and a write's
commit is the moment an object becomes visible (DESIGN.md §3).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.domain.errors import BucketNotEmpty, NoSuchUpload
from gateway.domain.values import (
    AccessKeyRecord,
    BucketRecord,
    Layer,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)
from gateway.index.migrate import upgrade
from gateway.index.schema import access_keys, buckets, objects, parts, referrers, uploads


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


def _upload_row(record: UploadRecord) -> dict[str, Any]:
    return {
        "upload_id": record.upload_id,
        "bucket": record.bucket,
        "key": record.key,
        "initiated_ms": _ms(record.initiated),
        "headers": record.headers,
        "metadata": record.metadata,
        "checksum_algorithm": record.checksum_algorithm,
        "checksum_type": record.checksum_type,
        "length": record.length,
    }


def _upload(row: sa.Row[Any]) -> UploadRecord:
    return UploadRecord(
        upload_id=row.upload_id,
        bucket=row.bucket,
        key=row.key,
        initiated=_from_ms(row.initiated_ms),
        headers=dict(row.headers),
        metadata=dict(row.metadata),
        checksum_algorithm=row.checksum_algorithm,
        checksum_type=row.checksum_type,
        length=row.length,
        completed=row.completed_ms is not None,
    )


def _part_row(upload_id: str, part: PartRecord) -> dict[str, Any]:
    return {
        "upload_id": upload_id,
        "part_number": part.part_number,
        "size": part.size,
        "etag": part.etag,
        "digest": part.digest,
        "last_modified_ms": _ms(part.last_modified),
        "manifest_digest": part.manifest_digest,
        "checksum": part.checksum,
    }


def _part(row: sa.Row[Any]) -> PartRecord:
    return PartRecord(
        part_number=row.part_number,
        size=row.size,
        etag=row.etag,
        digest=row.digest,
        last_modified=_from_ms(row.last_modified_ms),
        manifest_digest=row.manifest_digest,
        checksum=row.checksum,
    )


_LIVE = uploads.c.completed_ms.is_(None)


def _referrer_row(record: ReferrerRecord) -> dict[str, Any]:
    return {
        "bucket": record.bucket,
        "key": record.key,
        "digest": record.digest,
        "subject": record.subject,
        "kind": record.kind,
        "artifact_type": record.artifact_type,
        "media_type": record.media_type,
        "blob_digest": record.blob_digest,
        "size": record.size,
        "manifest_size": record.manifest_size,
        "created_ms": _ms(record.created),
        "predicate_type": record.predicate_type,
    }


def _referrer(row: sa.Row[Any]) -> ReferrerRecord:
    return ReferrerRecord(
        bucket=row.bucket,
        key=row.key,
        subject=row.subject,
        digest=row.digest,
        kind=row.kind,
        artifact_type=row.artifact_type,
        media_type=row.media_type,
        blob_digest=row.blob_digest,
        size=row.size,
        manifest_size=row.manifest_size,
        created=_from_ms(row.created_ms),
        predicate_type=row.predicate_type,
    )


def _key(row: sa.Row[Any]) -> AccessKeyRecord:
    return AccessKeyRecord(
        access_key_id=row.access_key_id,
        secret_sealed=row.secret_sealed,
        owner=row.owner,
        created=_from_ms(row.created_ms),
        subject=row.subject,
        roles=frozenset(row.roles),
        groups=frozenset(row.groups),
        policy=row.policy,
        description=row.description,
        revoked=_from_ms(row.revoked_ms) if row.revoked_ms is not None else None,
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
        return _bucket(row) if row else None

    async def list_buckets(self) -> list[BucketRecord]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(buckets.select().order_by(buckets.c.name))
            return [_bucket(row) for row in rows]

    async def delete_bucket(self, name: str) -> tuple[list[UploadRecord], list[tuple[str, str]]]:
        """Remove an empty bucket's row, and its uploads in flight (S3 drops them with the
        bucket); returns those uploads and (key, part manifest digest) of their parts for the
        caller to release. BucketNotEmpty if any object is left."""
        async with self._engine.begin() as conn:
            any_key = await conn.scalar(
                sa.select(objects.c.key).where(objects.c.bucket == name).limit(1)
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
                uploads.select()
                .where(uploads.c.bucket == name, _LIVE)
                .order_by(uploads.c.upload_id)
            )
            ended = [_upload(row) for row in live]
            await conn.execute(parts.delete().where(parts.c.upload_id.in_(in_flight)))
            await conn.execute(uploads.delete().where(uploads.c.bucket == name))
            await conn.execute(buckets.delete().where(buckets.c.name == name))
        return ended, released

    # -- objects -----------------------------------------------------------------------------

    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    objects.select().where(objects.c.bucket == bucket, objects.c.key == key)
                )
            ).first()
        return _object(row) if row else None

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
        return _object(row), {
            kind: int(columns[f"referrers_{number}"]) for number, kind in enumerate(kinds)
        }

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

    # -- multipart uploads -------------------------------------------------------------------

    async def create_upload(self, record: UploadRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(uploads.insert().values(_upload_row(record)))

    async def get_upload(self, upload_id: str, *, live: bool = True) -> UploadRecord | None:
        """A live upload (not completed, not aborted); with ``live=False`` also a completed
        one whose answer is still kept."""
        query = uploads.select().where(uploads.c.upload_id == upload_id)
        if live:
            query = query.where(_LIVE)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _upload(row) if row else None

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
                .where(uploads.c.upload_id == upload_id, _LIVE)
                .with_for_update()
            )
            if live is None:
                raise NoSuchUpload()
            match = (parts.c.upload_id == upload_id, parts.c.part_number == part.part_number)
            row = (await conn.execute(parts.select().where(*match))).first()
            if row is not None:
                await conn.execute(parts.delete().where(*match))
            await conn.execute(parts.insert().values(_part_row(upload_id, part)))
        return _part(row) if row else None

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
            return [_part(row) for row in await conn.execute(query)]

    async def list_uploads(
        self, bucket: str, prefix: str, key_marker: str, upload_id_marker: str, limit: int
    ) -> list[UploadRecord]:
        """Live uploads of ``bucket`` in (key, upload id) order after the markers."""
        query = uploads.select().where(uploads.c.bucket == bucket, _LIVE)
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
            return [_upload(row) for row in await conn.execute(query)]

    async def complete_upload(
        self, upload_id: str, record: ObjectRecord, result: dict[str, Any]
    ) -> None:
        """In one transaction: the object goes live, the upload is marked done, its parts go."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                uploads.update()
                .where(uploads.c.upload_id == upload_id, _LIVE)
                .values(completed_ms=_ms(record.last_modified), result=result)
            )
            if done.rowcount != 1:
                raise NoSuchUpload()
            await self._replace(conn, record)
            await conn.execute(parts.delete().where(parts.c.upload_id == upload_id))

    async def delete_upload(self, upload_id: str) -> list[PartRecord]:
        """Forget a live upload and its parts; returns the parts (their manifests are left to
        the caller). NoSuchUpload if it is not live."""
        async with self._engine.begin() as conn:
            rows = await conn.execute(parts.select().where(parts.c.upload_id == upload_id))
            removed = [_part(row) for row in rows]
            gone = await conn.execute(
                uploads.delete().where(uploads.c.upload_id == upload_id, _LIVE)
            )
            if gone.rowcount != 1:
                raise NoSuchUpload()
            await conn.execute(parts.delete().where(parts.c.upload_id == upload_id))
        return removed

    async def stale_uploads(self, before: datetime) -> list[UploadRecord]:
        """Live uploads initiated before ``before`` (to abort), oldest first."""
        query = (
            uploads.select()
            .where(_LIVE, uploads.c.initiated_ms < _ms(before))
            .order_by(uploads.c.initiated_ms)
        )
        async with self._engine.connect() as conn:
            return [_upload(row) for row in await conn.execute(query)]

    async def forget_completed_uploads(self, before: datetime) -> int:
        """Drop the answers of uploads completed before ``before``."""
        async with self._engine.begin() as conn:
            gone = await conn.execute(
                uploads.delete().where(
                    uploads.c.completed_ms.is_not(None), uploads.c.completed_ms < _ms(before)
                )
            )
        return int(gone.rowcount)

    # -- access keys -------------------------------------------------------------------------

    async def create_access_key(self, record: AccessKeyRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                access_keys.insert().values(
                    access_key_id=record.access_key_id,
                    secret_sealed=record.secret_sealed,
                    owner=record.owner,
                    subject=record.subject,
                    roles=sorted(record.roles),
                    groups=sorted(record.groups),
                    policy=record.policy,
                    description=record.description,
                    created_ms=_ms(record.created),
                )
            )

    async def get_access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        """A key that is not revoked."""
        query = access_keys.select().where(
            access_keys.c.access_key_id == access_key_id, access_keys.c.revoked_ms.is_(None)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _key(row) if row else None

    async def list_access_keys(self, owner: str) -> list[AccessKeyRecord]:
        query = (
            access_keys.select()
            .where(access_keys.c.owner == owner, access_keys.c.revoked_ms.is_(None))
            .order_by(access_keys.c.created_ms, access_keys.c.access_key_id)
        )
        async with self._engine.connect() as conn:
            return [_key(row) for row in await conn.execute(query)]

    async def revoke_access_key(self, access_key_id: str, owner: str, when: datetime) -> bool:
        """Revoke ``owner``'s key; False if there is no such live key of theirs."""
        async with self._engine.begin() as conn:
            done = await conn.execute(
                access_keys.update()
                .where(
                    access_keys.c.access_key_id == access_key_id,
                    access_keys.c.owner == owner,
                    access_keys.c.revoked_ms.is_(None),
                )
                .values(revoked_ms=_ms(when))
            )
        return bool(done.rowcount)

    # -- referrers ---------------------------------------------------------------------------

    async def put_referrer(self, record: ReferrerRecord) -> None:
        """Record a referrer of ``record.subject`` (the same manifest again replaces its row)."""
        match = (
            referrers.c.bucket == record.bucket,
            referrers.c.key == record.key,
            referrers.c.digest == record.digest,
        )
        async with self._engine.begin() as conn:
            await conn.execute(referrers.delete().where(*match))
            await conn.execute(referrers.insert().values(_referrer_row(record)))

    async def list_referrers(
        self,
        bucket: str,
        key: str,
        subject: str,
        *,
        kind: str | None = None,
        artifact_type: str | None = None,
    ) -> list[ReferrerRecord]:
        """The referrers of manifest ``subject`` of the key, oldest first."""
        query = referrers.select().where(
            referrers.c.bucket == bucket, referrers.c.key == key, referrers.c.subject == subject
        )
        if kind is not None:
            query = query.where(referrers.c.kind == kind)
        if artifact_type is not None:
            query = query.where(referrers.c.artifact_type == artifact_type)
        query = query.order_by(referrers.c.created_ms, referrers.c.digest)
        async with self._engine.connect() as conn:
            return [_referrer(row) for row in await conn.execute(query)]

    async def get_referrer(
        self, bucket: str, key: str, subject: str, digest: str
    ) -> ReferrerRecord | None:
        query = referrers.select().where(
            referrers.c.bucket == bucket,
            referrers.c.key == key,
            referrers.c.subject == subject,
            referrers.c.digest == digest,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _referrer(row) if row else None

    async def delete_referrer(self, bucket: str, key: str, digest: str) -> bool:
        async with self._engine.begin() as conn:
            gone = await conn.execute(
                referrers.delete().where(
                    referrers.c.bucket == bucket,
                    referrers.c.key == key,
                    referrers.c.digest == digest,
                )
            )
        return bool(gone.rowcount)

    async def delete_referrers(
        self, bucket: str, key: str, *, keep: str | None = None
    ) -> list[ReferrerRecord]:
        """Forget the key's referrers (but those of manifest ``keep``); returns them, so the
        caller can remove their manifests from the registry."""
        where = [referrers.c.bucket == bucket, referrers.c.key == key]
        if keep is not None:
            where.append(referrers.c.subject != keep)
        async with self._engine.begin() as conn:
            rows = await conn.execute(referrers.select().where(*where))
            gone = [_referrer(row) for row in rows]
            if gone:
                await conn.execute(referrers.delete().where(*where))
        return gone

    # -- reindex -----------------------------------------------------------------------------

    async def replace_all(
        self,
        bucket_records: Iterable[BucketRecord],
        object_records: Iterable[ObjectRecord],
        referrer_records: Iterable[ReferrerRecord] = (),
        upload_records: Iterable[UploadRecord] = (),
        part_records: Iterable[tuple[str, PartRecord]] = (),
    ) -> None:
        """Swap the whole index for what was read from the registry, in one transaction.

        Live uploads and their parts are replaced too; completed uploads' rows (kept only to
        answer a repeated Complete, not in the registry) stay, and win over a live upload of
        the same id rebuilt from a record manifest that Complete had not yet deleted."""
        async with self._engine.begin() as conn:
            await conn.execute(referrers.delete())
            await conn.execute(objects.delete())
            await conn.execute(buckets.delete())
            await conn.execute(parts.delete())
            await conn.execute(uploads.delete().where(_LIVE))
            await self._insert(conn, referrers, map(_referrer_row, referrer_records))
            await self._insert(conn, buckets, map(_bucket_row, bucket_records))
            await self._insert(conn, objects, map(_object_row, object_records))
            done = set(await conn.scalars(sa.select(uploads.c.upload_id)))
            fresh = [_upload_row(u) for u in upload_records if u.upload_id not in done]
            await self._insert(conn, uploads, fresh)
            live = {row["upload_id"] for row in fresh}
            rows = (_part_row(u, part) for u, part in part_records if u in live)
            await self._insert(conn, parts, rows)

    @staticmethod
    async def _insert(
        conn: AsyncConnection, table: sa.Table, rows: Iterable[dict[str, Any]]
    ) -> None:
        """Insert ``rows`` in batches of 1000 (executemany), however many there are."""
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 1000:
                await conn.execute(table.insert(), batch)
                batch = []
        if batch:
            await conn.execute(table.insert(), batch)
