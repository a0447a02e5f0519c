"""The live stack the SDK contract runs against (clients/contract/README.md): a real Zot, a
gateway that trusts the real Keycloak (Bearer tokens, STS), and the environment each SDK's
runner reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings
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
    """A gateway trusting the realm, with STS on. The leeway is 1 s (not 30), so the
    short client's 2-second tokens really expire and the refresh scenario tests a refresh."""
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("sdk-gateway"),
        repository_prefix="sdk",
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        oidc_leeway_seconds=1,
        credentials_key=Fernet.generate_key().decode(),
    )
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="session")
def contract_env(
    sdk_gateway: RunningGateway, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The variables every SDK's contract runner reads (the root key, the realm, its users)."""
    return {
        "ARTIFACT_STORE_ENDPOINT": sdk_gateway.url,
        "ARTIFACT_STORE_ACCESS_KEY_ID": ACCESS_KEY,
        "ARTIFACT_STORE_SECRET_ACCESS_KEY": SECRET_KEY,
        "ARTIFACT_STORE_OIDC_ISSUER": keycloak.issuer(),
        "ARTIFACT_STORE_OIDC_CLIENT": "artifactctl",
        "CONTRACT_SHORT_CLIENT": "artifactctl-short",
        "CONTRACT_USERS": json.dumps({user: keycloak.passwords[user] for user in USERS}),
        "CONTRACT_SCENARIOS": str(SCENARIOS),
        "CONTRACT_WORKDIR": str(tmp_path_factory.mktemp("contract")),
    }
