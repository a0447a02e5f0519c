"""Who sent this request (S3 and STS alike): SigV4 (header, query, streaming), SigV2 (header,
query), a Keycloak Bearer token, or anonymous. A request that carries credentials which do
not verify is refused; it never falls back to anonymous (DESIGN.md §4)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request

from gateway.auth import canonical, sigv2, sigv4
from gateway.auth.errors import AuthError
from gateway.auth.jwt import TokenCheck
from gateway.auth.keyring import CallerLookup, Keyring
from gateway.domain.values import ANONYMOUS, Principal


def signed_request(request: Request) -> sigv4.SignedRequest:
    """The request as the signature checks see it. An empty ``Authorization`` header claims
    nothing, so it is left out: S3 answers such a request as anonymous."""
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    return sigv4.SignedRequest(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1").split("?", 1)[0],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=[(k, v) for k, v in headers if k.lower() != "authorization" or v.strip()],
    )


def session_token(signed: sigv4.SignedRequest) -> str | None:
    """An STS session's token: the header, or a presigned URL's query parameter."""
    return canonical.header(signed.headers, "x-amz-security-token") or dict(
        canonical.decoded_query(signed.query_string)
    ).get("X-Amz-Security-Token")


async def authenticate(
    request: Request,
    keyring: Keyring,
    max_skew: int,
    virtual_host_bucket: str | None = None,
    bearer: TokenCheck | None = None,
) -> tuple[Principal, sigv4.SigV4Credential | None]:
    signed = signed_request(request)
    lookup = CallerLookup(keyring, session_token(signed))
    if sigv4.is_sigv4(signed):
        credential = await sigv4.verify(
            signed, lookup, datetime.now(UTC), max_skew_seconds=max_skew
        )
        return lookup.caller(), credential
    if sigv2.is_sigv2(signed):
        await sigv2.verify(
            signed,
            lookup,
            datetime.now(UTC),
            max_skew_seconds=max_skew,
            virtual_host_bucket=virtual_host_bucket,
        )
        return lookup.caller(), None
    authorization = canonical.header(signed.headers, "authorization")
    if authorization is not None and authorization[:7].lower() == "bearer ":
        if bearer is None:
            raise AuthError("AccessDenied", "Bearer tokens are not accepted here.")
        return await bearer(authorization[7:].strip()), None
    if authorization is not None or "Signature" in request.query_params:
        raise AuthError(
            "AccessDenied", "This signing method is not supported; use AWS Signature Version 4."
        )
    return ANONYMOUS, None
