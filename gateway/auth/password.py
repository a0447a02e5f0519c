"""Keycloak username and password, for clients that know only those (``podman login``):
the realm's token endpoint with the password grant of the gateway's client
(https://www.rfc-editor.org/rfc/rfc6749#section-4.3; a confidential client also sends its
secret, section 2.3.1 allows it in the body), then the access token is checked as
any Bearer token is. Successful logins are remembered briefly, so a client sending Basic on
every request does not cost a Keycloak round trip each time; failures are never remembered."""

from __future__ import annotations

import hashlib
import time

import httpx

from gateway.auth.errors import AuthError
from gateway.auth.jwt import TokenCheck
from gateway.domain.values import Principal

REMEMBER_SECONDS = 60.0
MAX_REMEMBERED = 1000


class PasswordLogin:
    def __init__(
        self,
        token_url: str,
        client_id: str,
        check: TokenCheck,
        *,
        client_secret: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.token_url, self.client_id, self.check = token_url, client_id, check
        self._client_secret = client_secret
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)
        self._remembered: dict[str, tuple[float, Principal]] = {}

    async def aclose(self) -> None:
        await self._client.aclose()

    def _grant(self, username: str, password: str) -> dict[str, str]:
        form = {
            "grant_type": "password",
            "client_id": self.client_id,
            "username": username,
            "password": password,
        }
        if self._client_secret is not None:
            form["client_secret"] = self._client_secret
        return form

    async def __call__(self, username: str, password: str) -> Principal:
        fingerprint = hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()
        now = time.monotonic()
        known = self._remembered.get(fingerprint)
        if known is not None and known[0] > now:
            return known[1]
        try:
            response = await self._client.post(self.token_url, data=self._grant(username, password))
        except httpx.HTTPError as exc:
            raise AuthError("ServiceUnavailable", f"Keycloak cannot be reached: {exc}") from exc
        if response.status_code in (400, 401):
            raise AuthError("AccessDenied", "Wrong username or password.")
        if response.status_code != 200:
            raise AuthError(
                "ServiceUnavailable", f"Keycloak answered the login with {response.status_code}."
            )
        try:
            token = str(response.json()["access_token"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthError("ServiceUnavailable", "Keycloak's answer has no access token.") from exc
        principal = await self.check(token)
        if len(self._remembered) >= MAX_REMEMBERED:
            self._remembered.clear()
        self._remembered[fingerprint] = (now + REMEMBER_SECONDS, principal)
        return principal
