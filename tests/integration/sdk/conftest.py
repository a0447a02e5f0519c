"""The SDK contract's harness: a gateway that trusts the session's real Keycloak (Bearer
tokens and STS), and ``contract_env``, the environment every SDK's contract runner reads
(clients/contract/README.md). The Go and JS runners' tests use the same fixture."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ACCESS_KEY, SECRET_KEY, keycloak_gateway_settings
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "clients" / "contract" / "scenarios"
USERS = ("alice", "bob", "carol", "dave", "erin")


@pytest.fixture(scope="session")
def sdk_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = keycloak_gateway_settings(
        registry,
        keycloak,
        tmp_path_factory.mktemp("sdk-gateway"),
        "sdk",
        credentials_key=Fernet.generate_key().decode(),
        # 1 s, not the default 30: a 2-s token of the short client must really expire, or the
        # refresh scenario would pass without any refresh.
        oidc_leeway_seconds=1,
    )
    with serve(settings) as running:
        yield running


def scenario_names() -> list[str]:
    return sorted(path.stem for path in SCENARIOS.glob("*.yaml"))


def runner_env(contract_env: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The environment for one SDK's runner and the scenarios it must report as passed: all
    of them, unless a developer narrowed the run with ``CONTRACT_ONLY`` (CI never sets it).
    ``CI`` is passed on, so a runner fails rather than skips what it cannot run."""
    env = dict(contract_env)
    wanted = scenario_names()
    only = os.environ.get("CONTRACT_ONLY")
    if only:
        env["CONTRACT_ONLY"] = only
        wanted = [name for name in wanted if name in only.split(",")]
    if os.environ.get("CI"):
        env["CI"] = os.environ["CI"]
    return env, wanted


# Toolchain settings a runner's own build needs (Go's and npm's caches live under HOME or
# these), passed through when set.
PASSED_THROUGH = (
    "GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "GONOSUMDB",
    "npm_config_cache", "NODE_OPTIONS", "SSL_CERT_FILE", "TMPDIR", "LANG",
)  # fmt: skip


@pytest.fixture(scope="session")
def contract_env(
    sdk_gateway: RunningGateway,
    keycloak: RunningKeycloak,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """The contract's variables, plus PATH, HOME and toolchain settings; nothing else of
    this process leaks in (no AWS_* or ARTIFACT_STORE_* a developer may have set), and no
    profile file is read: ARTIFACT_STORE_CONFIG_FILE and the AWS files point at nothing."""
    work = tmp_path_factory.mktemp("contract-work")
    return {
        **{name: os.environ[name] for name in PASSED_THROUGH if name in os.environ},
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path_factory.mktemp("sdk-home"))),
        "ARTIFACT_STORE_CONFIG_FILE": str(work / "no-profile"),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "ARTIFACT_STORE_ENDPOINT": sdk_gateway.url,
        "ARTIFACT_STORE_ACCESS_KEY_ID": ACCESS_KEY,
        "ARTIFACT_STORE_SECRET_ACCESS_KEY": SECRET_KEY,
        "ARTIFACT_STORE_OIDC_ISSUER": keycloak.issuer(),
        "ARTIFACT_STORE_OIDC_CLIENT": "artifactctl",
        "CONTRACT_SHORT_CLIENT": "artifactctl-short",
        "CONTRACT_USERS": json.dumps({user: keycloak.passwords[user] for user in USERS}),
        "CONTRACT_SCENARIOS": str(SCENARIOS),
        "CONTRACT_WORKDIR": str(work),
    }
