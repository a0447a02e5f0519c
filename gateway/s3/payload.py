"""How a request body arrives: plain (with Content-Length, or HTTP-chunked of unknown
length), or aws-chunked (three streaming modes), and which flexible checksums the client
declared, in headers or as trailers.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass

from gateway.domain import checksums
from gateway.domain.checksums import ALGORITHMS
from gateway.s3.chunked import ChunkedBody, ChunkSigner
from gateway.s3.errors import S3Error
from gateway.s3.headers import content_md5
from gateway.s3.request import S3Request

SIGNED_STREAMING = frozenset(
    {"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"}
)
STREAMING = SIGNED_STREAMING | {"STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
CHECKSUM_PREFIX = "x-amz-checksum-"
_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


@dataclass(frozen=True)
class Payload:
    body: AsyncIterable[bytes]
    size: int | None  # None: plain HTTP chunked, the length known only once the body ends
    algorithms: tuple[str, ...]
    declared: Callable[[], dict[str, str]]


def _algorithm(header: str) -> str:
    name = header[len(CHECKSUM_PREFIX) :].upper()
    if name not in ALGORITHMS:
        raise S3Error("InvalidRequest", f"Unsupported checksum header {header}.")
    return name


def _check_value(algorithm: str, value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise S3Error(
            "InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."
        ) from exc
    if len(raw) != _DIGEST_SIZES[algorithm]:
        raise S3Error(
            "InvalidRequest", f"Value for x-amz-checksum-{algorithm.lower()} header is invalid."
        )
    return value


def _length(value: str | None, header: str) -> int:
    if value is None:
        raise S3Error("MissingContentLength", f"You must provide the {header} HTTP header.")
    if not value.isdigit():
        raise S3Error("InvalidArgument", f"{header} must be a non-negative integer.")
    return int(value)


def declared_in_headers(ctx: S3Request) -> dict[str, str]:
    """The ``x-amz-checksum-<algorithm>`` values the client sent as headers, checked for form."""
    in_headers = {
        _algorithm(name): value
        for name, value in ctx.request.headers.items()
        if name.lower().startswith(CHECKSUM_PREFIX)
        and name.lower() not in ("x-amz-checksum-type", "x-amz-checksum-algorithm")
    }
    return {name: _check_value(name, value) for name, value in in_headers.items()}


def payload(ctx: S3Request) -> Payload:
    headers = ctx.request.headers
    in_headers = declared_in_headers(ctx)
    trailer_names = [
        name.strip().lower() for name in headers.get("x-amz-trailer", "").split(",") if name.strip()
    ]
    in_trailers = {_algorithm(name): name for name in trailer_names}
    if len(in_headers) + len(in_trailers) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header.")
    algorithms = set(in_headers) | set(in_trailers)
    sdk_algorithm = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk_algorithm:
        if sdk_algorithm.upper() not in ALGORITHMS:
            raise S3Error("InvalidRequest", f"Unsupported checksum algorithm {sdk_algorithm}.")
        algorithms.add(sdk_algorithm.upper())
    mode = ctx.payload_hash
    if mode not in STREAMING:
        if in_trailers:
            raise S3Error("InvalidRequest", "Trailing checksums need an aws-chunked body.")
        # A plain HTTP-chunked body (curl -T -, an SDK stream of unknown length) is taken and
        # streamed as it comes (as MinIO does), its length known only at its end.
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        return Payload(
            body=ctx.body(),
            size=None if chunked else _length(headers.get("content-length"), "Content-Length"),
            algorithms=tuple(sorted(algorithms)),
            declared=lambda: in_headers,
        )
    signer = None
    if mode in SIGNED_STREAMING:
        assert ctx.credential is not None  # a STREAMING-AWS4 mode is only set by SigV4
        signer = ChunkSigner(ctx.credential)
    size = _length(headers.get("x-amz-decoded-content-length"), "x-amz-decoded-content-length")
    body = ChunkedBody(
        ctx.body(), mode=mode, decoded_length=size, signer=signer, trailer_names=trailer_names
    )

    def declared() -> dict[str, str]:
        found = dict(in_headers)
        for algorithm, name in in_trailers.items():
            found[algorithm] = _check_value(algorithm, body.trailers.get(name, ""))
        return found

    return Payload(body=body, size=size, algorithms=tuple(sorted(algorithms)), declared=declared)


def checksum_headers(checksums: dict[str, str], algorithms: tuple[str, ...]) -> dict[str, str]:
    return {
        f"x-amz-checksum-{name.lower()}": checksums[name]
        for name in algorithms
        if name in checksums
    }


async def checked_small_body(ctx: S3Request, limit: int, *, required: bool) -> bytes:
    """A small XML body read whole and held to the Content-MD5 or x-amz-checksum-* header it
    came with (``BadDigest`` on a mismatch). Configurations S3 requires integrity for
    (lifecycle, ...) answer ``InvalidRequest`` when neither header is there."""
    body = await ctx.read_small_body(limit)
    declared = declared_in_headers(ctx)
    md5 = content_md5(ctx.request.headers)
    if required and md5 is None and not declared:
        raise S3Error(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5 or x-amz-checksum-*",
        )
    if md5 is not None:
        actual = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        if actual != md5:
            raise S3Error(
                "BadDigest", "The Content-MD5 you specified did not match what we received."
            )
    for algorithm, value in declared.items():
        checksum = checksums.new(algorithm)
        checksum.update(body)
        if checksum.b64() != value:
            raise S3Error(
                "BadDigest",
                f"The {algorithm} you specified did not match the calculated checksum.",
            )
    return body
