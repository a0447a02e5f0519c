"""Referrers: signatures, SBOMs and attestations of objects (``ReferrerIndex``). The counts on
HEAD and GET are read with the object's row (``objects.get_object_counted``)."""

from __future__ import annotations

from gateway.domain.values import ReferrerRecord
from gateway.index.base import Rows, SqlBase, millis
from gateway.index.schema import referrers

referrer_rows = Rows(referrers, ReferrerRecord, created=millis("created_ms"))


class SqlReferrerIndex(SqlBase):
    async def put_referrer(self, record: ReferrerRecord) -> None:
        """Record a referrer of ``record.subject`` (the same manifest again replaces its row)."""
        match = (
            referrers.c.bucket == record.bucket,
            referrers.c.key == record.key,
            referrers.c.digest == record.digest,
        )
        async with self._engine.begin() as conn:
            await conn.execute(referrers.delete().where(*match))
            await conn.execute(referrers.insert().values(referrer_rows.row(record)))

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
            return [referrer_rows.record(row) for row in await conn.execute(query)]

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
        return referrer_rows.record(row) if row else None

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
        self, bucket: str, key: str, *, keep: str | None = None, only: str | None = None
    ) -> list[ReferrerRecord]:
        """Forget the key's referrers (but those of manifest ``keep``; or only those of
        manifest ``only``: one version of a versioned key); returns them, so the caller can
        remove their manifests from the registry."""
        where = [referrers.c.bucket == bucket, referrers.c.key == key]
        if keep is not None:
            where.append(referrers.c.subject != keep)
        if only is not None:
            where.append(referrers.c.subject == only)
        async with self._engine.begin() as conn:
            rows = await conn.execute(referrers.select().where(*where))
            gone = [referrer_rows.record(row) for row in rows]
            if gone:
                await conn.execute(referrers.delete().where(*where))
        return gone
