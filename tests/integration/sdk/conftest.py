"""The live stack the SDK contract runs against: a real Zot, a gateway that trusts the real
Keycloak (so Bearer tokens and STS work) and the environment each SDK's runner reads
(clients/contract/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings
from tests.fixtures.keycloak import REALM_FILES, RunningKeycloak, realm_passwords
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "clients" / "contract"
USERS = ("alice", "bob", "carol", "dave", "erin")


@pytest.fixture(scope="session")
def sdk_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("sdk-gateway"),
        repository_prefix="sdk",
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        credentials_key=Fernet.generate_key().decode(),
    )
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="session")
def contract_env(
    sdk_gateway: RunningGateway,
    keycloak: RunningKeycloak,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    passwords = realm_passwords(REALM_FILES[:1])
    return {
        "ARTIFACT_STORE_ENDPOINT": sdk_gateway.url,
        "ARTIFACT_STORE_ACCESS_KEY_ID": ACCESS_KEY,
        "ARTIFACT_STORE_SECRET_ACCESS_KEY": SECRET_KEY,
        "ARTIFACT_STORE_OIDC_ISSUER": keycloak.issuer(),
        "ARTIFACT_STORE_OIDC_CLIENT": "artifactctl",
        "CONTRACT_SHORT_CLIENT": "artifactctl-short",
        "CONTRACT_USERS": json.dumps({user: passwords[user] for user in USERS}),
        "CONTRACT_SCENARIOS": str(CONTRACT / "scenarios"),
        "CONTRACT_WORKDIR": str(tmp_path_factory.mktemp("contract")),
    }
