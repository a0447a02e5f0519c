"""Service accounts' access keys (``AccessKeyIndex``); the secret is stored sealed. Unlike the
other families these rows are the index's alone: ``reindex`` leaves them as they are."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.domain.values import AccessKeyRecord
from gateway.index.base import SqlBase, from_ms, to_ms
from gateway.index.schema import access_keys


def access_key_record(row: sa.Row[Any]) -> AccessKeyRecord:
    return AccessKeyRecord(
        access_key_id=row.access_key_id,
        secret_sealed=row.secret_sealed,
        owner=row.owner,
        created=from_ms(row.created_ms),
        subject=row.subject,
        roles=frozenset(row.roles),
        groups=frozenset(row.groups),
        policy=row.policy,
        description=row.description,
        revoked=from_ms(row.revoked_ms) if row.revoked_ms is not None else None,
    )


class SqlAccessKeyIndex(SqlBase):
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
                    created_ms=to_ms(record.created),
                )
            )

    async def get_access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        """A key that is not revoked."""
        query = access_keys.select().where(
            access_keys.c.access_key_id == access_key_id, access_keys.c.revoked_ms.is_(None)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return access_key_record(row) if row else None

    async def list_access_keys(self, owner: str) -> list[AccessKeyRecord]:
        query = (
            access_keys.select()
            .where(access_keys.c.owner == owner, access_keys.c.revoked_ms.is_(None))
            .order_by(access_keys.c.created_ms, access_keys.c.access_key_id)
        )
        async with self._engine.connect() as conn:
            return [access_key_record(row) for row in await conn.execute(query)]

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
                .values(revoked_ms=to_ms(when))
            )
        return bool(done.rowcount)
