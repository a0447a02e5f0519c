"""The fault-injection suite's shared parent of gateway processes (gateway_forks.py): one
import of the gateway for every module's starts and restarts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.gateway_forks import GatewayForks, gateway_forks


@pytest.fixture(scope="session")
def forks() -> Iterator[GatewayForks]:
    with gateway_forks() as parent:
        yield parent
