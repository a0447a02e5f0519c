"""The canonical request and string to sign of AWS Signature Version 4, S3 flavour.

Kept apart from ``sigv4`` so the byte-level rules can be read and tested on their own:
https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
(section "Task 1: Create a Canonical Request").

All inputs are wire text: ``raw_path`` and ``query_string`` still percent-encoded, header
values as the server decoded them. Non-ASCII characters in the path or query are read back as
the latin-1 bytes they came from (the ASGI convention); characters above U+00FF, which latin-1
decoding cannot produce, are taken as UTF-8.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_OWS_RUN = re.compile(r"[ \t]+")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
PAYLOAD_MARKERS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)


def _wire_bytes(text: str) -> bytes:
    """Undo the server's latin-1 decoding of wire bytes (see module docstring)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def uri_encode(data: bytes, *, keep_slash: bool) -> str:
    """AWS ``UriEncode``: every byte but ``A-Za-z0-9-_.~`` (and ``/`` in paths) as ``%XX``."""
    return quote(data, safe="/" if keep_slash else "")


def canonical_uri(raw_path: str) -> str:
    """Decode the wire path once and re-encode it.

    S3 neither double-encodes nor normalises ``.``/``..``/``//``, so a key such as ``a//./b``
    keeps its shape; re-encoding makes a client that left ``!`` or ``'`` unescaped on the wire
    verify against the ``%21``/``%27`` it signed.
    """
    if not raw_path:
        return "/"
    return uri_encode(unquote_to_bytes(_wire_bytes(raw_path)), keep_slash=True)


def split_query(query_string: str) -> list[tuple[str, str]]:
    """Raw ``(key, value)`` pairs, still encoded; a key without ``=`` has value ``""``.

    Empty segments (``a&&b``) carry no parameter and are dropped.
    """
    pairs: list[tuple[str, str]] = []
    for segment in query_string.split("&"):
        if segment:
            key, _, value = segment.partition("=")
            pairs.append((key, value))
    return pairs


def decode_component(raw: str) -> bytes:
    """Percent-decode one query key or value.

    ``+`` is read as a space, as the form-style parsers that later read the parameters do, so
    the signature covers what the application sees (a literal plus arrives as ``%2B``).
    """
    return unquote_to_bytes(_wire_bytes(raw.replace("+", " ")))


def decoded_query(query_string: str) -> list[tuple[str, str]]:
    """Query pairs decoded to text, for reading the ``X-Amz-*`` parameters."""
    return [
        (
            decode_component(k).decode("utf-8", "replace"),
            decode_component(v).decode("utf-8", "replace"),
        )
        for k, v in split_query(query_string)
    ]


def canonical_query(query_string: str, *, exclude: frozenset[str] = frozenset()) -> str:
    """Re-encoded pairs sorted by key, then value (code point order of the encoded text).

    ``exclude`` names decoded keys left out, e.g. ``X-Amz-Signature`` for presigned URLs.
    """
    encoded: list[tuple[str, str]] = []
    for key, value in split_query(query_string):
        key_bytes = decode_component(key)
        if key_bytes.decode("utf-8", "replace") in exclude:
            continue
        encoded.append(
            (
                uri_encode(key_bytes, keep_slash=False),
                uri_encode(decode_component(value), keep_slash=False),
            )
        )
    encoded.sort()
    return "&".join(f"{k}={v}" for k, v in encoded)


def header_values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every value of header ``name`` (case-insensitive), in the order received."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The header's canonical value (repeats joined by ``,``), or ``None`` when absent."""
    values = header_values(headers, name)
    if not values:
        return None
    return ",".join(trim_value(v) for v in values)


def trim_value(value: str) -> str:
    """AWS ``Trimall``: strip the ends and collapse runs of spaces (and tabs) to one space."""
    return _OWS_RUN.sub(" ", value).strip(" ")


def canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    """``name:value\\n`` for each signed header, in the order of ``SignedHeaders``.

    A signed header the request lacks canonicalises to ``name:`` so the signature check, not
    a crash, turns the request away.
    """
    lines = []
    for name in signed:
        value = header(headers, name)
        lines.append(f"{name}:{value if value is not None else ''}\n")
    return "".join(lines)


def canonical_request(
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    signed_headers: Sequence[str],
    payload_hash: str,
    presigned: bool,
) -> str:
    """The six-part canonical request; for presigned URLs ``X-Amz-Signature`` is left out."""
    exclude = frozenset({"X-Amz-Signature"}) if presigned else frozenset()
    return "\n".join(
        (
            method,
            canonical_uri(raw_path),
            canonical_query(query_string, exclude=exclude),
            canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """``AWS4-HMAC-SHA256``, the ISO 8601 basic timestamp, the scope, the request's hash."""
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def parse_amz_date(value: str) -> datetime | None:
    """ISO 8601 basic ``YYYYMMDDTHHMMSSZ`` (``x-amz-date``, ``X-Amz-Date``), or ``None``."""
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header (RFC 7231), or ``None``; a zone-less date is taken as UTC."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def is_payload_hash(value: str) -> bool:
    """An ``x-amz-content-sha256`` value S3 knows: a hex SHA-256 or one of the markers."""
    return value in PAYLOAD_MARKERS or _HEX_SHA256.fullmatch(value) is not None
