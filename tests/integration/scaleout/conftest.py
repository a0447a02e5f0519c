"""Replicas: two gateway processes on one PostgreSQL and one Zot, as a scaled-out deployment
runs them (each its own data directory, as on its own host; the keys they must share passed
to both). One PostgreSQL and one pair per test session, shared by the module's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.fixtures.postgres import create_database
from tests.fixtures.processes import GatewayProcess, start_gateway
from tests.fixtures.registries import RunningRegistry, free_port
from tests.fixtures.scale_out import ScaleOut, scale_out

PREFIX = "replicas"
# Generous: a loaded 2-core machine (other test sessions) has taken over 60 s to start one.
READY_SECONDS = 180


@dataclass
class Replicas:
    first: GatewayProcess
    second: GatewayProcess
    database_url: str
    env: dict[str, str]  # what both were given beyond the registry's settings
    data_dirs: tuple[Path, Path]

    @property
    def both(self) -> tuple[GatewayProcess, GatewayProcess]:
        return self.first, self.second


@pytest.fixture(scope="session")
def replicas(
    registry: RunningRegistry, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Replicas]:
    shared = tmp_path_factory.mktemp("replicas")
    database_url = create_database(postgres_url, "replicas")
    env = {
        "ARTIFACT_STORE_DATABASE_URL": database_url,
        "ARTIFACT_STORE_REPOSITORY_PREFIX": PREFIX,
        "ARTIFACT_STORE_CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "ARTIFACT_STORE_RECEIPT_KEY_FILE": str(shared / "receipt.key"),
        # small pools, so that the tests' bursts also exercise waiting for a connection
        "ARTIFACT_STORE_DATABASE_POOL_SIZE": "2",
        "ARTIFACT_STORE_DATABASE_MAX_OVERFLOW": "2",
        "ARTIFACT_STORE_DATABASE_LOCK_CONNECTIONS": "3",
    }
    dirs = (shared / "a", shared / "b")
    first = start_gateway(
        registry,
        dirs[0],
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        env=env,
        ready_seconds=READY_SECONDS,
    )
    try:
        second = start_gateway(
            registry,
            dirs[1],
            free_port(),
            (ACCESS_KEY, SECRET_KEY),
            env=env,
            ready_seconds=READY_SECONDS,
        )
    except BaseException:
        first.stop()
        raise
    yield Replicas(first, second, database_url, env, dirs)
    second.stop()
    first.stop()


@pytest.fixture(scope="session")
def stack(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    """The scale-out profile, once per session: its Zot cluster (S3 storage, Redis) serves
    the cluster's failure test too."""
    database_url = create_database(postgres_url, "scale_out")
    root = tmp_path_factory.mktemp("scale-out")
    with scale_out(root, free_port(), (ACCESS_KEY, SECRET_KEY), database_url) as running:
        yield running
