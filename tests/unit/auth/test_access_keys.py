"""Access keys: an owner at the limit is told so with a conflict (409), not a bad request."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gateway.api.problems import as_problem
from gateway.auth import access_keys
from gateway.domain.access_keys import MAX_KEYS_PER_OWNER
from gateway.domain.errors import TooManyAccessKeys
from gateway.domain.values import Principal


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
        await access_keys.create(store, keyring=None, owner=Principal("bob", "bearer"))  # type: ignore[arg-type]
    answer = as_problem(raised.value)
    assert answer is not None
    assert answer.status_code == 409
