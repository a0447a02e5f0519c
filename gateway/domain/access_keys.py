"""Service-account keys as the index keeps them: at most ``MAX_KEYS_PER_OWNER`` live keys per
owner, revoked only by their owner. Making a key (its id, secret and sealing) is the identity
layer's (``auth/access_keys.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.domain.errors import NoSuchAccessKey, TooManyAccessKeys
from gateway.domain.store import Store
from gateway.domain.values import AccessKeyRecord

MAX_KEYS_PER_OWNER = 100


async def add_access_key(store: Store, record: AccessKeyRecord) -> None:
    """Store a new key; TooManyAccessKeys when its owner has as many as allowed."""
    if len(await store.index.list_access_keys(record.owner)) >= MAX_KEYS_PER_OWNER:
        raise TooManyAccessKeys(f"At most {MAX_KEYS_PER_OWNER} access keys per owner.")
    await store.index.create_access_key(record)


async def list_access_keys(store: Store, owner: str) -> list[AccessKeyRecord]:
    return await store.index.list_access_keys(owner)


async def revoke_access_key(store: Store, owner: str, access_key_id: str) -> None:
    if not await store.index.revoke_access_key(access_key_id, owner, datetime.now(UTC)):
        raise NoSuchAccessKey()
