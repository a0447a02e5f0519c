"""The aws-chunked decoder: AWS's published examples, botocore as an oracle, and properties.

The encoder below signs with its own HMAC code straight from the documented strings to sign,
so the decoder's ``ChunkSigner`` is checked against it rather than against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import itertools
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from botocore.httpchecksum import (
    AwsChunkedWrapper,
    BaseChecksum,
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.auth.sigv4 import SignedRequest, SigV4Credential, signing_key, verify
from gateway.domain import checksums
from gateway.s3.chunked import (
    MAX_LINE,
    MODES,
    SIGNED,
    SIGNED_TRAILER,
    UNSIGNED_TRAILER,
    ChunkedBody,
    ChunkSigner,
)
from gateway.s3.errors import TABLE, S3Error
from tests.unit.auth.sigv4_support import ACCESS_KEY, EMPTY_SHA256, SECRET, lookup

T = TypeVar("T")

STAMP = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
KEY = signing_key(SECRET, "20130524", "us-east-1", "s3")
WHEN = datetime(2013, 5, 24, tzinfo=UTC)
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"

# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html, "Example: PUT Object":
# 66560 bytes of "a" in a 64 KiB and a 1 KiB chunk, Content-Length 66824.
AWS_CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html: the same
# object with a trailing x-amz-checksum-crc32c (values as the page gives them; also in the
# s3s project's tests, which cite the page).
AWS_TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
AWS_TRAILER_CHUNK_SIGNATURES = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
AWS_TRAILER = ("x-amz-checksum-crc32c", "sOO8/Q==")
AWS_TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
AWS_DATA = b"a" * 66560
AWS_CHUNKS = [b"a" * 65536, b"a" * 1024, b""]


# -- helpers ---------------------------------------------------------------------------------


def credential(seed: str = SEED, mode: str = SIGNED) -> SigV4Credential:
    return SigV4Credential(
        access_key=ACCESS_KEY,
        amz_date=WHEN,
        date="20130524",
        region="us-east-1",
        service="s3",
        signed_headers=("host",),
        payload_hash=mode,
        signature=seed,
        signing_key=KEY,
        presigned=False,
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine whose awaits never really suspend (all sources here are in memory)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("the decoder suspended on an in-memory source")


async def source(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def collect(body: ChunkedBody, out: list[bytes]) -> None:
    async for piece in body:
        out.append(piece)


def decode(
    pieces: Iterable[bytes],
    *,
    mode: str,
    decoded_length: int | None = None,
    seed: str = SEED,
    trailer_names: Sequence[str] = (),
    min_chunk_size: int = 1,
    out: list[bytes] | None = None,
) -> tuple[bytes, dict[str, str]]:
    signer = ChunkSigner(credential(seed, mode)) if mode != UNSIGNED_TRAILER else None
    body = ChunkedBody(
        source(pieces),
        mode=mode,
        decoded_length=decoded_length,
        signer=signer,
        trailer_names=trailer_names,
        min_chunk_size=min_chunk_size,
    )
    passed = [] if out is None else out
    run(collect(body, passed))
    return b"".join(passed), body.trailers


def refused(pieces: Iterable[bytes], code: str, **kwargs: Any) -> S3Error:
    with pytest.raises(S3Error) as caught:
        decode(pieces, **kwargs)
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    return caught.value


def split(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def sign(string_to_sign: str) -> str:
    return hmac.new(KEY, string_to_sign.encode(), hashlib.sha256).hexdigest()


def encode(
    chunks: Sequence[bytes],
    *,
    mode: str,
    seed: str = SEED,
    trailers: Sequence[tuple[str, str]] = (),
    upper: bool = False,
) -> list[tuple[str, bytes]]:
    """An aws-chunked body as (kind, bytes) segments; kinds: frame, hex, data, value.

    ``chunks`` excludes the final empty chunk, which is added. Signatures follow the strings
    to sign of the AWS pages, computed here independently of ``ChunkSigner``.
    """
    segments: list[tuple[str, bytes]] = []
    previous = seed
    for chunk in [*chunks, b""]:
        segments.append(("hex", (b"%X" if upper else b"%x") % len(chunk)))
        if mode != UNSIGNED_TRAILER:
            digest = hashlib.sha256(chunk).hexdigest()
            previous = sign(
                f"AWS4-HMAC-SHA256-PAYLOAD\n{STAMP}\n{SCOPE}\n{previous}\n{EMPTY_SHA256}\n{digest}"
            )
            segments.append(("frame", b";chunk-signature=" + previous.encode()))
        segments.append(("frame", b"\r\n"))
        if chunk:
            segments += [("data", chunk), ("frame", b"\r\n")]
    if mode != SIGNED:
        for name, value in trailers:
            segments += [("frame", name.encode() + b":"), ("value", value.encode())]
            segments.append(("frame", b"\r\n"))
        if mode == SIGNED_TRAILER:
            canonical = "".join(f"{name}:{value}\n" for name, value in sorted(trailers))
            digest = hashlib.sha256(canonical.encode()).hexdigest()
            previous = sign(f"AWS4-HMAC-SHA256-TRAILER\n{STAMP}\n{SCOPE}\n{previous}\n{digest}")
            segments.append(("frame", b"x-amz-trailer-signature:" + previous.encode() + b"\r\n"))
    segments.append(("frame", b"\r\n"))
    return segments


def joined(segments: Sequence[tuple[str, bytes]]) -> bytes:
    return b"".join(part for _, part in segments)


def aws_example_body() -> bytes:
    parts = []
    for chunk, signature in zip(AWS_CHUNKS, AWS_CHUNK_SIGNATURES, strict=True):
        parts.append(b"%x;chunk-signature=%s\r\n" % (len(chunk), signature.encode()))
        if chunk:
            parts.append(chunk + b"\r\n")
    return b"".join(parts) + b"\r\n"


# -- AWS's published examples ----------------------------------------------------------------


def test_signer_reproduces_the_aws_chunked_example() -> None:
    signer = ChunkSigner(credential(SEED))
    for chunk, expected in zip(AWS_CHUNKS, AWS_CHUNK_SIGNATURES, strict=True):
        assert signer.chunk(hashlib.sha256(chunk).hexdigest()) == expected
    assert signer.string_to_sign == (
        f"AWS4-HMAC-SHA256-PAYLOAD\n{STAMP}\n{SCOPE}\n{AWS_CHUNK_SIGNATURES[1]}\n"
        f"{EMPTY_SHA256}\n{EMPTY_SHA256}"
    )


def test_aws_chunked_example_end_to_end() -> None:
    """The documented request verifies to the documented seed, and its body decodes."""
    body = aws_example_body()
    assert len(body) == 66824  # the example's Content-Length
    signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    signed += "x-amz-decoded-content-length;x-amz-storage-class"
    request = SignedRequest(
        "PUT",
        "/examplebucket/chunkObject.txt",
        "",
        [
            ("host", "s3.amazonaws.com"),
            ("x-amz-date", STAMP),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ("x-amz-content-sha256", SIGNED),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "66560"),
            ("content-length", "66824"),
            (
                "authorization",
                f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{SCOPE},"
                f"SignedHeaders={signed},Signature={SEED}",
            ),
        ],
    )
    cred = run(verify(request, lookup, WHEN))
    assert cred.signature == SEED
    decoded = ChunkedBody(
        source(split(body, range(0, len(body), 4099))),
        mode=SIGNED,
        decoded_length=66560,
        signer=ChunkSigner(cred),
    )
    out: list[bytes] = []
    run(collect(decoded, out))
    assert b"".join(out) == AWS_DATA
    assert decoded.trailers == {}


def flipped(body: bytes, at: int) -> bytes:
    return body[:at] + bytes([body[at] ^ 0x01]) + body[at + 1 :]


@pytest.mark.parametrize(
    "at",
    [
        pytest.param(88, id="first-data-byte"),
        pytest.param(88 + 65535, id="last-byte-of-chunk-1"),
        pytest.param(88 + 65536 + 2 + 86 + 500, id="in-chunk-2"),
        pytest.param(22, id="signature-1"),
        pytest.param(88 + 65536 + 2 + 20 + 63, id="signature-2"),
        pytest.param(66824 - 4 - 10, id="final-signature"),
    ],
)
def test_aws_chunked_example_with_a_flipped_byte_is_refused(at: int) -> None:
    body = flipped(aws_example_body(), at)
    refused(split(body, [1000, 70000]), "SignatureDoesNotMatch", mode=SIGNED, decoded_length=66560)


def test_signer_reproduces_the_aws_trailer_example() -> None:
    signer = ChunkSigner(credential(AWS_TRAILER_SEED, SIGNED_TRAILER))
    for chunk, expected in zip(AWS_CHUNKS, AWS_TRAILER_CHUNK_SIGNATURES, strict=True):
        assert signer.chunk(hashlib.sha256(chunk).hexdigest()) == expected
    assert signer.trailer(b"x-amz-checksum-crc32c:sOO8/Q==\n") == AWS_TRAILER_SIGNATURE
    digest = hashlib.sha256(b"x-amz-checksum-crc32c:sOO8/Q==\n").hexdigest()
    assert signer.string_to_sign == (
        f"AWS4-HMAC-SHA256-TRAILER\n{STAMP}\n{SCOPE}\n{AWS_TRAILER_CHUNK_SIGNATURES[2]}\n{digest}"
    )


def test_aws_trailer_example_decodes() -> None:
    segments = encode(
        AWS_CHUNKS[:2], mode=SIGNED_TRAILER, seed=AWS_TRAILER_SEED, trailers=[AWS_TRAILER]
    )
    body = joined(segments)
    assert AWS_TRAILER_SIGNATURE.encode() in body
    for signature in AWS_TRAILER_CHUNK_SIGNATURES:
        assert signature.encode() in body
    data, trailers = decode(
        split(body, [65000, 66000, 66700]),
        mode=SIGNED_TRAILER,
        seed=AWS_TRAILER_SEED,
        decoded_length=66560,
        trailer_names=["x-amz-checksum-crc32c"],
        min_chunk_size=8192,
    )
    assert data == AWS_DATA
    assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}
    checksum = checksums.new("CRC32C")
    checksum.update(data)
    assert checksum.b64() == "sOO8/Q=="


# -- botocore as an oracle for STREAMING-UNSIGNED-PAYLOAD-TRAILER -----------------------------

BOTOCORE_CHECKSUMS: dict[str, type[BaseChecksum]] = {
    "CRC32": Crc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
}


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=3000),
    chunk_size=st.integers(1, 1200),
    algorithm=st.sampled_from(sorted(BOTOCORE_CHECKSUMS)),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
)
def test_botocore_unsigned_trailer_bodies_decode(
    data: bytes, chunk_size: int, algorithm: str, cuts: list[int]
) -> None:
    name = f"x-amz-checksum-{algorithm.lower()}"
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=BOTOCORE_CHECKSUMS[algorithm],
        checksum_name=name,
        chunk_size=chunk_size,
    )
    body = wrapper.read()
    decoded, trailers = decode(
        split(body, cuts),
        mode=UNSIGNED_TRAILER,
        decoded_length=len(data),
        trailer_names=[name],
        min_chunk_size=chunk_size,
    )
    assert decoded == data
    ours = checksums.new(algorithm)
    ours.update(decoded)
    assert trailers == {name: ours.b64()}


def test_botocore_body_without_checksum_decodes() -> None:
    body = AwsChunkedWrapper(io.BytesIO(b"x" * 10000), chunk_size=8192).read()
    assert body.endswith(b"0\r\n\r\n")
    assert decode([body], mode=UNSIGNED_TRAILER, decoded_length=10000, min_chunk_size=8192) == (
        b"x" * 10000,
        {},
    )


# -- properties ------------------------------------------------------------------------------

TRAILER_NAMES = ["x-amz-checksum-crc32", "x-amz-checksum-sha256", "x-amz-meta-note"]
ANY_DATA = st.binary(max_size=1500)
TRAILER_VALUE = st.text("ABCDEFabcdef0123456789+/=", min_size=1, max_size=20)


@st.composite
def bodies(draw: st.DrawFn, data: st.SearchStrategy[bytes] = ANY_DATA) -> Any:
    """(mode, data, segments, trailers) for a random body in a random mode."""
    mode = draw(st.sampled_from(sorted(MODES)))
    payload = draw(data)
    chunks = split(payload, draw(st.lists(st.integers(0, 1500), max_size=6)))
    trailers: list[tuple[str, str]] = []
    if mode != SIGNED:
        names = draw(st.lists(st.sampled_from(TRAILER_NAMES), unique=True, max_size=3))
        trailers = [(name, draw(TRAILER_VALUE)) for name in names]
    segments = encode(chunks, mode=mode, trailers=trailers, upper=draw(st.booleans()))
    return mode, payload, segments, trailers


@settings(max_examples=150, deadline=None)
@given(case=bodies(), cuts=st.lists(st.integers(0, 4000), max_size=10), empties=st.booleans())
def test_any_body_split_anywhere_decodes(
    case: tuple[str, bytes, list[tuple[str, bytes]], list[tuple[str, str]]],
    cuts: list[int],
    empties: bool,
) -> None:
    mode, payload, segments, trailers = case
    pieces = split(joined(segments), cuts)
    if empties:
        pieces = [b"", *pieces, b""]
    out: list[bytes] = []
    data, got = decode(
        pieces,
        mode=mode,
        decoded_length=len(payload),
        trailer_names=[name for name, _ in trailers],
        out=out,
    )
    assert data == payload
    assert got == dict(trailers)
    assert all(out)  # no empty pieces passed on


def test_one_byte_pieces_decode() -> None:
    payload = bytes(range(256)) * 3
    for mode in sorted(MODES):
        trailers = [] if mode == SIGNED else [("x-amz-checksum-crc32", "AAAAAA==")]
        body = joined(encode(split(payload, [100, 400]), mode=mode, trailers=trailers))
        data, got = decode(
            [body[i : i + 1] for i in range(len(body))],
            mode=mode,
            decoded_length=len(payload),
            trailer_names=[name for name, _ in trailers],
        )
        assert data == payload
        assert got == dict(trailers)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=bodies(st.binary(max_size=600).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))),
    pick=st.integers(0, 10**6),
    replacement=st.integers(0, 255),
    cuts=st.lists(st.integers(0, 2000), max_size=4),
)
def test_flipping_any_framing_byte_is_an_s3_error(
    case: tuple[str, bytes, list[tuple[str, bytes]], list[tuple[str, str]]],
    pick: int,
    replacement: int,
    cuts: list[int],
) -> None:
    """Every framing byte matters; so do trailer values when they are signed.

    Data is kept free of CR and LF so that no misaligned parse can line up again, and a letter
    is never swapped for itself in the other case (hex sizes and trailer names are
    case-insensitive by design).
    """
    mode, payload, segments, trailers = case
    body = joined(segments)
    guarded = {"frame", "hex"} | ({"value"} if mode == SIGNED_TRAILER else set())
    positions: list[int] = []
    offset = 0
    for kind, part in segments:
        if kind in guarded:
            positions += range(offset, offset + len(part))
        offset += len(part)
    at = positions[pick % len(positions)]
    old, new = body[at : at + 1], bytes([replacement])
    if new.lower() == old.lower():
        new = b"\x00" if old != b"\x00" else b"\x01"
    broken = body[:at] + new + body[at + 1 :]
    with pytest.raises(S3Error):
        decode(
            split(broken, cuts),
            mode=mode,
            decoded_length=len(payload),
            trailer_names=[name for name, _ in trailers],
        )


@settings(max_examples=100, deadline=None)
@given(case=bodies(), cut=st.integers(0, 10**6))
def test_a_truncated_body_is_incomplete(
    case: tuple[str, bytes, list[tuple[str, bytes]], list[tuple[str, str]]], cut: int
) -> None:
    mode, payload, segments, trailers = case
    body = joined(segments)
    error = refused(
        [body[: cut % len(body)]],
        "IncompleteBody",
        mode=mode,
        decoded_length=len(payload),
        trailer_names=[name for name, _ in trailers],
    )
    assert error.status == 400


# -- streaming -------------------------------------------------------------------------------


def test_data_streams_without_whole_chunk_buffering() -> None:
    """A 1 MiB chunk arriving in 64 KiB pieces leaves as it came, one piece per piece."""
    payload = bytes(range(256)) * 4096
    body = joined(encode([payload], mode=SIGNED))
    pulled = 0
    seen_at: list[int] = []

    async def counting() -> AsyncIterator[bytes]:
        nonlocal pulled
        for piece in split(body, range(0, len(body), 65536)):
            pulled += 1
            yield piece

    async def consume() -> bytes:
        decoder = ChunkedBody(
            counting(), mode=SIGNED, decoded_length=len(payload), signer=ChunkSigner(credential())
        )
        parts = []
        async for part in decoder:
            seen_at.append(pulled)
            parts.append(part)
        return b"".join(parts)

    assert run(consume()) == payload
    assert seen_at[0] == 1  # the first bytes leave with the first piece
    assert len(seen_at) >= 16
    assert seen_at == sorted(seen_at)


def test_a_bad_chunk_never_passes_its_last_byte() -> None:
    payload = b"z" * 5000
    segments = encode([payload], mode=SIGNED)
    body = joined(segments)
    at = body.index(b"z") + 4999
    out: list[bytes] = []
    refused(
        split(flipped(body, at), [200, 3000]),
        "SignatureDoesNotMatch",
        mode=SIGNED,
        decoded_length=5000,
        out=out,
    )
    assert sum(map(len, out)) < 5000


def test_a_client_disconnect_propagates_unchanged() -> None:
    class ClientDisconnect(Exception):
        pass

    gone = ClientDisconnect()
    body = joined(encode([b"q" * 100], mode=UNSIGNED_TRAILER))

    async def dropping() -> AsyncIterator[bytes]:
        yield body[:50]
        raise gone

    decoder = ChunkedBody(dropping(), mode=UNSIGNED_TRAILER, decoded_length=100, signer=None)
    with pytest.raises(ClientDisconnect) as caught:
        run(collect(decoder, []))
    assert caught.value is gone


def test_trailers_are_filled_only_once_exhausted() -> None:
    body = joined(encode([b"q" * 10], mode=UNSIGNED_TRAILER, trailers=[("x-amz-meta-note", "v")]))
    decoder = ChunkedBody(
        source([body]),
        mode=UNSIGNED_TRAILER,
        decoded_length=10,
        signer=None,
        trailer_names=["X-Amz-Meta-Note "],
    )
    assert decoder.trailers == {}

    async def first() -> bytes:
        async for part in decoder:
            assert decoder.trailers == {}
            return part
        raise AssertionError("no data")

    assert run(first()) == b"q" * 10


# -- framing errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"zz\r\nhello\r\n0\r\n\r\n", id="not-hex"),
        pytest.param(b"0x5\r\nhello\r\n0\r\n\r\n", id="0x-prefix"),
        pytest.param(b"+5\r\nhello\r\n0\r\n\r\n", id="sign"),
        pytest.param(b" 5\r\nhello\r\n0\r\n\r\n", id="space"),
        pytest.param(b"5_0\r\nhello\r\n0\r\n\r\n", id="underscore"),
        pytest.param(b"5\nhello\r\n0\r\n\r\n", id="bare-lf"),
        pytest.param(b"5\r\nhelloX\r\n0\r\n\r\n", id="data-longer-than-size"),
        pytest.param(b"5\r\nhello0\r\n\r\n", id="no-crlf-after-data"),
        pytest.param(b"5;ext=1\r\nhello\r\n0\r\n\r\n", id="extension-when-unsigned"),
        pytest.param(b"5\r\nhello\r\n0\r\n\r\nmore", id="data-after-the-end"),
        pytest.param(b"5\r\nhello\r\n0\r\n\r\n\r\n", id="crlf-after-the-end"),
        pytest.param(b"10000000000000000\r\n", id="17-hex-digits"),
    ],
)
def test_malformed_framing_is_incomplete_body(body: bytes) -> None:
    error = refused([body], "IncompleteBody", mode=UNSIGNED_TRAILER)
    assert "malformed" in error.message


def test_an_endless_line_is_refused_at_the_cap_not_at_eof() -> None:
    def never_ends() -> Iterable[bytes]:
        yield b"0" * 1000
        for _ in range(10):
            yield b"1" * 1000
        raise AssertionError("read past the line cap")

    error = refused(never_ends(), "IncompleteBody", mode=UNSIGNED_TRAILER)
    assert str(MAX_LINE) in error.message


def test_line_cap_counts_a_split_line_once() -> None:
    trailer = ("x-amz-meta-note", "v" * (MAX_LINE - len("x-amz-meta-note:") - 2))
    body = joined(encode([b"abc"], mode=UNSIGNED_TRAILER, trailers=[trailer]))
    pieces = split(body, range(0, len(body), 7))
    assert decode(pieces, mode=UNSIGNED_TRAILER, trailer_names=[trailer[0]])[1] == dict([trailer])
    longer = ("x-amz-meta-note", trailer[1] + "v")
    body = joined(encode([b"abc"], mode=UNSIGNED_TRAILER, trailers=[longer]))
    refused(split(body, range(0, len(body), 7)), "IncompleteBody", mode=UNSIGNED_TRAILER)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_an_empty_body_is_incomplete(mode: str) -> None:
    error = refused([], "IncompleteBody", mode=mode, decoded_length=0)
    assert error.message == "The request body terminated unexpectedly"


def test_an_empty_object_decodes() -> None:
    for mode in sorted(MODES):
        assert decode([joined(encode([], mode=mode))], mode=mode, decoded_length=0) == (b"", {})


# -- lengths and chunk sizes -----------------------------------------------------------------


@pytest.mark.parametrize("mode", sorted(MODES))
def test_decoded_length_shorter_than_declared(mode: str) -> None:
    body = joined(encode([b"abcde"], mode=mode))
    error = refused([body], "IncompleteBody", mode=mode, decoded_length=6)
    assert "x-amz-decoded-content-length" in error.message


@pytest.mark.parametrize("mode", sorted(MODES))
def test_decoded_length_longer_than_declared_passes_nothing_beyond(mode: str) -> None:
    body = joined(encode([b"abcde", b"fgh"], mode=mode))
    out: list[bytes] = []
    refused([body], "IncompleteBody", mode=mode, decoded_length=6, out=out)
    assert b"".join(out) == b"abcde"


def test_decoded_length_none_is_not_checked() -> None:
    body = joined(encode([b"abcde"], mode=SIGNED))
    assert decode([body], mode=SIGNED)[0] == b"abcde"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_small_chunk_before_the_last_is_invalid_chunk_size(mode: str) -> None:
    """As S3 answers "hello" sent in chunks of 3 (versitygw issue #1683)."""
    body = joined(encode([b"hel", b"lo"], mode=mode))
    error = refused([body], "InvalidChunkSizeError", mode=mode, min_chunk_size=8192)
    assert error.fields == {"Chunk": "2", "BadChunkSize": "3"}
    assert error.status == 400


def test_chunks_at_the_minimum_pass() -> None:
    payload = b"m" * (8192 * 2 + 5)
    body = joined(encode(split(payload, [8192, 16384]), mode=SIGNED, upper=True))
    assert b"2000;" in body
    assert decode([body], mode=SIGNED, decoded_length=len(payload), min_chunk_size=8192)[0] == (
        payload
    )


# -- signatures ------------------------------------------------------------------------------


def test_a_missing_chunk_signature_is_signature_does_not_match() -> None:
    body = b"5\r\nhello\r\n0\r\n\r\n"
    refused([body], "SignatureDoesNotMatch", mode=SIGNED)


def test_a_chunk_signed_for_another_seed_is_refused() -> None:
    body = joined(encode([b"hello"], mode=SIGNED, seed="0" * 64))
    error = refused([body], "SignatureDoesNotMatch", mode=SIGNED)
    assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")
    assert error.fields["AWSAccessKeyId"] == ACCESS_KEY


def test_reordered_chunks_are_refused() -> None:
    segments = encode([b"a" * 10, b"b" * 10], mode=SIGNED)
    assert [kind for kind, _ in segments[:5]] == ["hex", "frame", "frame", "data", "frame"]
    first, second = joined(segments[:5]), joined(segments[5:10])
    body = second + first + joined(segments[10:])
    refused([body], "SignatureDoesNotMatch", mode=SIGNED)


def test_a_missing_trailer_signature_is_refused() -> None:
    body = joined(encode([b"hello"], mode=SIGNED_TRAILER, trailers=[("x-amz-meta-note", "v")]))
    body = body.split(b"x-amz-trailer-signature:")[0] + b"\r\n"
    refused([body], "SignatureDoesNotMatch", mode=SIGNED_TRAILER, trailer_names=["x-amz-meta-note"])


def test_a_changed_signed_trailer_is_refused() -> None:
    body = joined(encode([b"hello"], mode=SIGNED_TRAILER, trailers=[("x-amz-meta-note", "v1")]))
    body = body.replace(b"x-amz-meta-note:v1", b"x-amz-meta-note:v2")
    error = refused(
        [body], "SignatureDoesNotMatch", mode=SIGNED_TRAILER, trailer_names=["x-amz-meta-note"]
    )
    assert error.fields["StringToSign"].startswith("AWS4-HMAC-SHA256-TRAILER\n")


def test_signed_trailers_canonicalise_sorted_and_trimmed() -> None:
    trailers = [("x-amz-meta-note", "v"), ("x-amz-checksum-crc32", "AAAAAA==")]
    body = joined(encode([b"hello"], mode=SIGNED_TRAILER, trailers=trailers))
    body = body.replace(b"x-amz-meta-note:v", b"X-Amz-Meta-Note:  v ")
    names = [name for name, _ in trailers]
    assert decode([body], mode=SIGNED_TRAILER, trailer_names=names)[1] == dict(trailers)


# -- trailers --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [UNSIGNED_TRAILER, SIGNED_TRAILER])
def test_an_undeclared_trailer_is_malformed(mode: str) -> None:
    body = joined(encode([b"hello"], mode=mode, trailers=[("x-amz-meta-note", "v")]))
    refused([body], "MalformedTrailerError", mode=mode, trailer_names=["x-amz-checksum-crc32"])


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_declared_trailer_that_never_comes_is_malformed(mode: str) -> None:
    body = joined(encode([b"hello"], mode=mode))
    refused([body], "MalformedTrailerError", mode=mode, trailer_names=["x-amz-checksum-crc32"])


def test_a_repeated_trailer_is_malformed() -> None:
    trailer = ("x-amz-checksum-crc32", "AAAAAA==")
    body = joined(encode([b"hello"], mode=UNSIGNED_TRAILER, trailers=[trailer, trailer]))
    refused([body], "MalformedTrailerError", mode=UNSIGNED_TRAILER, trailer_names=[trailer[0]])


@pytest.mark.parametrize(
    "line",
    [
        b"no-colon",
        b":value",
        b"bad name:v",
        b"x-amz-meta-note:caf\xc3\xa9",
        b"x-amz-meta-note:\x01",
    ],
)
def test_a_malformed_trailer_line_is_malformed(line: bytes) -> None:
    body = b"3\r\nabc\r\n0\r\n" + line + b"\r\n\r\n"
    refused(
        [body], "MalformedTrailerError", mode=UNSIGNED_TRAILER, trailer_names=["x-amz-meta-note"]
    )


def test_a_trailer_signature_in_unsigned_mode_is_malformed() -> None:
    body = b"3\r\nabc\r\n0\r\nx-amz-trailer-signature:" + b"0" * 64 + b"\r\n\r\n"
    refused([body], "MalformedTrailerError", mode=UNSIGNED_TRAILER)


def test_trailers_are_capped() -> None:
    names = [f"x-amz-meta-n{i}" for i in range(40)]
    trailers = [(name, "v") for name in names]
    body = joined(encode([b"abc"], mode=UNSIGNED_TRAILER, trailers=trailers))
    error = refused([body], "MalformedTrailerError", mode=UNSIGNED_TRAILER, trailer_names=names)
    assert "more than" in error.message


# -- construction and the error table --------------------------------------------------------


def test_modes_are_the_three_streaming_sigv4_modes() -> None:
    assert {SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER} == MODES


@pytest.mark.parametrize("mode", ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"])
def test_other_modes_are_a_value_error(mode: str) -> None:
    with pytest.raises(ValueError, match="not an aws-chunked payload mode"):
        ChunkedBody(source([]), mode=mode, decoded_length=None, signer=None)


@pytest.mark.parametrize("mode", [SIGNED, SIGNED_TRAILER])
def test_signed_modes_need_a_signer(mode: str) -> None:
    with pytest.raises(ValueError, match="needs a ChunkSigner"):
        ChunkedBody(source([]), mode=mode, decoded_length=None, signer=None)


def test_new_error_codes_are_in_the_table() -> None:
    assert TABLE["InvalidChunkSizeError"].status == 400
    assert TABLE["MalformedTrailerError"].status == 400
