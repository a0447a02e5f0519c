"""Service accounts' access keys (``AccessKeyIndex``); the secret is stored sealed. Unlike the
other families these rows are the index's alone: ``reindex`` leaves them as they are."""

from __future__ import annotations

from datetime import datetime

from gateway.domain.values import AccessKeyRecord
from gateway.index.base import Column, Rows, SqlBase, from_ms, millis, to_ms
from gateway.index.schema import access_keys

access_key_rows = Rows(
    access_keys,
    AccessKeyRecord,
    created=millis("created_ms"),
    roles=Column("roles", sorted, frozenset),
    groups=Column("groups", sorted, frozenset),
    revoked=Column(
        "revoked_ms", load=lambda ms: None if ms is None else from_ms(ms), written=False
    ),
)


class SqlAccessKeyIndex(SqlBase):
    async def create_access_key(self, record: AccessKeyRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(access_keys.insert().values(access_key_rows.row(record)))

    async def get_access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        """A key that is not revoked."""
        query = access_keys.select().where(
            access_keys.c.access_key_id == access_key_id, access_keys.c.revoked_ms.is_(None)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return access_key_rows.record(row) if row else None

    async def list_access_keys(self, owner: str) -> list[AccessKeyRecord]:
        query = (
            access_keys.select()
            .where(access_keys.c.owner == owner, access_keys.c.revoked_ms.is_(None))
            .order_by(access_keys.c.created_ms, access_keys.c.access_key_id)
        )
        async with self._engine.connect() as conn:
            return [access_key_rows.record(row) for row in await conn.execute(query)]

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
