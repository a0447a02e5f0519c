"""Access keys: an owner at the limit is told so with a conflict (409), not a bad request."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet

from gateway.api.problems import as_problem
from gateway.auth import access_keys
from gateway.auth.access_keys import MAX_DESCRIPTION
from gateway.auth.keyring import SERVICE_PREFIX, Keyring
from gateway.auth.sealing import Sealer
from gateway.domain.access_keys import MAX_KEYS_PER_OWNER
from gateway.domain.errors import InvalidArgument, TooManyAccessKeys
from gateway.domain.values import AccessKeyRecord, Principal


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FullIndex:
    async def list_access_keys(self, owner: str) -> list[object]:
        return [object()] * MAX_KEYS_PER_OWNER


@pytest.mark.anyio
async def test_an_owner_at_the_limit_gets_a_conflict():
    store = SimpleNamespace(index=FullIndex())
    with pytest.raises(TooManyAccessKeys) as raised:
        await access_keys.create(store, keyring(), owner=Principal("bob", "bearer"))  # type: ignore[arg-type]
    answer = as_problem(raised.value)
    assert answer is not None
    assert answer.status_code == 409


class MemoryIndex:
    """The index's access-key table, in memory."""

    def __init__(self) -> None:
        self.records: list[AccessKeyRecord] = []

    async def list_access_keys(self, owner: str) -> list[AccessKeyRecord]:
        return [record for record in self.records if record.owner == owner]

    async def create_access_key(self, record: AccessKeyRecord) -> None:
        self.records.append(record)


def keyring() -> Keyring:
    return Keyring(("root", "root-secret"), Sealer([Fernet.generate_key()]), keys=None)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_key_carries_its_makers_identity_and_a_sealed_secret():
    index, ring = MemoryIndex(), keyring()
    owner = Principal(
        "alice",
        "bearer",
        subject="f81d",
        roles=frozenset({"artifact-reader"}),
        groups=frozenset({"/buckets/demo/writers"}),
    )
    policy = '{"Statement": []}'
    checked: list[str] = []
    made = await access_keys.create(
        SimpleNamespace(index=index),  # type: ignore[arg-type]
        ring,
        owner,
        description="ci",
        policy=policy,
        check_policy=checked.append,
    )
    record = made.record
    assert index.records == [record]
    assert checked == [policy]
    assert record.access_key_id.startswith(SERVICE_PREFIX)
    assert len(record.access_key_id) > len(SERVICE_PREFIX)
    assert made.secret
    assert ring.sealer.decrypt(record.secret_sealed) == made.secret
    assert (record.owner, record.subject, record.description, record.policy) == (
        "alice",
        "f81d",
        "ci",
        policy,
    )
    assert (record.roles, record.groups) == (owner.roles, owner.groups)
    assert record.created.tzinfo is not None
    assert record.created.microsecond == 0
    assert abs((datetime.now(UTC) - record.created).total_seconds()) < 60
    assert record.revoked is None


@pytest.mark.anyio
async def test_keys_made_with_the_root_key_are_administrators_without_a_policy():
    index = MemoryIndex()
    made = await access_keys.create(
        SimpleNamespace(index=index),  # type: ignore[arg-type]
        keyring(),
        Principal("root", "root", roles=frozenset({"ignored"})),
    )
    assert made.record.roles == frozenset({"artifact-admin"})
    assert (made.record.policy, made.record.description) == (None, "")


@pytest.mark.anyio
@pytest.mark.parametrize("length", [MAX_DESCRIPTION, MAX_DESCRIPTION + 1])
async def test_a_description_of_at_most_the_limit(length):
    store = SimpleNamespace(index=MemoryIndex())
    owner = Principal("bob", "bearer")
    if length > MAX_DESCRIPTION:
        with pytest.raises(InvalidArgument, match=f"over {MAX_DESCRIPTION} characters"):
            await access_keys.create(store, keyring(), owner, description="d" * length)  # type: ignore[arg-type]
    else:
        made = await access_keys.create(store, keyring(), owner, description="d" * length)  # type: ignore[arg-type]
        assert made.record.description == "d" * length


@pytest.mark.anyio
async def test_a_malformed_policy_is_an_invalid_argument_and_no_key():
    def refuse(policy: str) -> None:
        raise ValueError(f"bad {policy}")

    index = MemoryIndex()
    with pytest.raises(InvalidArgument, match=r"^The policy is malformed: bad nope$"):
        await access_keys.create(
            SimpleNamespace(index=index),  # type: ignore[arg-type]
            keyring(),
            Principal("bob", "bearer"),
            policy="nope",
            check_policy=refuse,
        )
    assert index.records == []


@pytest.mark.anyio
async def test_without_a_policy_there_is_nothing_to_check():
    def refuse(policy: str) -> None:
        raise ValueError(f"checked {policy!r}")

    made = await access_keys.create(
        SimpleNamespace(index=MemoryIndex()),  # type: ignore[arg-type]
        keyring(),
        Principal("bob", "bearer"),
        check_policy=refuse,
    )
    assert made.record.policy is None
