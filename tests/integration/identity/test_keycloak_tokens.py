"""Tokens from the real Keycloak (tests/fixtures/keycloak.py, realms in deploy/keycloak/)
through the gateway's verifier (gateway/auth/jwt.py)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from gateway.auth.jwt import InvalidToken, Issuer, TokenVerifier
from tests.fixtures.keycloak import RunningKeycloak

AUDIENCE = "artifact-store"
ARTIFACT_ROLES = {"artifact-reader", "artifact-writer", "artifact-admin"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verifier_for(keycloak: RunningKeycloak, *realms: str, **options: Any) -> TokenVerifier:
    issuers = [
        Issuer(keycloak.issuer(realm), AUDIENCE, keycloak.jwks_url(realm))
        for realm in realms or ("artifact-store",)
    ]
    return TokenVerifier(issuers, **options)


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        asyncio.run(verifier.verify(token))
    return caught.value.reason


@pytest.fixture(scope="module")
def verifier(keycloak: RunningKeycloak) -> TokenVerifier:
    return verifier_for(keycloak)


@pytest.mark.parametrize(
    ("username", "roles", "groups"),
    [
        ("alice", {"artifact-reader"}, set()),
        ("bob", {"artifact-writer"}, set()),
        ("carol", {"artifact-admin"}, set()),
        ("dave", set(), {"/buckets/team-a/writers"}),
        ("erin", set(), set()),
    ],
)
def test_password_grant_tokens_map_to_principals(
    keycloak: RunningKeycloak,
    verifier: TokenVerifier,
    username: str,
    roles: set[str],
    groups: set[str],
) -> None:
    token = keycloak.password_token(username)
    claims = asyncio.run(verifier.verify(token))
    assert claims["iss"] == keycloak.issuer()
    assert AUDIENCE in ([claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"])
    principal = asyncio.run(verifier.authenticate(token))
    assert principal.name == username
    assert principal.method == "bearer"
    assert principal.subject == claims["sub"]
    assert principal.roles & ARTIFACT_ROLES == roles
    assert principal.groups == groups


def test_gateway_service_account_token(keycloak: RunningKeycloak, verifier: TokenVerifier) -> None:
    """The confidential client's secret (from the realm file) works: client credentials."""
    principal = asyncio.run(verifier.authenticate(keycloak.client_credentials_token()))
    assert principal.name == "service-account-artifact-store"


def test_token_of_another_realm_is_refused(keycloak: RunningKeycloak, verifier) -> None:
    """Same client id and audience in other-realm: only the issuer (and keys) differ."""
    token = keycloak.password_token("mallory", realm="other-realm")
    assert refused(verifier, token) == "untrusted issuer"
    # It is a sound token of its own realm: trusting that realm too accepts it.
    both = verifier_for(keycloak, "artifact-store", "other-realm")
    assert asyncio.run(both.authenticate(token)).name == "mallory"
    # Its key passed off as our realm's: the kid is not in our JWKS.
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = keycloak.issuer()
    forged = ".".join([header, b64(json.dumps(claims).encode()), signature])
    assert refused(verifier, forged) == "unknown signing key"


def test_token_for_another_audience_is_refused(keycloak: RunningKeycloak, verifier) -> None:
    token = keycloak.password_token("alice", client_id="unrelated-app")
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "unrelated-app"
    assert refused(verifier, token) == "wrong audience"


def test_device_authorization_grant_is_enabled(keycloak: RunningKeycloak) -> None:
    response = httpx.post(keycloak.device_url(), data={"client_id": "artifactctl"}, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["device_code"]
    assert body["user_code"]
    assert body["verification_uri"].startswith(keycloak.issuer())
    other = httpx.post(keycloak.device_url(), data={"client_id": "unrelated-app"}, timeout=30)
    assert other.status_code == 400
    assert other.json()["error"] == "unauthorized_client"


def test_expired_token_is_refused(keycloak: RunningKeycloak) -> None:
    """artifactctl-short's access tokens live 2 s; a 1 s leeway keeps the wait short."""
    verifier = verifier_for(keycloak, leeway=1)
    token = keycloak.password_token("alice", client_id="artifactctl-short")
    claims = asyncio.run(verifier.verify(token))
    assert claims["exp"] - claims["iat"] == 2
    time.sleep(max(0.0, claims["exp"] + 1 - time.time()) + 1.2)
    assert refused(verifier, token) == "token expired"


def test_forgeries_with_the_realm_public_key(keycloak: RunningKeycloak, verifier) -> None:
    """alg none, HS256 keyed with the published RSA key, a raised role: all refused."""
    token = keycloak.password_token("alice")
    header, payload, _ = token.split(".")
    kid = jwt.get_unverified_header(token)["kid"]
    jwks = httpx.get(keycloak.jwks_url(), timeout=30).json()
    public = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    none = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    assert refused(verifier, f"{none}.{payload}.") == "algorithm not allowed"
    hs = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    mac = hmac.new(pem, f"{hs}.{payload}".encode(), hashlib.sha256).digest()
    assert refused(verifier, f"{hs}.{payload}.{b64(mac)}") == "algorithm not allowed"
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["realm_access"] = {"roles": ["artifact-admin"]}
    raised = ".".join([header, b64(json.dumps(claims).encode()), token.split(".")[2]])
    assert refused(verifier, raised) == "bad signature"


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP to Keycloak, counted; a fresh connection per request (no pooled state)."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        async with httpx.AsyncHTTPTransport() as transport:
            response = await transport.handle_async_request(request)
            content = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=content)


def test_unknown_kid_flood_costs_one_jwks_request(keycloak: RunningKeycloak) -> None:
    transport, now = CountingTransport(), [0.0]
    verifier = verifier_for(keycloak, cooldown=30, transport=transport, clock=lambda: now[0])
    token = keycloak.password_token("bob")
    _, payload, signature = token.split(".")

    def flood() -> list[str]:
        headers = ({"alg": "RS256", "kid": uuid.uuid4().hex} for _ in range(500))
        return [f"{b64(json.dumps(h).encode())}.{payload}.{signature}" for h in headers]

    async def scenario() -> list[Any]:
        await verifier.verify(token)  # the first fetch
        tokens = flood()  # within its cool-down: no request
        results = await asyncio.gather(*map(verifier.verify, tokens), return_exceptions=True)
        now[0] += 31  # past the cool-down: one request for the whole flood
        tokens = flood()
        results += await asyncio.gather(*map(verifier.verify, tokens), return_exceptions=True)
        await verifier.verify(token)
        return results

    results = asyncio.run(scenario())
    assert all(isinstance(r, InvalidToken) and r.reason == "unknown signing key" for r in results)
    assert transport.requests == 2
