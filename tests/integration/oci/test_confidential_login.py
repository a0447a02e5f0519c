"""A confidential password client (``oidc_password_client_secret_file``): the registry token
endpoint logs a Keycloak user in with the client's secret, which the real Keycloak demands
(without it the same grant is refused)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.conftest import gateway_settings
from tests.fixtures.keycloak import RunningKeycloak, client_secret
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.oci.conftest import PREFIX

CLIENT = "artifact-store-login"


@pytest.fixture(scope="module")
def confidential_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    data_dir = tmp_path_factory.mktemp("confidential-login")
    secret_file = data_dir / "client-secret"
    secret_file.write_text(client_secret(CLIENT) + "\n")
    settings = gateway_settings(
        registry,
        data_dir,
        repository_prefix=PREFIX,
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        oidc_password_client=CLIENT,
        oidc_password_client_secret_file=Path(secret_file),
        credentials_key=Fernet.generate_key().decode(),
    )
    with serve(settings) as running:
        yield running


def test_the_client_is_confidential(keycloak: RunningKeycloak) -> None:
    form = {
        "grant_type": "password",
        "client_id": CLIENT,
        "username": "alice",
        "password": keycloak.passwords["alice"],
    }
    refused = httpx.post(keycloak.token_url(), data=form)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"] == "unauthorized_client"


def test_a_user_logs_in_through_the_confidential_client(
    confidential_gateway: RunningGateway, keycloak: RunningKeycloak
) -> None:
    params = {"service": "artifact-store", "scope": "repository:team-a/app:pull"}
    granted = httpx.get(
        f"{confidential_gateway.url}/v2/token",
        params=params,
        auth=("alice", keycloak.passwords["alice"]),
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["token"]
    wrong = httpx.get(
        f"{confidential_gateway.url}/v2/token", params=params, auth=("alice", "not-her-password")
    )
    assert wrong.status_code == 401
