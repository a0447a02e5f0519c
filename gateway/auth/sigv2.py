"""Server side of AWS Signature Version 2 for S3: ``Authorization: AWS`` and presigned URLs.

Still needed: aws-cli v1 presigns with V2 by default in us-east-1, s3cmd signs with it. Spec:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
Where it is loose, botocore's ``HmacV1Auth`` / ``HmacV1QueryAuth`` (what clients run) decides:
header values are only stripped (no inner folding, unlike V4), sub-resources are its
``QSAOfInterest``, a bucket-only resource ends in ``/`` (it signs ``/bucket/``, sends ``/bucket``).
Errors are ``AuthError`` with S3's code and message; nothing awaits but the secret lookup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from gateway.auth import canonical
from gateway.auth.errors import AuthError, two_mechanisms
from gateway.auth.sigv4 import SecretLookup, SignedRequest

__all__ = ["SUB_RESOURCES", "SigV2Credential", "is_sigv2", "verify"]

# botocore.auth.HmacV1Auth.QSAOfInterest: a superset of the list on the AWS page. Matched on
# the decoded name, so ``?%61cl`` cannot slip an unsigned ``acl`` past the signature.
_SUB_RESOURCE_NAMES = (
    "accelerate acl analytics cors defaultObjectAcl delete inventory lifecycle location logging"
    " metrics notification object-lock partNumber policy replication requestPayment restore"
    " select select-type storageClass tagging torrent uploadId uploads versionId versioning"
    " versions website response-cache-control response-content-disposition"
    " response-content-encoding response-content-language response-content-type"
    " response-expires"
)
SUB_RESOURCES = frozenset(_SUB_RESOURCE_NAMES.split())
# A later ``Expires`` is an invalid date to S3 (swift s3api's AWS-parity test_presigned.py).
MAX_EXPIRES = 2**31 - 1
_QUERY_AUTH = ("AWSAccessKeyId", "Signature", "Expires")
_QUERY_CLAIM = frozenset(_QUERY_AUTH[:2])  # ``Expires`` alone claims nothing
_AUTH_HEADER = re.compile(r"AWS ([^\s:]+):([^\s:]+)")
_Query = list[tuple[str, str | None, str]]  # (key, value or None for a bare key, raw value)
_MALFORMED = "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature"


@dataclass(frozen=True)
class SigV2Credential:
    """A verified V2 signature: who signed, and until when a presigned URL holds."""

    access_key: str
    presigned: bool
    expires: datetime | None


def is_sigv2(req: SignedRequest) -> bool:
    """Whether the request claims V2: ``Authorization: AWS ...`` or the V2 query parameters.

    One of ``AWSAccessKeyId`` / ``Signature`` is enough, so a URL missing the rest reaches
    ``verify`` and is refused rather than served as anonymous.
    """
    auth = canonical.header(req.headers, "authorization")
    if auth is not None and auth.startswith("AWS "):
        return True
    return any(key in _QUERY_CLAIM for key, _, _ in _query(req.query_string))


async def verify(
    req: SignedRequest,
    lookup: SecretLookup,
    now: datetime,
    *,
    max_skew_seconds: int = 900,
    virtual_host_bucket: str | None = None,
) -> SigV2Credential:
    """Check a V2 request and return its credential, or raise ``AuthError``.

    ``virtual_host_bucket`` is the bucket the ``Host`` header named, which the resource
    (but not the path) carries. Header and query auth together are refused, as S3 does.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    auth = canonical.header(req.headers, "authorization")
    query = _query(req.query_string)
    # ``Signature`` keeps a raw '+': base64 has no spaces, and some clients leave it unescaped.
    params = {
        k: unquote(raw) if k == "Signature" else v or "" for k, v, raw in query if k in _QUERY_AUTH
    }
    expires: datetime | None = None
    claimed = not _QUERY_CLAIM.isdisjoint(params)
    if auth is not None and claimed:
        raise two_mechanisms()
    if auth is not None:
        access_key, signature, date_line = _header_claim(req, auth, now, max_skew_seconds)
    elif claimed:
        access_key, signature, date_line = (params.get(key, "") for key in _QUERY_AUTH)
        if not (access_key and signature and date_line):
            raise AuthError(
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and "
                "AWSAccessKeyId parameters",
            )
        expires = _check_expires(date_line, now)
    else:
        raise AuthError("AccessDenied", "Access Denied")

    secret = await lookup(access_key)
    if secret is None:
        raise AuthError(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            AWSAccessKeyId=access_key,
        )
    sts = _string_to_sign(req, query, date_line, expires is not None, virtual_host_bucket)
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), sts, hashlib.sha1).digest())
    if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape")):
        raise AuthError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            AWSAccessKeyId=access_key,
            StringToSign=sts.decode("utf-8", "replace"),
            SignatureProvided=signature,
            StringToSignBytes=sts.hex(" "),
        )
    return SigV2Credential(access_key=access_key, presigned=expires is not None, expires=expires)


def _string_to_sign(
    req: SignedRequest, query: _Query, date_line: str, presigned: bool, bucket: str | None
) -> bytes:
    """Verb, Content-MD5, Content-Type, Date (or Expires), amz headers, resource; UTF-8."""
    lines = (req.method, _std(req, "content-md5"), _std(req, "content-type"), date_line, "")
    text = "\n".join(lines) + _amz_headers(req, query, presigned) + _resource(req, query, bucket)
    return text.encode("utf-8", "surrogateescape")


def _header_claim(
    req: SignedRequest, auth: str, now: datetime, max_skew: int
) -> tuple[str, str, str]:
    """``AWS AKID:Signature`` and the Date line; the timestamp must be within ``max_skew``.

    With ``x-amz-date`` present the Date line is empty, as the spec's time stamp section says
    (boto2 signs so); its value is then signed among the amz headers.
    """
    if not auth.startswith("AWS "):
        raise AuthError(
            "InvalidArgument", "Unsupported Authorization Type", ArgumentName="Authorization"
        )
    match = _AUTH_HEADER.fullmatch(auth)
    if match is None:
        raise AuthError(
            "InvalidArgument", _MALFORMED, ArgumentName="Authorization", ArgumentValue=auth
        )
    amz_date = _std(req, "x-amz-date")
    stamp = amz_date or _std(req, "date")
    when = canonical.parse_http_date(stamp) or canonical.parse_amz_date(stamp)
    if when is None:
        raise AuthError(
            "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header"
        )
    if abs(now - when) > timedelta(seconds=max_skew):
        raise AuthError(
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            RequestTime=stamp,
            ServerTime=_iso(now),
            MaxAllowedSkewMilliseconds=str(max_skew * 1000),
        )
    return match[1], match[2], "" if amz_date else stamp


def _check_expires(value: str, now: datetime) -> datetime:
    """``Expires``: whole seconds since the epoch, not yet past."""
    if not re.fullmatch(r"[0-9]{1,10}", value) or int(value) > MAX_EXPIRES:
        raise AuthError("AccessDenied", f"Invalid date (should be seconds since epoch): {value}")
    expires = datetime.fromtimestamp(int(value), UTC)
    if now > expires:
        raise AuthError(
            "AccessDenied", "Request has expired", Expires=_iso(expires), ServerTime=_iso(now)
        )
    return expires


def _query(query_string: str) -> _Query:
    """``(key, value, raw value)`` decoded (``+`` as space, as the application reads them);
    ``value`` is ``None`` for a bare ``?acl``, which signs differently from ``?acl=``."""
    pairs: _Query = []
    for segment in filter(None, query_string.split("&")):
        key, eq, raw = segment.partition("=")
        value = _text(canonical.decode_component(raw)) if eq else None
        pairs.append((_text(canonical.decode_component(key)), value, raw))
    return pairs


def _std(req: SignedRequest, name: str) -> str:
    """A header's value stripped at both ends, repeats joined by ``,``; ``""`` when absent."""
    return ",".join(v.strip() for v in canonical.header_values(req.headers, name))


def _amz_headers(req: SignedRequest, query: _Query, presigned: bool) -> str:
    """Sorted ``x-amz-*:v1,v2\\n`` lines.

    A presigned URL carries the ``x-amz-*`` headers it was signed with (e.g.
    ``x-amz-security-token``) as query parameters, as ``HmacV1QueryAuth`` puts them there.
    """
    found: dict[str, list[str]] = {}
    pairs = list(req.headers)
    if presigned:
        pairs += [(key, value or "") for key, value, _ in query]
    for name, value in pairs:
        if name.lower().startswith("x-amz-"):
            found.setdefault(name.lower(), []).append(value.strip())
    return "".join(f"{name}:{','.join(values)}\n" for name, values in sorted(found.items()))


def _resource(req: SignedRequest, query: _Query, bucket: str | None) -> str:
    """``[/bucket]`` + the path as sent (still encoded) + sorted sub-resources, decoded."""
    path = _text(_wire_bytes(req.raw_path or "/"))
    if bucket is not None:
        path = f"/{bucket}{path}"
    if path.count("/") == 1 and path != "/":
        path += "/"
    subs = sorted(((k, v) for k, v, _ in query if k in SUB_RESOURCES), key=lambda kv: kv[0])
    if subs:
        path += "?" + "&".join(k if v is None else f"{k}={v}" for k, v in subs)
    return path


def _wire_bytes(text: str) -> bytes:
    """The bytes the server decoded as latin-1 (ASGI); above U+00FF it can only be UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
