"""Who calls the JSON API: a Keycloak Bearer token, or HTTP Basic with an S3 access key id
and its secret (for tools that hold only S3 credentials, such as tus clients). Temporary keys
from STS come with their session token in ``X-Amz-Security-Token``, the header S3 requests
carry it in."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import Request

from gateway.api.problems import ApiError
from gateway.api.state import keyring_of
from gateway.auth.errors import AuthError
from gateway.auth.jwt import TokenCheck
from gateway.domain.values import ANONYMOUS, Principal
from gateway.observability.context import note

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="artifact-store", Basic realm="artifact-store"'}


async def caller(request: Request) -> Principal:
    """The authenticated caller; 401 without credentials, 403 with wrong ones."""
    who = await _caller(request)
    note(principal=who.name)
    return who


async def _caller(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        bearer: TokenCheck | None = request.app.state.bearer
        if bearer is None:
            raise ApiError(401, "Unauthorized", "Bearer tokens are not accepted here.", CHALLENGE)
        try:
            return await bearer(value.strip())
        except AuthError as exc:
            raise ApiError(401, "Unauthorized", exc.message, CHALLENGE) from exc
    if scheme.lower() != "basic":
        raise ApiError(
            401, "Unauthorized", "Send a Bearer token or Basic access-key credentials.", CHALLENGE
        )
    try:
        access_key, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(401, "Unauthorized", "Malformed Basic credentials.") from exc
    keyring = keyring_of(request)
    try:
        resolved = await keyring.resolve(access_key, request.headers.get("x-amz-security-token"))
    except AuthError as exc:  # a session token that does not open, or has expired
        raise ApiError(403, "Forbidden", exc.message) from exc
    if resolved is None or not hmac.compare_digest(resolved.secret, secret):
        raise ApiError(403, "Forbidden", "Unknown access key or wrong secret.")
    return resolved.principal


async def reader(request: Request) -> Principal:
    """For the read-only routes (list and fetch referrers, verdicts, trust): a request
    without credentials is anonymous and gets what a bucket policy grants to everyone (a
    public-read bucket's referrers); one with credentials must authenticate, never falling
    back to anonymous."""
    if "authorization" not in request.headers:
        note(principal=ANONYMOUS.name)
        return ANONYMOUS
    return await caller(request)
