"""Server side of AWS Signature Version 4 for S3: ``Authorization`` header and presigned URLs.

Implements, for verification rather than signing:

- https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-auth-using-authorization-header.html
- https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html

Every failure is an ``AuthError`` carrying the error code S3 answers with. Nothing here does
I/O except awaiting the secret lookup, so the whole check is deterministic given ``now``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from gateway.auth import canonical
from gateway.auth.canonical import ALGORITHM, TERMINATOR, UNSIGNED_PAYLOAD
from gateway.auth.errors import AuthError, two_mechanisms

__all__ = ["SecretLookup", "SigV4Credential", "SignedRequest", "is_sigv4", "signing_key", "verify"]

SecretLookup = Callable[[str], Awaitable[str | None]]

ACCEPTED_SERVICES = frozenset({"s3", "sts"})
MAX_PRESIGN_EXPIRES = 604_800  # one week, the S3 limit for X-Amz-Expires
_SCOPE_DATE = re.compile(r"\d{8}")
_EXPIRES = re.compile(r"[+-]?[0-9]+")
_QUERY_AUTH_KEYS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_QUERY_REQUIRED = (*_QUERY_AUTH_KEYS, "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders")
_HEADER_MALFORMED = "The authorization header is malformed; "
_QUERY_MALFORMED = "Error parsing the X-Amz-Credential parameter; "


class _Claim(NamedTuple):
    """What the request says about its signature, before the scope is checked."""

    credential: str
    signed_headers: str
    signature: str
    amz_date: datetime
    payload_hash: str
    presigned: bool


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that SigV4 covers, exactly as received."""

    method: str
    raw_path: str
    query_string: str
    headers: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class SigV4Credential:
    """A verified signature: who signed, for which scope, and what chunk signing needs next."""

    access_key: str
    amz_date: datetime
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    payload_hash: str
    signature: str
    signing_key: bytes
    presigned: bool


def is_sigv4(req: SignedRequest) -> bool:
    """Whether the request claims SigV4, by header or by presigned query."""
    auth = canonical.header(req.headers, "authorization")
    if auth is not None and auth.startswith(ALGORITHM + " "):
        return True
    return ("X-Amz-Algorithm", ALGORITHM) in canonical.decoded_query(req.query_string)


@lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``kSigning``, cached: it changes once a day per key and scope, not per request."""
    key = ("AWS4" + secret).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


async def verify(
    req: SignedRequest,
    lookup: SecretLookup,
    now: datetime,
    *,
    max_skew_seconds: int = 900,
    body_sha256: str | None = None,
) -> SigV4Credential:
    """Check a SigV4 request and return its credential, or raise ``AuthError``.

    ``body_sha256`` is the hex SHA-256 of a body the caller has already read (the STS query
    API): it is what the signature must cover, as non-S3 services sign without an
    ``x-amz-content-sha256`` header and never leave the payload unsigned.

    With both an ``Authorization`` header and ``X-Amz-*`` auth query parameters S3 answers
    ``InvalidArgument`` ("Only one auth mechanism allowed"), so we do the same rather than
    pick one of the two.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    auth = canonical.header(req.headers, "authorization")
    query = canonical.decoded_query(req.query_string)
    query_auth = any(key in _QUERY_AUTH_KEYS for key, _ in query)
    if auth is not None and query_auth:
        raise two_mechanisms()
    if auth is not None:
        claim = _header_claim(req, auth, now, max_skew_seconds, body_sha256)
    elif query_auth:
        claim = _query_claim(req, query, now, max_skew_seconds)
    else:
        raise AuthError("AccessDenied", "Access Denied")
    if body_sha256 is not None:
        claim = claim._replace(payload_hash=body_sha256)
    if claim.presigned:
        code, prefix = "AuthorizationQueryParametersError", _QUERY_MALFORMED
    else:
        code, prefix = "AuthorizationHeaderMalformed", _HEADER_MALFORMED
    access_key, date, region, service = _parse_scope(claim.credential, claim.amz_date, code, prefix)
    signed_headers = _parse_signed_headers(claim.signed_headers, code, prefix)
    _require_signed(req, signed_headers)

    secret = await lookup(access_key)
    if secret is None:
        raise AuthError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )
    key = signing_key(secret, date, region, service)
    creq = canonical.canonical_request(
        method=req.method,
        raw_path=req.raw_path,
        query_string=req.query_string,
        headers=req.headers,
        signed_headers=signed_headers,
        payload_hash=claim.payload_hash,
        presigned=claim.presigned,
    )
    scope = f"{date}/{region}/{service}/{TERMINATOR}"
    sts = canonical.string_to_sign(claim.amz_date.strftime("%Y%m%dT%H%M%SZ"), scope, creq)
    expected = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), claim.signature.encode("utf-8", "surrogatepass")):
        raise AuthError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=access_key,
            StringToSign=sts,
            SignatureProvided=claim.signature,
            CanonicalRequest=creq,
        )
    return SigV4Credential(
        access_key=access_key,
        amz_date=claim.amz_date,
        date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        payload_hash=claim.payload_hash,
        signature=claim.signature,
        signing_key=key,
        presigned=claim.presigned,
    )


def _header_claim(
    req: SignedRequest, auth: str, now: datetime, max_skew: int, body_sha256: str | None = None
) -> _Claim:
    """Parse ``Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``.

    Components may come in any order, separated by commas and/or spaces, as AWS accepts.
    """
    scheme, _, rest = auth.partition(" ")
    if scheme != ALGORITHM:
        raise AuthError(
            "InvalidArgument", "Unsupported Authorization Type", ArgumentName="Authorization"
        )
    parts: dict[str, str] = {}
    for token in filter(None, re.split(r"[\s,]+", rest)):
        name, eq, value = token.partition("=")
        if not eq or not value or name not in {"Credential", "SignedHeaders", "Signature"}:
            raise _malformed_header(f"unexpected component {token!r}.")
        if name in parts:
            raise _malformed_header(f"the {name} component is repeated.")
        parts[name] = value
    if len(parts) != 3:
        raise _malformed_header(
            "the authorization header requires three components: "
            "Credential, SignedHeaders, and Signature."
        )
    payload = canonical.header(req.headers, "x-amz-content-sha256") or body_sha256
    if payload is None:
        raise AuthError(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    _check_payload_hash(payload)
    amz_date = _header_date(req)
    if abs(now - amz_date) > timedelta(seconds=max_skew):
        raise _skewed(amz_date, now, max_skew)
    return _Claim(
        parts["Credential"], parts["SignedHeaders"], parts["Signature"], amz_date, payload, False
    )


def _query_claim(
    req: SignedRequest, query: list[tuple[str, str]], now: datetime, max_skew: int
) -> _Claim:
    """Read the ``X-Amz-*`` parameters of a presigned URL and check its validity window."""
    params: dict[str, str] = {}
    for key, value in query:
        if key in _QUERY_REQUIRED:
            if key in params:
                raise _query_error(f"{key} must not be repeated.")
            params[key] = value
    if any(key not in params for key in _QUERY_REQUIRED):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    amz_date = canonical.parse_amz_date(params["X-Amz-Date"])
    if amz_date is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires = _parse_expires(params["X-Amz-Expires"])
    if amz_date - now > timedelta(seconds=max_skew):
        raise _skewed(amz_date, now, max_skew)
    if now > amz_date + timedelta(seconds=expires):
        raise AuthError(
            "AccessDenied",
            "Request has expired",
            **{"X-Amz-Expires": str(expires)},
            Expires=_iso(amz_date + timedelta(seconds=expires)),
            ServerTime=_iso(now),
        )
    payload = canonical.header(req.headers, "x-amz-content-sha256")
    if payload is None:
        payload = UNSIGNED_PAYLOAD
    else:
        _check_payload_hash(payload)
    return _Claim(
        params["X-Amz-Credential"],
        params["X-Amz-SignedHeaders"],
        params["X-Amz-Signature"],
        amz_date,
        payload,
        True,
    )


def _parse_scope(
    credential: str, amz_date: datetime, code: str, prefix: str
) -> tuple[str, str, str, str]:
    """Split ``AKID/YYYYMMDD/region/service/aws4_request`` and check it against the date."""
    fields = credential.split("/")
    if len(fields) != 5 or not all(fields) or not _SCOPE_DATE.fullmatch(fields[1]):
        raise AuthError(
            code,
            prefix + "the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    access_key, date, region, service, terminator = fields
    if date != amz_date.strftime("%Y%m%d"):
        raise AuthError(
            code, prefix + "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    if service not in ACCEPTED_SERVICES:
        raise AuthError(
            code, prefix + f'incorrect service "{service}". This endpoint belongs to "s3".'
        )
    if terminator != TERMINATOR:
        raise AuthError(
            code,
            prefix + f'incorrect terminal "{terminator}". This endpoint uses "{TERMINATOR}".',
        )
    return access_key, date, region, service


def _parse_signed_headers(value: str, code: str, prefix: str) -> tuple[str, ...]:
    """``host;range;x-amz-date`` -> names; AWS requires them lowercase already."""
    names = tuple(value.split(";"))
    if not all(names) or any(n != n.strip().lower() for n in names):
        raise AuthError(code, prefix + "SignedHeaders must be lowercase names separated by ';'.")
    return names


def _require_signed(req: SignedRequest, signed_headers: tuple[str, ...]) -> None:
    """``host`` and every ``x-amz-*`` header sent must be covered by the signature."""
    present = {name.lower() for name, _ in req.headers}
    required = {"host"} | {n for n in present if n.startswith("x-amz-")}
    missing = sorted(required - set(signed_headers))
    if missing:
        raise AuthError(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(missing),
        )


def _header_date(req: SignedRequest) -> datetime:
    """``x-amz-date`` (ISO 8601 basic) wins over ``Date`` (RFC 7231), as in the PUT example."""
    amz = canonical.header(req.headers, "x-amz-date")
    parsed: datetime | None
    if amz is not None:
        parsed = canonical.parse_amz_date(amz)
    else:
        parsed = canonical.parse_http_date(canonical.header(req.headers, "date"))
    if parsed is None:
        raise AuthError(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    return parsed


def _parse_expires(value: str) -> int:
    """``X-Amz-Expires``: a signed 64-bit number of seconds, 0 to 604800 (a week).

    S3 answers a non-number, a negative number and more than a week with
    ``AuthorizationQueryParametersError`` (400) and these messages; 0 is a valid number whose
    URL is already past its expiry, so it is ``AccessDenied`` "Request has expired" (403).
    """
    expires = parse_expires(value)
    if expires is None:
        raise _query_error("X-Amz-Expires should be a number")
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGN_EXPIRES:
        raise _query_error(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            f"X-Amz-Expires must be less than {MAX_PRESIGN_EXPIRES} seconds"
        )
    return expires


def parse_expires(value: str) -> int | None:
    """The number ``X-Amz-Expires`` holds, as a 64-bit integer reads it (an optional sign,
    ASCII digits); None if it is not one."""
    if not _EXPIRES.fullmatch(value) or len(value.lstrip("+-").lstrip("0")) > 19:
        return None
    number = int(value)
    return number if -(2**63) <= number < 2**63 else None


def _check_payload_hash(value: str) -> None:
    """The gateway later trusts this value to check the body, so only known forms pass."""
    if canonical.is_payload_hash(value):
        return
    raise AuthError(
        "InvalidArgument",
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* marker "
        "or a valid sha256 value.",
        ArgumentName="x-amz-content-sha256",
        ArgumentValue=value,
    )


def _skewed(request_time: datetime, now: datetime, max_skew: int) -> AuthError:
    return AuthError(
        "RequestTimeTooSkewed",
        "The difference between the request time and the current time is too large.",
        RequestTime=_iso(request_time),
        ServerTime=_iso(now),
        MaxAllowedSkewMilliseconds=str(max_skew * 1000),
    )


def _malformed_header(reason: str) -> AuthError:
    return AuthError("AuthorizationHeaderMalformed", _HEADER_MALFORMED + reason)


def _query_error(message: str) -> AuthError:
    return AuthError("AuthorizationQueryParametersError", message)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
