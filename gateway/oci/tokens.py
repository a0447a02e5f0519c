"""Registry tokens: what the token endpoint issues and ``/v2/`` accepts as Bearer.

A token is a JWT (HS256, a key derived from the gateway's credentials key, so every worker
and replica that shares that key checks every other's) naming the caller and the scopes it
was granted, as the Docker token spec lays them out
(https://distribution.github.io/distribution/spec/auth/token/,
https://distribution.github.io/distribution/spec/auth/scope/). The caller travels in the
token, so each request is still decided on its own (a policy changed since the token was
issued applies at once); the scopes only narrow what the token may be used for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.domain.values import Principal

ISSUER = "artifact-store-registry"
ALGORITHM = "HS256"
MAX_TOKEN_LENGTH = 16384
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class Scope:
    """``repository:team/app:pull,push``; type ``registry`` with name ``catalog`` is the
    catalog."""

    type: str
    name: str
    actions: frozenset[str]

    def render(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


def parse_scopes(values: list[str]) -> list[Scope]:
    """Scopes from the ``scope`` parameters (each may hold several, space-separated); the
    malformed are ignored, as the spec's reference server does."""
    found: list[Scope] = []
    for value in values:
        for item in value.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            kind = kind.split("(", 1)[0]  # "repository(plugin)" is a repository
            if not kind or not name or not actions:
                continue
            found.append(Scope(kind, name, frozenset(a for a in actions.split(",") if a)))
    return found


def _principal_claims(who: Principal) -> dict[str, Any]:
    return {
        "name": who.name,
        "method": who.method,
        "access_key": who.access_key,
        "subject": who.subject,
        "roles": sorted(who.roles),
        "groups": sorted(who.groups),
        "policies": list(who.policies),
        "session_arn": who.session_arn,
    }


def _principal(claims: dict[str, Any]) -> Principal:
    return Principal(
        name=str(claims["name"]),
        method=str(claims["method"]),
        access_key=claims.get("access_key"),
        subject=claims.get("subject"),
        roles=frozenset(claims.get("roles") or ()),
        groups=frozenset(claims.get("groups") or ()),
        policies=tuple(claims.get("policies") or ()),
        session_arn=claims.get("session_arn"),
    )


@dataclass(frozen=True)
class Grant:
    """A verified token: who, and what it may be used for."""

    principal: Principal
    access: dict[tuple[str, str], frozenset[str]]  # (type, name) -> actions

    def covers(self, kind: str, name: str, action: str) -> bool:
        actions = self.access.get((kind, name), frozenset())
        return action in actions or "*" in actions


class InvalidRegistryToken(Exception):
    pass


class RegistryTokens:
    def __init__(self, secret: bytes, service: str, lifetime: int) -> None:
        self._key = hmac.new(secret, b"artifact-store registry token", hashlib.sha256).digest()
        self.service = service
        self.lifetime = lifetime
        self._verified: dict[str, tuple[float, Grant]] = {}  # token -> (expires, grant)

    def issue(self, who: Principal, granted: list[Scope], now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "aud": self.service,
            "sub": who.name,
            "iat": issued,
            "nbf": issued - 1,
            "exp": issued + self.lifetime,
            "jti": secrets.token_hex(12),
            "access": [
                {"type": s.type, "name": s.name, "actions": sorted(s.actions)} for s in granted
            ],
            "who": _principal_claims(who),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    @staticmethod
    def is_ours(token: str) -> bool:
        """Whether the token claims to be a registry token (else: try Keycloak, whose tokens
        are never HS256: its verifier takes only asymmetric algorithms). Only the header is
        read: PyJWT's ``get_unverified_header`` checks every character of the whole token."""
        header = token.split(".", 1)[0]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (ValueError, binascii.Error):
            return False
        return isinstance(decoded, dict) and decoded.get("alg") == ALGORITHM

    def verify(self, token: str) -> Grant:
        """The token's grant; remembered until it expires, since a client sends the same
        token with every request (checking one costs PyJWT about half a millisecond)."""
        now = time.time()
        known = self._verified.get(token)
        if known is not None and known[0] > now:
            return known[1]
        grant, expires = self._verify(token)
        if len(self._verified) >= MAX_REMEMBERED:
            self._verified.clear()
        self._verified[token] = (expires, grant)
        return grant

    def _verify(self, token: str) -> tuple[Grant, float]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidRegistryToken("token too long")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.service,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud"]},
                leeway=5,
            )
            access: dict[tuple[str, str], frozenset[str]] = {}
            for item in claims.get("access") or []:
                pair = (str(item["type"]), str(item["name"]))
                access[pair] = access.get(pair, frozenset()) | frozenset(item["actions"])
            return Grant(_principal(claims["who"]), access), float(claims["exp"])
        except jwt.ExpiredSignatureError as exc:
            raise InvalidRegistryToken("the registry token has expired") from exc
        except (jwt.PyJWTError, KeyError, TypeError) as exc:
            raise InvalidRegistryToken(f"invalid registry token: {exc}") from exc
