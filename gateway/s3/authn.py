"""Who sent this S3 request: SigV4 (header, query, streaming), SigV2 (header, query) or
anonymous. A request that carries credentials
which do not verify is refused; it never falls back to anonymous (DESIGN.md §4)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.requests import Request

from gateway.auth import sigv2, sigv4
from gateway.auth.errors import AuthError
from gateway.domain.values import ANONYMOUS, Principal

SecretLookup = Callable[[str], Awaitable[str | None]]


def root_lookup(access_key: str, secret: str) -> SecretLookup:
    async def lookup(candidate: str) -> str | None:
        return secret if hmac.compare_digest(candidate, access_key) else None

    return lookup


def signed_request(request: Request) -> sigv4.SignedRequest:
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    return sigv4.SignedRequest(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1").split("?", 1)[0],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
    )


async def authenticate(
    request: Request, lookup: SecretLookup, max_skew: int, virtual_host_bucket: str | None = None
) -> tuple[Principal, sigv4.SigV4Credential | None]:
    signed = signed_request(request)
    if sigv4.is_sigv4(signed):
        credential = await sigv4.verify(
            signed, lookup, datetime.now(UTC), max_skew_seconds=max_skew
        )
        return Principal(name="root", method="root", access_key=credential.access_key), credential
    if sigv2.is_sigv2(signed):
        legacy = await sigv2.verify(
            signed,
            lookup,
            datetime.now(UTC),
            max_skew_seconds=max_skew,
            virtual_host_bucket=virtual_host_bucket,
        )
        return Principal(name="root", method="root", access_key=legacy.access_key), None
    authorization = request.headers.get("authorization")
    if authorization is not None or "Signature" in request.query_params:
        raise AuthError(
            "AccessDenied", "This signing method is not supported; use AWS Signature Version 4."
        )
    return ANONYMOUS, None
