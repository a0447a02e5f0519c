"""The keycloak component's pure parts: the issuer URL's parse into Keycloak's base URL and
realm (a property over generated URLs), the clients and mappers registered, and the gateway's
wiring when the operator registers them. The registration itself runs against the real
Keycloak in tests/integration/operator/test_operator.py."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from artifact_store_operator import render as r
from artifact_store_operator.keycloak import KeycloakError, _Admin, _mappers, clients, realm_of
from artifact_store_operator.spec import effective
from hypothesis import given
from hypothesis import strategies as st

OWNER = {
    "apiVersion": "artifactstore.dev/v1alpha1",
    "kind": "ArtifactStore",
    "metadata": {"name": "demo", "namespace": "ns", "uid": "0000-1111"},
}
LABEL = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
BASES = st.builds(
    lambda scheme, host, port, prefix: f"{scheme}://{host}{port}{prefix}",
    st.sampled_from(["http", "https"]),
    st.lists(LABEL, min_size=1, max_size=3).map(".".join),
    st.sampled_from(["", ":8080", ":8443"]),
    st.sampled_from(["", "/auth", "/sso/kc"]),
)
REALMS = st.from_regex(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,20}", fullmatch=True)


@given(BASES, REALMS, st.booleans())
def test_issuer_parses_into_base_and_realm(base: str, realm: str, slash: bool) -> None:
    issuer = f"{base}/realms/{realm}" + ("/" if slash else "")
    assert realm_of(issuer) == (base, realm)
    assert realm_of(issuer, "http://keycloak.svc:8080/") == ("http://keycloak.svc:8080", realm)


@pytest.mark.parametrize(
    "issuer",
    ["https://kc.example.com", "https://kc.example.com/realms/", "/realms/a", "x/realms/a/b"],
)
def test_an_issuer_without_a_realm_is_refused(issuer: str) -> None:
    with pytest.raises(KeycloakError) as raised:
        realm_of(issuer)
    assert raised.value.reason == "KeycloakIssuerInvalid"


def test_clients_and_mappers_are_what_the_gateway_reads() -> None:
    confidential, cli = clients(effective({}))
    assert (confidential["clientId"], confidential["publicClient"]) == (
        "artifact-store-login",
        False,
    )
    assert confidential["directAccessGrantsEnabled"] is True
    assert (cli["clientId"], cli["publicClient"]) == ("artifactctl", True)
    assert cli["attributes"] == {"oauth2.device.authorization.grant.enabled": "true"}
    by_type = {m["protocolMapper"]: m["config"] for m in _mappers("store-aud")}
    assert by_type["oidc-audience-mapper"]["included.custom.audience"] == "store-aud"
    assert by_type["oidc-group-membership-mapper"]["claim.name"] == "groups"
    assert by_type["oidc-usermodel-attribute-mapper"]["claim.name"] == "preferred_username"


def test_the_console_client_is_registered_when_the_public_url_is_known() -> None:
    assert len(clients(effective({}))) == 2  # no public URL, no Route host: no console client
    [*_, console] = clients(
        effective({"keycloak": {"registration": {"publicUrl": "https://store.example.com/"}}})
    )
    assert (console["clientId"], console["publicClient"]) == ("artifact-store-console", True)
    assert console["standardFlowEnabled"] is True
    assert console["directAccessGrantsEnabled"] is False
    assert console["implicitFlowEnabled"] is False
    assert console["redirectUris"] == ["https://store.example.com/_artifacts/ui/*"]
    assert console["webOrigins"] == ["https://store.example.com"]
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    # The Route's host stands in for publicUrl; consoleClient names the client.
    [*_, console] = clients(
        effective({"route": {"host": "s3.example.com"}, "keycloak": {"consoleClient": "ui"}})
    )
    assert console["clientId"] == "ui"
    assert console["redirectUris"] == ["https://s3.example.com/_artifacts/ui/*"]
    assert len(clients(effective({"route": {"enabled": False, "host": "s3.example.com"}}))) == 2


def test_the_gateway_is_told_the_console_client() -> None:
    env, _ = _gateway({"keycloak": {**KEYCLOAK, "consoleClient": "ui"}})
    assert env["ARTIFACT_STORE_CONSOLE_CLIENT_ID"] == "ui"


def _gateway(spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = r.render(OWNER, effective(spec))["gateway"]
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    return env, volumes


KEYCLOAK = {"enabled": True, "issuerUrl": "https://kc.example.com/realms/store"}
REGISTRATION = {"enabled": True, "adminCredentials": {"existingSecret": "kc-admin"}}


def test_with_registration_the_gateway_uses_the_registered_confidential_client() -> None:
    env, volumes = _gateway({"keycloak": {**KEYCLOAK, "registration": REGISTRATION}})
    assert env["ARTIFACT_STORE_OIDC_PASSWORD_CLIENT"] == "artifact-store-login"
    assert env["ARTIFACT_STORE_OIDC_PASSWORD_CLIENT_SECRET_FILE"].endswith("/clientSecret")
    assert volumes["oidc"]["secret"] == {
        "secretName": "demo-keycloak-client",
        "items": [{"key": "clientSecret", "path": "clientSecret"}],
    }
    # An existing Secret wins (its value is set on the client).
    env, volumes = _gateway(
        {
            "keycloak": {
                **KEYCLOAK,
                "registration": REGISTRATION,
                "clientSecret": {"existingSecret": "mine", "key": "k"},
            }
        }
    )
    assert volumes["oidc"]["secret"]["secretName"] == "mine"
    assert volumes["oidc"]["secret"]["items"] == [{"key": "k", "path": "clientSecret"}]


def test_without_registration_nothing_changes() -> None:
    env, volumes = _gateway({"keycloak": KEYCLOAK})
    assert env["ARTIFACT_STORE_OIDC_PASSWORD_CLIENT"] == "artifactctl"
    assert "ARTIFACT_STORE_OIDC_PASSWORD_CLIENT_SECRET_FILE" not in env
    assert "oidc" not in volumes
    # Registration asked for with the component unmanaged: no wiring either.
    env, volumes = _gateway(
        {
            "keycloak": {**KEYCLOAK, "registration": REGISTRATION},
            "components": [{"kind": "keycloak", "managed": False}],
        }
    )
    assert "ARTIFACT_STORE_OIDC_ISSUER" not in env
    assert "oidc" not in volumes


def _admin_reason(handler: Any) -> str:
    """The KeycloakError reason an admin login plus one client read raise against ``handler``
    (an httpx MockTransport: a fake Keycloak, unit level only)."""

    async def run() -> str:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
            admin = _Admin(http, "http://kc", "store")
            try:
                await admin.login("master", "admin", "pw")
                await admin.call("GET", "/clients", "reading clients")
            except KeycloakError as error:
                return error.reason
        return "none"

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("token_status", "clients_status", "reason"),
    [
        (401, 200, "KeycloakCredentialsRejected"),
        (400, 200, "KeycloakCredentialsRejected"),
        (200, 403, "KeycloakForbidden"),
        (200, 404, "KeycloakRequestFailed"),
        (503, 200, "KeycloakRequestFailed"),
        (200, 200, "none"),
    ],
)
def test_admin_api_answers_map_to_reasons(
    token_status: int, clients_status: int, reason: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/realms/master/protocol/openid-connect/token":
            return httpx.Response(token_status, json={"access_token": "t", "error": "x"})
        assert request.headers["Authorization"] == "Bearer t"
        return httpx.Response(clients_status, json=[])

    assert _admin_reason(handler) == reason


def test_an_unreachable_keycloak_is_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert _admin_reason(handler) == "KeycloakUnreachable"
