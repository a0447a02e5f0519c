"""Request and response headers of objects: stored headers, user metadata, conditionals,
Range, and the ``response-*`` overrides of GetObject."""

from __future__ import annotations

import base64
import binascii
import re

from starlette.datastructures import Headers

from gateway.domain.conditions import CACHING, RangeRequest, ReadConditions, WriteConditions
from gateway.domain.values import ObjectRecord
from gateway.s3 import mailsafe
from gateway.s3.errors import S3Error
from gateway.s3.request import http_date, parse_http_date

STORED_HEADERS = (
    "Content-Type",
    "Content-Encoding",
    "Content-Disposition",
    "Content-Language",
    "Cache-Control",
    "Expires",
)
OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}
META = "x-amz-meta-"
MAX_METADATA_BYTES = 2048
OCI_REFERENCE = "x-artifact-store-oci-reference"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stored_headers(headers: Headers) -> dict[str, str]:
    found = {name: headers[name] for name in STORED_HEADERS if name in headers}
    encoding = found.get("Content-Encoding")
    if encoding is not None:
        # aws-chunked is a transfer framing, never the object's encoding.
        kept = [p.strip() for p in encoding.split(",") if p.strip() and p.strip() != "aws-chunked"]
        if kept:
            found["Content-Encoding"] = ", ".join(kept)
        else:
            del found["Content-Encoding"]
    return found


def user_metadata(headers: Headers) -> dict[str, str]:
    """``x-amz-meta-*`` as stored: values decoded as S3 does (``mailsafe.decode``)."""
    metadata = {
        name[len(META) :].lower(): value
        for name, value in headers.items()
        if name.lower().startswith(META)
    }
    # Header text is the wire bytes decoded as latin-1: encoding back counts each byte once.
    size = sum(len(k.encode("latin-1")) + len(v.encode("latin-1")) for k, v in metadata.items())
    if size > MAX_METADATA_BYTES:
        raise S3Error(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size (2 KB).",
        )
    return {name: mailsafe.decode(value) for name, value in metadata.items()}


def content_md5(headers: Headers) -> str | None:
    value = headers.get("content-md5")
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise S3Error("InvalidDigest") from exc
    if len(raw) != 16:
        raise S3Error("InvalidDigest")
    return value


def read_conditions(headers: Headers, prefix: str = "if-") -> ReadConditions:
    return ReadConditions(
        if_match=headers.get(f"{prefix}match"),
        if_none_match=headers.get(f"{prefix}none-match"),
        if_modified_since=parse_http_date(headers.get(f"{prefix}modified-since")),
        if_unmodified_since=parse_http_date(headers.get(f"{prefix}unmodified-since")),
    )


def write_conditions(headers: Headers) -> WriteConditions:
    """``If-Match`` / ``If-None-Match`` of PutObject, CopyObject and CompleteMultipartUpload.

    S3 takes only ``*`` in If-None-Match on a write, and not together with If-Match: anything
    else is 501 NotImplemented (what S3 answers; the API reference says "Expects the '*'").
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html"""
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and (if_none_match.strip() != "*" or if_match is not None):
        raise S3Error(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            fields={"Header": "If-None-Match"},
        )
    return WriteConditions(if_match=if_match, if_none_match=if_none_match)


def parse_range(value: str | None) -> RangeRequest | None:
    """One ``bytes=`` range; anything else is ignored and the whole object is served
    (RFC 9110 §14.2: a server may ignore a Range it does not understand, S3 does)."""
    if not value:
        return None
    found = _RANGE.match(value.strip())
    if not found or (not found.group(1) and not found.group(2)):
        return None
    first = int(found.group(1)) if found.group(1) else None
    last = int(found.group(2)) if found.group(2) else None
    if first is not None and last is not None and last < first:
        return None
    return RangeRequest(first=first, last=last)


def object_headers(record: ObjectRecord, reference: str) -> dict[str, str]:
    headers = {
        "ETag": record.etag,
        "Last-Modified": http_date(record.last_modified),
        "Accept-Ranges": "bytes",
        "Content-Type": record.content_type,
        OCI_REFERENCE: reference,
    }
    headers.update({k: v for k, v in record.headers.items() if k != "Content-Type"})
    for name, value in record.metadata.items():
        headers[META + name] = mailsafe.encode(value)
    return headers


REFERRER_COUNTS = {
    "signature": "x-artifact-store-signatures",
    "sbom": "x-artifact-store-sboms",
    "attestation": "x-artifact-store-attestations",
}


def referrer_headers(counts: dict[str, int]) -> dict[str, str]:
    """How many signatures, SBOMs and attestations the object has (0 included)."""
    return {header: str(counts.get(kind, 0)) for kind, header in REFERRER_COUNTS.items()}


def apply_overrides(headers: dict[str, str], query: dict[str, str]) -> None:
    for parameter, header in OVERRIDES.items():
        if parameter in query:
            headers[header] = query[parameter]


def caching_overrides(query: dict[str, str]) -> dict[str, str]:
    """The Cache-Control and Expires the ``response-*`` parameters ask for: a 304 carries
    them as the 200 to the same request would (RFC 9110 §15.4.5)."""
    return {
        header: query[parameter]
        for parameter, header in OVERRIDES.items()
        if header in CACHING and parameter in query
    }
