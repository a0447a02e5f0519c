"""Service-account access keys: SigV4 keys bound to the identity that made them.

A key carries its maker's name, subject, realm roles and groups as they were when it was
made (revoke and re-create to pick up changes), and optionally a policy that can only narrow
them; keys made with the root key are administrators (``artifact-admin``). The secret is
returned once and kept sealed (auth/sealing.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.auth.keyring import SERVICE_PREFIX, Keyring, new_key_id, new_secret
from gateway.domain import access_keys
from gateway.domain.errors import InvalidArgument
from gateway.domain.store import Store
from gateway.domain.values import AccessKeyRecord, Principal

MAX_DESCRIPTION = 256


@dataclass(frozen=True)
class NewKey:
    record: AccessKeyRecord
    secret: str


async def create(
    store: Store,
    keyring: Keyring,
    owner: Principal,
    *,
    description: str = "",
    policy: str | None = None,
    check_policy: Callable[[str], object] | None = None,
) -> NewKey:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidArgument(f"The description is over {MAX_DESCRIPTION} characters.")
    if policy is not None and check_policy is not None:
        try:
            check_policy(policy)
        except ValueError as exc:
            raise InvalidArgument(f"The policy is malformed: {exc}") from exc
    secret = new_secret()
    record = AccessKeyRecord(
        access_key_id=new_key_id(SERVICE_PREFIX),
        secret_sealed=keyring.sealer.encrypt(secret),
        owner=owner.name,
        created=datetime.now(UTC).replace(microsecond=0),
        subject=owner.subject,
        # The root key has no roles of its own: its keys are administrators.
        roles=frozenset({"artifact-admin"}) if owner.root else owner.roles,
        groups=owner.groups,
        policy=policy,
        description=description,
    )
    await access_keys.add_access_key(store, record)
    return NewKey(record, secret)


async def list_keys(store: Store, owner: Principal) -> list[AccessKeyRecord]:
    return await access_keys.list_access_keys(store, owner.name)


async def revoke(store: Store, owner: Principal, access_key_id: str) -> None:
    await access_keys.revoke_access_key(store, owner.name, access_key_id)
