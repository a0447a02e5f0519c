"""Which secret signs for an access key id, and whose key it is.

Three kinds of SigV4/SigV2 keys: the configured root key; service-account keys from the
index (their secrets sealed at rest); and STS session keys, which are stored nowhere: the
session token the client sends along (``x-amz-security-token``) is sealed by the gateway
and carries the secret and the session's identity, so any replica holding the credentials
key can check it.
"""

from __future__ import annotations

import hmac
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.auth.errors import AuthError
from gateway.auth.sealing import Sealer
from gateway.domain.values import AccessKeyRecord, Principal

SESSION_PREFIX = "ASIA"  # as AWS names temporary keys
SERVICE_PREFIX = "AKIA"
_ALPHABET = string.ascii_uppercase + string.digits


class AccessKeys(Protocol):
    async def get_access_key(self, access_key_id: str) -> AccessKeyRecord | None: ...


@dataclass(frozen=True)
class SessionKey:
    access_key: str
    secret: str
    token: str
    expires: int  # epoch seconds


@dataclass(frozen=True)
class Resolved:
    secret: str
    principal: Principal


class CallerLookup:
    """What SigV4 and SigV2 verification ask for: the secret of the access key a request names
    (None: unknown). It remembers whose key that was, so a verified request has its caller."""

    def __init__(self, keyring: Keyring, session_token: str | None) -> None:
        self._keyring = keyring
        self._token = session_token
        self.principal: Principal | None = None

    async def __call__(self, access_key: str) -> str | None:
        resolved = await self._keyring.resolve(access_key, self._token)
        if resolved is None:
            return None
        self.principal = resolved.principal
        return resolved.secret

    def caller(self) -> Principal:
        """The verified request's caller (verification asked for its secret, or failed)."""
        if self.principal is None:
            raise AuthError("AccessDenied", "The request was not signed with a known key.")
        return self.principal


def new_key_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return secrets.token_urlsafe(30)


def expired_token() -> AuthError:
    return AuthError("ExpiredToken", "The provided token has expired.")


def invalid_token() -> AuthError:
    return AuthError("InvalidToken", "The provided token is malformed or otherwise invalid.")


class Keyring:
    def __init__(self, root: tuple[str, str], sealer: Sealer, keys: AccessKeys) -> None:
        self._root = root
        self.sealer = sealer
        self._keys = keys

    def issue_session(
        self,
        principal: Principal,
        seconds: int,
        issuer: str | None = None,
        session_arn: str | None = None,
    ) -> SessionKey:
        """A temporary key for ``principal`` (STS sessions, presigned URLs): its secret and
        identity are sealed into the session token, which ``resolve`` opens again."""
        access_key, secret = new_key_id(SESSION_PREFIX), new_secret()
        expires = int(time.time()) + seconds
        claims: dict[str, Any] = {
            "ak": access_key,
            "sk": secret,
            "exp": expires,
            "name": principal.name,
            "sub": principal.subject,
            "roles": sorted(principal.roles),
            "groups": sorted(principal.groups),
            "policies": list(principal.policies),
        }
        if issuer is not None:
            claims["iss"] = issuer
        if session_arn is not None:
            claims["arn"] = session_arn
        return SessionKey(access_key, secret, self.sealer.seal(claims), expires)

    async def resolve(self, access_key: str, session_token: str | None) -> Resolved | None:
        """The key's secret and owner; None for an unknown key. A session token that does
        not open, is expired or names another key is an error, never a fallback."""
        if session_token is not None:
            return self._session(access_key, session_token)
        if hmac.compare_digest(access_key, self._root[0]):
            return Resolved(self._root[1], Principal("root", "root", access_key=access_key))
        if not access_key.startswith(SERVICE_PREFIX):
            return None
        record = await self._keys.get_access_key(access_key)
        if record is None:
            return None
        principal = Principal(
            name=record.owner,
            method="access-key",
            access_key=access_key,
            subject=record.subject,
            roles=record.roles,
            groups=record.groups,
            policies=(record.policy,) if record.policy else (),
        )
        return Resolved(self.sealer.decrypt(record.secret_sealed), principal)

    def _session(self, access_key: str, token: str) -> Resolved:
        claims = self.sealer.open(token)
        if claims is None or claims.get("ak") != access_key:
            raise invalid_token()
        if float(claims.get("exp", 0)) < time.time():
            raise expired_token()
        principal = Principal(
            name=str(claims.get("name", "")),
            method="sts",
            access_key=access_key,
            subject=claims.get("sub"),
            roles=frozenset(claims.get("roles", ())),
            groups=frozenset(claims.get("groups", ())),
            policies=tuple(claims.get("policies", ())),
            session_arn=claims.get("arn"),
        )
        return Resolved(str(claims["sk"]), principal)
