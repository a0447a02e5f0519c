"""Bearer access tokens (JWTs) from configured OIDC issuers: Keycloak, later a CI system's.

``TokenVerifier.verify`` checks, in this order, and refuses with ``InvalidToken(reason)``:

1. the shape: three base64url parts, at most 64 KiB, a JSON header without ``crit``;
2. ``alg`` in ``ALLOWED_ALGORITHMS`` (asymmetric only: never ``none``, never ``HS*``, so a
   token "signed" with the public key as an HMAC secret is refused before any key is looked at);
3. a ``kid`` in the header;
4. the (yet unverified) ``iss`` names a configured issuer: keys are only ever fetched from the
   configured JWKS URLs, never from the token's ``jku``/``x5u``/``jwk`` headers;
5. the issuer's key for that ``kid``, whose type (and ``alg``, when the JWK declares one) must
   fit the token's ``alg``;
6. the signature, then ``iss`` (equal), ``aud`` (contains the audience), ``exp``, ``nbf`` and
   ``iat`` with a leeway; ``exp``, ``iat``, ``iss``, ``aud`` and ``sub`` are required.

Keys are cached by ``kid`` per issuer. An unknown ``kid`` re-fetches the JWKS only if the last
fetch is older than the cool-down: callers choose the ``kid``, so a flood of made-up ones costs
at most one request per cool-down. The whole set is also re-read after ``max_age``, so removed
(revoked) keys stop verifying. A failed fetch keeps the keys already known.

Reasons are short fixed phrases, safe to return to the caller; they never contain the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import jwt

from gateway.auth.errors import AuthError
from gateway.domain.values import Principal
from gateway.observability import metrics

log = logging.getLogger(__name__)

ALLOWED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"})
# The JWK key type (and curve) each allowed algorithm verifies with.
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
}
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
VERIFIED_CACHE = 10_000
VERIFIED_SECONDS = 60.0
MAX_TOKEN_LENGTH = 64 * 1024
MAX_JWKS_BYTES = 1024 * 1024
JWKS_TIMEOUT = 5.0


class TokenCheck(Protocol):
    """A Bearer token check (``TokenVerifier.bearer``): the caller, or ``AuthError``; what
    the S3 edge and the JSON API are given."""

    async def __call__(self, token: str) -> Principal: ...


class InvalidToken(Exception):
    """A token that does not verify. ``reason`` is a short phrase, safe to show the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(InvalidToken):
    """The issuer's JWKS could not be read and no key is known: the identity provider is
    down or misconfigured (a 503 rather than a 403, if the caller cares to tell them apart)."""


@dataclass(frozen=True)
class ClaimMapping:
    """Where an issuer puts the username, roles and groups (dotted paths into the claims).

    Keycloak's defaults; another issuer (a CI system's) maps e.g. ``username="sub"``."""

    username: str = "preferred_username"  # falls back to "sub" when absent
    roles: str = "realm_access.roles"
    groups: str = "groups"


KEYCLOAK_CLAIMS = ClaimMapping()


@dataclass(frozen=True)
class Issuer:
    """One trusted token issuer: ``iss`` must equal ``issuer``, ``aud`` contain ``audience``."""

    issuer: str
    audience: str
    jwks_url: str
    claims: ClaimMapping = KEYCLOAK_CLAIMS


class _KeySet:
    """One issuer's JWKS, cached by ``kid``; fetched at most once per cool-down on a miss."""

    def __init__(
        self,
        url: str,
        *,
        issuer: str,
        cooldown: float,
        max_age: float,
        transport: httpx.AsyncBaseTransport | None,
        clock: Callable[[], float],
    ) -> None:
        self.url = url
        self.issuer = issuer  # names it in the metrics
        self.cooldown = cooldown
        self.max_age = max_age
        self.transport = transport
        self.clock = clock
        self.jwks: dict[str, dict[str, Any]] = {}
        self.keys: dict[tuple[str, str], jwt.PyJWK] = {}
        self.fetched_at: float | None = None  # of the last attempt, successful or not
        self.failed = False
        self.error = ""  # why the last fetch failed
        self.lock = asyncio.Lock()

    def _age(self) -> float:
        return float("inf") if self.fetched_at is None else self.clock() - self.fetched_at

    async def key(self, kid: str, alg: str) -> jwt.PyJWK:
        if kid not in self.jwks or self._age() >= self.max_age:
            async with self.lock:  # concurrent misses wait for one fetch
                age = self._age()
                if (kid not in self.jwks and age >= self.cooldown) or age >= self.max_age:
                    await self._refresh()
        jwk = self.jwks.get(kid)
        if jwk is None:
            if self.failed and not self.jwks:
                raise KeysUnavailable("signing keys unavailable")
            raise InvalidToken("unknown signing key")
        return self._prepared(kid, jwk, alg)

    async def ready(self) -> tuple[bool, str]:
        """Whether signing keys are known, fetching them first if none are (at most once per
        cool-down, as for an unknown ``kid``), and a word on it."""
        if not self.jwks or self._age() >= self.max_age:
            async with self.lock:
                age = self._age()
                if (not self.jwks and age >= self.cooldown) or age >= self.max_age:
                    await self._refresh()
        if self.jwks:
            stale = f"; the last refresh failed: {self.error}" if self.failed else ""
            return True, f"{len(self.jwks)} signing keys from {self.url}{stale}"
        if self.failed:
            return False, f"no signing keys: fetching {self.url} failed: {self.error}"
        return False, f"no signing keys published at {self.url}"

    def _prepared(self, kid: str, jwk: dict[str, Any], alg: str) -> jwt.PyJWK:
        cached = self.keys.get((kid, alg))
        if cached is not None:
            return cached
        kty, crv = _KEY_TYPES[alg]
        declared = jwk.get("alg")
        if jwk.get("kty") != kty or (crv and jwk.get("crv") != crv) or declared not in {None, alg}:
            raise InvalidToken("algorithm does not match the signing key")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError as error:
            raise InvalidToken("unusable signing key") from error
        self.keys[(kid, alg)] = key
        return key

    async def _refresh(self) -> None:
        self.fetched_at = self.clock()
        try:
            jwks = await self._fetch()
        except (httpx.HTTPError, ValueError) as error:
            self.failed = True
            self.error = str(error) or error.__class__.__name__
            metrics.JWKS_REFRESHES.labels(self.issuer, "failed").inc()
            log.warning("JWKS fetch from %s failed: %s", self.url, error)
            return
        self.failed = False
        metrics.JWKS_REFRESHES.labels(self.issuer, "ok").inc()
        if jwks != self.jwks:
            self.jwks = jwks
            self.keys.clear()

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        client = httpx.AsyncClient(transport=self.transport, timeout=JWKS_TIMEOUT)
        try:
            async with client.stream("GET", self.url, headers={"Accept": "application/json"}) as r:
                r.raise_for_status()
                body = bytearray()
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise ValueError("JWKS document too large")
        finally:
            if self.transport is None:  # a caller's transport stays open for its next use
                await client.aclose()
        return _parse_jwks(bytes(body))


def _parse_jwks(body: bytes) -> dict[str, dict[str, Any]]:
    """``kid`` -> JWK, signature keys of the types we verify with (Keycloak also publishes an
    encryption key, ``"use": "enc"``)."""
    document = json.loads(body)
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a JWKS document")
    keys: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") in {"RSA", "EC"}:
            keys.setdefault(kid, entry)
    return keys


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidIssuerError, "untrusted issuer"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.InvalidKeyError, "unusable signing key"),
    (jwt.DecodeError, "malformed token"),
)


def _reason(error: jwt.PyJWTError) -> str:
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"missing claim {error.claim}"  # one of REQUIRED_CLAIMS: safe to echo
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return reason
    return "invalid token"


class TokenVerifier:
    """Verifies Bearer access tokens of the configured issuers (one JWKS cache each)."""

    def __init__(
        self,
        issuers: list[Issuer],
        *,
        leeway: float = 30,
        cooldown: float = 30,
        max_age: float = 600,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        names = [issuer.issuer for issuer in issuers]
        if len(set(names)) != len(names):
            raise ValueError("an issuer is configured twice")
        self.leeway = leeway
        self._issuers = {issuer.issuer: issuer for issuer in issuers}
        # Tokens already verified, by their SHA-256, until they expire (and for at most a
        # minute, so that a key the issuer retires stops working soon): a client sends the
        # same token with every request, and its signature cannot change its mind.
        self._clock = clock
        self._verified: dict[str, tuple[float, tuple[Issuer, dict[str, Any]]]] = {}
        self._keys = {
            issuer.issuer: _KeySet(
                issuer.jwks_url,
                issuer=issuer.issuer,
                cooldown=cooldown,
                max_age=max(max_age, cooldown),
                transport=transport,
                clock=clock,
            )
            for issuer in issuers
        }

    async def keys_ready(self, issuer: str) -> tuple[bool, str]:
        """Whether ``issuer``'s signing keys are known (fetched now if not yet): the
        readiness probe's JWKS check."""
        return await self._keys[issuer].ready()

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, once every check has passed; else ``InvalidToken``."""
        return (await self._verify(token))[1]

    async def authenticate(self, token: str, method: str = "bearer") -> Principal:
        """Verify, then map the claims with the issuer's ``ClaimMapping``."""
        issuer, claims = await self._verify(token)
        return principal_from_claims(claims, method, issuer.claims)

    async def bearer(self, token: str) -> Principal:
        """``TokenCheck``: the caller, or ``AuthError`` (AccessDenied, as S3 answers;
        ServiceUnavailable when the identity provider's keys cannot be read)."""
        try:
            return await self.authenticate(token)
        except KeysUnavailable as error:
            raise AuthError("ServiceUnavailable", f"Bearer token: {error.reason}.") from None
        except InvalidToken as error:
            raise AuthError("AccessDenied", f"Bearer token refused: {error.reason}.") from None

    async def web_identity(self, token: str) -> tuple[Principal, str, str]:
        """``sts.web_identity.WebIdentityCheck``: the caller and the issuer and audience that
        vouched for it, or ``AuthError`` (its message says "expired" for an expired token)."""
        try:
            issuer, claims = await self._verify(token)
        except InvalidToken as error:
            raise AuthError(
                "InvalidIdentityToken", f"Web identity token: {error.reason}."
            ) from None
        return (
            principal_from_claims(claims, "bearer", issuer.claims),
            issuer.issuer,
            issuer.audience,
        )

    async def _verify(self, token: str) -> tuple[Issuer, dict[str, Any]]:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed token")
        fingerprint = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        known = self._verified.get(fingerprint)
        if known is not None:
            until, verified = known
            if self._clock() < until and float(verified[1]["exp"]) + self.leeway > time.time():
                return verified
            del self._verified[fingerprint]
        verified = await self._check(token)
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.clear()
        self._verified[fingerprint] = (self._clock() + VERIFIED_SECONDS, verified)
        return verified

    async def _check(self, token: str) -> tuple[Issuer, dict[str, Any]]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:  # not base64url JSON, or a header PyJWT already refuses
            raise InvalidToken("malformed token") from None
        try:
            alg, kid = header.get("alg"), header.get("kid")
            if alg not in ALLOWED_ALGORITHMS:
                raise InvalidToken("algorithm not allowed")
            if "crit" in header:
                raise InvalidToken("unsupported header")
            if not isinstance(kid, str) or not kid:
                raise InvalidToken("missing kid")
            unverified = jwt.decode(token, options={"verify_signature": False})
            claimed = unverified.get("iss")
            issuer = self._issuers.get(claimed) if isinstance(claimed, str) else None
            if issuer is None:
                raise InvalidToken("untrusted issuer")
            key = await self._keys[issuer.issuer].key(kid, alg)
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=issuer.issuer,
                audience=issuer.audience,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(_reason(error)) from None
        except (ValueError, TypeError, KeyError, OverflowError):  # odd JSON in odd places
            raise InvalidToken("malformed token") from None
        return issuer, claims


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _strings(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def principal_from_claims(
    claims: Mapping[str, Any], method: str = "bearer", mapping: ClaimMapping = KEYCLOAK_CLAIMS
) -> Principal:
    """Who a verified token names: username (else ``sub``), realm roles, group paths."""
    subject = claims.get("sub")
    subject = subject if isinstance(subject, str) else None
    name = _claim(claims, mapping.username)
    if not isinstance(name, str) or not name:
        name = subject or ""
    return Principal(
        name=name,
        method=method,
        subject=subject,
        roles=_strings(_claim(claims, mapping.roles)),
        groups=_strings(_claim(claims, mapping.groups)),
    )
