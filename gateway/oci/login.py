"""Who is calling ``/v2/`` or its token endpoint, from the ``Authorization`` header:

- ``Basic`` with an S3 access key id and its secret, or with a Keycloak username and
  password (logged in through the realm's public client, ``auth/password.py``);
- ``Bearer`` with a registry token this gateway issued (``tokens.py``), or with a Keycloak
  access token;
- nothing: anonymous.

Credentials that do not verify are refused; they never fall back to anonymous.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable
from dataclasses import dataclass

from gateway.auth.errors import AuthError
from gateway.auth.jwt import TokenCheck
from gateway.auth.keyring import Keyring
from gateway.auth.password import PasswordLogin
from gateway.domain.values import ANONYMOUS, Principal
from gateway.oci.tokens import Grant, InvalidRegistryToken, RegistryTokens


class LoginFailed(Exception):
    def __init__(self, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.message, self.unavailable = message, unavailable


@dataclass(frozen=True)
class Caller:
    principal: Principal
    grant: Grant | None = None  # a registry token's: the scopes it may be used for
    method: str = "none"  # how the caller logged in, for the audit log's rule


class Login:
    def __init__(
        self,
        keyring: Keyring,
        tokens: RegistryTokens,
        bearer: TokenCheck | None,
        password: PasswordLogin | None,
    ) -> None:
        self.keyring, self.tokens, self.bearer, self.password = keyring, tokens, bearer, password

    async def caller(self, authorization: str | None) -> Caller:
        if authorization is None:
            return Caller(ANONYMOUS)
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return await self._bearer(value)
        if scheme.lower() == "basic":
            return await self._basic(value)
        raise LoginFailed("Send Basic credentials or a Bearer token.")

    async def _bearer(self, token: str) -> Caller:
        if RegistryTokens.is_ours(token):
            try:
                grant = self.tokens.verify(token)
            except InvalidRegistryToken as exc:
                raise LoginFailed(str(exc)) from None
            return Caller(grant.principal, grant, "registry-token")
        if self.bearer is None:
            raise LoginFailed("Keycloak tokens are not accepted here (no OIDC issuer is set).")
        return Caller(await _checked(self.bearer(token)), None, "keycloak-token")

    async def _basic(self, value: str) -> Caller:
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise LoginFailed("Malformed Basic credentials.") from None
        resolved = await self.keyring.resolve(username, None) if username else None
        if resolved is not None:
            if not hmac.compare_digest(resolved.secret.encode(), password.encode()):
                raise LoginFailed("Wrong secret for this access key.")
            return Caller(resolved.principal, None, "access-key")
        if self.password is None or not username:
            raise LoginFailed("Unknown access key (Keycloak logins are not configured).")
        return Caller(await _checked(self.password(username, password)), None, "password")


async def _checked(pending: Awaitable[Principal]) -> Principal:
    try:
        return await pending
    except AuthError as exc:
        raise LoginFailed(exc.message, unavailable=exc.code == "ServiceUnavailable") from None
