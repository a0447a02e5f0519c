"""One gateway with Keycloak for the front door's tests; its S3 objects live under the
prefix ``ocis3``, its images in namespaces such as ``team-a`` (Keycloak's dave writes there
through the group ``/buckets/team-a/writers``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from tests.conftest import gateway_settings
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.oci.registry_client import OciClient

PREFIX = "ocis3"


@pytest.fixture(scope="package")
def oci_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("oci-gateway"),
        repository_prefix=PREFIX,
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        credentials_key=Fernet.generate_key().decode(),
    )
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="package")
def user(oci_gateway: RunningGateway, keycloak: RunningKeycloak):  # type: ignore[no-untyped-def]
    """A client logged in as a Keycloak user with the password (``user("bob")``)."""

    def make(name: str) -> OciClient:
        return OciClient(oci_gateway.url, name, keycloak.passwords[name])

    return make
