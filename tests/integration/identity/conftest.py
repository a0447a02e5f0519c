"""A real Keycloak for the identity tests, once per session (about a minute or two to start on
two cores). Where Java is missing it skips, except under CI, where it fails."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fixtures.keycloak import KeycloakUnavailable, RunningKeycloak, start


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKeycloak]:
    try:
        running = start(tmp_path_factory.mktemp("keycloak"))
    except KeycloakUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"Keycloak is required in CI: {error}")
        pytest.skip(f"Keycloak unavailable: {error}")
    yield running
    running.stop()
