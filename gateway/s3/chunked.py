"""Decode an ``aws-chunked`` request body into the object's bytes while it streams.

Specs:

- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
  (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: every chunk signed, chained from the seed signature)
- https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
  (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: the same, plus signed trailing headers)
- ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: unsigned chunks plus trailers, as botocore's
  ``AwsChunkedWrapper`` and the CRT send them.

The body, after HTTP's own framing is gone::

    <hex size>[;chunk-signature=<64 hex>]\\r\\n <size bytes of data> \\r\\n     (repeated)
    0[;chunk-signature=<64 hex>]\\r\\n                                       (the final chunk)
    <name>:<value>\\r\\n ...                                                (trailer modes)
    x-amz-trailer-signature:<64 hex>\\r\\n                                  (signed trailer mode)
    \\r\\n

Data is passed on as it arrives, never a whole chunk at a time (a chunk may be many MiB).
A signed chunk's signature is checked when its last byte has arrived and before that byte is
passed on, so a consumer may have seen the start of a chunk whose signature then fails: the
error still ends the stream before EOF, which is what keeps the upload from being committed.
Header lines are capped at :data:`MAX_LINE` bytes and trailers at :data:`MAX_TRAILERS`, so a
client cannot make us buffer without bound.

Errors are the ones S3 answers (as reproduced against AWS by versitygw, issues #1660, #1665,
#1683, #1701): a malformed or truncated body is ``IncompleteBody``; a chunk other than the last
below 8 KiB is ``InvalidChunkSizeError``; a bad or missing chunk or trailer signature is
``SignatureDoesNotMatch``; an undeclared, repeated or missing trailer is
``MalformedTrailerError``. Exceptions from the source (a client disconnect) pass unchanged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterable, AsyncIterator, Sequence

from gateway.auth import canonical
from gateway.auth.canonical import TERMINATOR
from gateway.auth.sigv4 import SigV4Credential
from gateway.s3.errors import S3Error

__all__ = [
    "MAX_LINE",
    "MAX_TRAILERS",
    "MIN_CHUNK_SIZE",
    "MODES",
    "SIGNED",
    "SIGNED_TRAILER",
    "UNSIGNED_TRAILER",
    "ChunkSigner",
    "ChunkedBody",
    "canonical_trailer",
]

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
MODES = frozenset({SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER})

MIN_CHUNK_SIZE = 8192  # S3: "Only the last chunk is allowed to have a size less than 8192 bytes"
MAX_LINE = 4096  # a chunk header or trailer line, CRLF included (a signed header is 99 bytes)
MAX_TRAILERS = 16
TRAILER_SIGNATURE = "x-amz-trailer-signature"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(;[\x20-\x7e]*)?")
_SIGNATURE_EXT = b";chunk-signature="
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e]*")

# Decoder states: what the next bytes must be.
_SIZE, _DATA, _DATA_END, _TRAILER, _END, _DONE = range(6)


class ChunkSigner:
    """Expected chunk/trailer signatures, chained from the seed signature of the request.

    String to sign of a chunk (sigv4-streaming.html, "Defining the Chunk Body")::

        AWS4-HMAC-SHA256-PAYLOAD \\n <YYYYMMDDTHHMMSSZ> \\n <scope> \\n <previous signature> \\n
        <sha256 hex of ""> \\n <sha256 hex of the chunk's data>

    with ``<scope>`` = ``<YYYYMMDD>/<region>/<service>/aws4_request``

    and of the trailer (sigv4-streaming-trailers.html)::

        AWS4-HMAC-SHA256-TRAILER \\n <YYYYMMDDTHHMMSSZ> \\n <scope> \\n
        <previous signature> \\n <sha256 hex of the canonical trailer>

    each signed with the request's ``kSigning``; "previous" is the seed signature for the first
    chunk, then the signature just computed (the final 0-byte chunk's before the trailer).
    """

    def __init__(self, credential: SigV4Credential) -> None:
        stamp = credential.amz_date.strftime("%Y%m%dT%H%M%SZ")
        scope = f"{credential.date}/{credential.region}/{credential.service}/{TERMINATOR}"
        self.access_key = credential.access_key
        self._key = credential.signing_key
        self._chunk_head = f"AWS4-HMAC-SHA256-PAYLOAD\n{stamp}\n{scope}\n"
        self._trailer_head = f"AWS4-HMAC-SHA256-TRAILER\n{stamp}\n{scope}\n"
        self.previous = credential.signature
        self.string_to_sign = ""  # the last one computed, for SignatureDoesNotMatch

    def chunk(self, chunk_sha256_hex: str) -> str:
        """The next expected chunk signature (advances the chain)."""
        return self._advance(
            f"{self._chunk_head}{self.previous}\n{EMPTY_SHA256}\n{chunk_sha256_hex}"
        )

    def trailer(self, canonical_trailer: bytes) -> str:
        """The expected ``x-amz-trailer-signature`` (advances the chain)."""
        digest = hashlib.sha256(canonical_trailer).hexdigest()
        return self._advance(f"{self._trailer_head}{self.previous}\n{digest}")

    def _advance(self, string_to_sign: str) -> str:
        self.string_to_sign = string_to_sign
        self.previous = hmac.new(
            self._key, string_to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        return self.previous


def canonical_trailer(trailers: dict[str, str]) -> bytes:
    """``name:value\\n`` per trailer, sorted by name: the canonical-headers rule the SDKs use
    (aws-c-auth signs trailing headers through ``s_canonicalize_headers``)."""
    return "".join(f"{name}:{trailers[name]}\n" for name in sorted(trailers)).encode("ascii")


class ChunkedBody:
    """Decode an aws-chunked request body into the object's bytes while it streams.

    ``mode`` is the ``x-amz-content-sha256`` value (one of :data:`MODES`); the two signed modes
    need ``signer`` (``ChunkSigner(credential)``). ``decoded_length`` is
    ``x-amz-decoded-content-length`` (None: not checked); ``trailer_names`` the names listed in
    ``x-amz-trailer``. ``min_chunk_size`` is S3's rule for every chunk but the last.
    After the body is exhausted, ``trailers`` holds the trailers by lower-case name
    (``x-amz-trailer-signature`` excluded); checking a trailing checksum is the caller's job.
    """

    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        mode: str,
        decoded_length: int | None,
        signer: ChunkSigner | None,
        trailer_names: Sequence[str] = (),
        min_chunk_size: int = MIN_CHUNK_SIZE,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"not an aws-chunked payload mode: {mode!r}")
        self._signer = signer if mode != UNSIGNED_TRAILER else None
        if mode != UNSIGNED_TRAILER and signer is None:
            raise ValueError(f"{mode} needs a ChunkSigner")
        self._source = source
        self._mode = mode
        self._decoded_length = decoded_length
        self._min_chunk_size = min_chunk_size
        names = {name.strip().lower() for name in trailer_names}
        self._declared = frozenset(names - {"", TRAILER_SIGNATURE})
        self.trailers: dict[str, str] = {}

    async def __aiter__(self) -> AsyncIterator[bytes]:
        signer = self._signer
        decoded_length = self._decoded_length
        state = _SIZE
        pending = bytearray()  # the start of a header line split across source pieces
        remaining = 0  # data bytes still due in the current chunk
        chunk_hash = hashlib.sha256()
        chunk_signature = b""
        total = 0
        chunks = 0
        previous_size = -1
        trailers: dict[str, str] = {}

        async for piece in self._source:
            pos = 0
            end = len(piece)
            while pos < end:
                if state == _DATA:
                    take = min(remaining, end - pos)
                    data = piece[pos : pos + take]
                    pos += take
                    remaining -= take
                    if signer is not None:
                        chunk_hash.update(data)
                        if remaining == 0:
                            _check_signature(
                                signer, signer.chunk(chunk_hash.hexdigest()), chunk_signature
                            )
                    if remaining == 0:
                        state = _DATA_END
                    yield data
                    continue
                if state == _DONE:
                    raise _malformed("there is data after the final chunk")

                room = MAX_LINE - len(pending)
                lf = piece.find(b"\n", pos, pos + room)
                if lf < 0:
                    if end - pos >= room:
                        raise _malformed(f"a chunk header or trailer is over {MAX_LINE} bytes")
                    pending += piece[pos:]
                    break
                if pending:
                    pending += piece[pos : lf + 1]
                    line = bytes(pending)
                    pending.clear()
                else:
                    line = piece[pos : lf + 1]
                pos = lf + 1
                if len(line) < 2 or line[-2] != 0x0D:
                    raise _malformed("a line does not end in CRLF")
                line = line[:-2]

                if state == _SIZE:
                    match = _SIZE_LINE.fullmatch(line)
                    if match is None:
                        raise _malformed("a chunk size is not hexadecimal")
                    size = int(match[1], 16)
                    extension = match[2]
                    chunks += 1
                    if 0 <= previous_size < self._min_chunk_size and size:
                        raise S3Error(
                            "InvalidChunkSizeError",
                            fields={"Chunk": str(chunks), "BadChunkSize": str(previous_size)},
                        )
                    previous_size = size
                    if signer is not None:
                        if extension is None or not extension.startswith(_SIGNATURE_EXT):
                            raise _missing_signature(signer, "a chunk has no chunk-signature")
                        chunk_signature = extension[len(_SIGNATURE_EXT) :]
                    elif extension is not None:
                        raise _malformed(f"chunk extensions are not allowed in {self._mode}")
                    total += size
                    if decoded_length is not None and total > decoded_length:
                        raise _length_mismatch(total, decoded_length, longer=True)
                    if size:
                        remaining = size
                        if signer is not None:
                            chunk_hash = hashlib.sha256()
                        state = _DATA
                        continue
                    if signer is not None:
                        _check_signature(signer, signer.chunk(EMPTY_SHA256), chunk_signature)
                    if decoded_length is not None and total != decoded_length:
                        raise _length_mismatch(total, decoded_length, longer=False)
                    state = _END if self._mode == SIGNED else _TRAILER
                elif state == _DATA_END:
                    if line:
                        raise _malformed("chunk data is not followed by CRLF")
                    state = _SIZE
                elif state == _TRAILER:
                    state = self._trailer_line(line, trailers)
                else:  # _END
                    if line:
                        raise _malformed("the body does not end in an empty line")
                    state = _DONE

        if state != _DONE:
            raise S3Error("IncompleteBody", "The request body terminated unexpectedly")
        if self._mode == SIGNED:
            self._check_declared(trailers)
        self.trailers = trailers

    def _trailer_line(self, line: bytes, trailers: dict[str, str]) -> int:
        """Take one trailer line; the state that follows it."""
        signer = self._signer
        if not line:
            if signer is not None:
                raise _missing_signature(signer, "the trailers have no x-amz-trailer-signature")
            self._check_declared(trailers)
            return _DONE
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(raw_name) or not _FIELD_VALUE.fullmatch(raw_value):
            raise _bad_trailer("a trailer is not a name:value line")
        name = raw_name.decode("ascii").lower()
        value = canonical.trim_value(raw_value.decode("ascii"))
        if name == TRAILER_SIGNATURE and signer is not None:
            self._check_declared(trailers)
            expected = signer.trailer(canonical_trailer(trailers))
            _check_signature(signer, expected, value.encode("ascii"))
            return _END
        if name not in self._declared:
            raise _bad_trailer(f"the trailer {name} is not declared in x-amz-trailer")
        if name in trailers:
            raise _bad_trailer(f"the trailer {name} is repeated")
        if len(trailers) >= MAX_TRAILERS:
            raise _bad_trailer(f"more than {MAX_TRAILERS} trailers")
        trailers[name] = value
        return _TRAILER

    def _check_declared(self, trailers: dict[str, str]) -> None:
        missing = sorted(self._declared - trailers.keys())
        if missing:
            raise _bad_trailer(f"the declared trailer {missing[0]} is missing")


def _check_signature(signer: ChunkSigner, expected: str, provided: bytes) -> None:
    if not hmac.compare_digest(expected.encode("ascii"), provided):
        raise S3Error(
            "SignatureDoesNotMatch",
            fields={
                "AWSAccessKeyId": signer.access_key,
                "StringToSign": signer.string_to_sign,
                "SignatureProvided": provided.decode("ascii"),
            },
        )


def _missing_signature(signer: ChunkSigner, reason: str) -> S3Error:
    return S3Error(
        "SignatureDoesNotMatch",
        f"The request signature we calculated does not match the signature you provided: {reason}.",
        fields={"AWSAccessKeyId": signer.access_key},
    )


def _malformed(reason: str) -> S3Error:
    return S3Error("IncompleteBody", f"The aws-chunked request body is malformed: {reason}.")


def _bad_trailer(reason: str) -> S3Error:
    return S3Error(
        "MalformedTrailerError",
        "The request contained trailing data that was not well-formed or did not conform to "
        f"our published schema: {reason}.",
    )


def _length_mismatch(total: int, expected: int, *, longer: bool) -> S3Error:
    found = f"more than {expected}" if longer else str(total)
    return S3Error(
        "IncompleteBody",
        f"You did not provide the number of bytes specified by the "
        f"x-amz-decoded-content-length header: {found} bytes for {expected}.",
    )
