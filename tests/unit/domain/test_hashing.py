"""HashingReader: every byte counted and hashed as it passes, and verified at EOF."""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import AsyncIterator, Sequence

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.errors import (
    BadDigest,
    ContentSHA256Mismatch,
    EntityTooLarge,
    IncompleteBody,
)
from gateway.domain.hashing import OFFLOAD_BATCH, HashingReader

DATA = b"the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def source(chunks: Sequence[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


async def drain(reader: HashingReader, passed: list[bytes]) -> None:
    async for chunk in reader:
        passed.append(chunk)


def consume(reader: HashingReader) -> list[bytes]:
    passed: list[bytes] = []
    anyio.run(drain, reader, passed)
    return passed


chunkings = st.binary(max_size=300).flatmap(
    lambda data: st.tuples(st.just(data), st.lists(st.integers(0, 300), max_size=6), st.booleans())
)


@settings(max_examples=80, deadline=None)
@given(case=chunkings)
def test_correct_digests_over_any_chunking(case: tuple[bytes, list[int], bool]) -> None:
    data, cuts, with_empty = case
    chunks = split(data, cuts)
    if with_empty:
        chunks = [b"", *chunks, b""]
    reader = HashingReader(
        source(chunks),
        expected_size=len(data),
        content_md5=md5_b64(data),
        content_sha256=sha256_hex(data),
    )
    passed = consume(reader)
    assert b"".join(passed) == data
    assert all(passed)  # empty chunks are not passed on
    assert reader.finished
    assert reader.size == len(data)
    assert reader.md5_hex == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert reader.md5_base64 == md5_b64(data)
    assert reader.sha256_hex == sha256_hex(data)
    assert reader.digest == "sha256:" + sha256_hex(data)


@settings(max_examples=40, deadline=None)
@given(case=chunkings, extra=st.integers(1, 50))
def test_short_body_is_incomplete(case: tuple[bytes, list[int], bool], extra: int) -> None:
    data, cuts, _ = case
    reader = HashingReader(source(split(data, cuts)), expected_size=len(data) + extra)
    with pytest.raises(IncompleteBody):
        consume(reader)
    assert reader.size == len(data)  # the whole source was read: the check ran at EOF


@settings(max_examples=40, deadline=None)
@given(case=chunkings, missing=st.integers(1, 50))
def test_long_body_is_incomplete_and_never_passes_the_excess(
    case: tuple[bytes, list[int], bool], missing: int
) -> None:
    data, cuts, _ = case
    if not data:
        data = b"x"
    expected = max(0, len(data) - missing)
    reader = HashingReader(source(split(data, cuts)), expected_size=expected)
    passed: list[bytes] = []
    with pytest.raises(IncompleteBody):
        anyio.run(drain, reader, passed)
    assert sum(len(chunk) for chunk in passed) <= expected
    assert not reader.finished


@settings(max_examples=60, deadline=None)
@given(case=chunkings, headroom=st.integers(0, 50))
def test_unknown_length_within_the_limit_is_counted_and_hashed(
    case: tuple[bytes, list[int], bool], headroom: int
) -> None:
    """A plain chunked body: no length to hold it to, any length up to the limit passes."""
    data, cuts, _ = case
    reader = HashingReader(
        source(split(data, cuts)),
        expected_size=None,
        limit=len(data) + headroom,
        content_md5=md5_b64(data),
    )
    assert b"".join(consume(reader)) == data
    assert reader.finished
    assert reader.size == len(data)
    assert reader.sha256_hex == sha256_hex(data)
    reader.verify()


@settings(max_examples=60, deadline=None)
@given(case=chunkings, over=st.integers(1, 50))
def test_unknown_length_over_the_limit_is_too_large_and_never_passes_the_excess(
    case: tuple[bytes, list[int], bool], over: int
) -> None:
    data, cuts, _ = case
    if not data:
        data = b"x"
    limit = max(0, len(data) - over)
    reader = HashingReader(source(split(data, cuts)), expected_size=None, limit=limit)
    passed: list[bytes] = []
    with pytest.raises(EntityTooLarge) as raised:
        anyio.run(drain, reader, passed)
    assert raised.value.maximum == limit
    assert sum(len(chunk) for chunk in passed) <= limit
    assert not reader.finished


@pytest.mark.anyio
async def test_unknown_length_still_checks_content_md5() -> None:
    reader = HashingReader(
        source([DATA]), expected_size=None, limit=len(DATA), content_md5=md5_b64(b"other")
    )
    with pytest.raises(BadDigest):
        await drain(reader, [])


@pytest.mark.anyio
async def test_a_known_length_ignores_the_limit() -> None:
    """The edge already held a declared length to the limit: only the length is checked."""
    reader = HashingReader(source([DATA]), expected_size=len(DATA), limit=1)
    await drain(reader, [])
    assert reader.size == len(DATA)


@pytest.mark.anyio
async def test_content_md5_mismatch_is_bad_digest() -> None:
    reader = HashingReader(source([DATA]), expected_size=len(DATA), content_md5=md5_b64(b"other"))
    with pytest.raises(BadDigest):
        await drain(reader, [])


@pytest.mark.anyio
async def test_a_declared_sha256_is_left_to_the_registry() -> None:
    # The blob is pushed with the declared digest and the registry refuses a mismatch
    # (tests/integration/s3/test_put_object.py); the reader does not hash it a second time.
    other = sha256_hex(b"other")
    reader = HashingReader(
        source([DATA[:5], DATA[5:]]),
        expected_size=len(DATA),
        content_md5=md5_b64(DATA),
        content_sha256=other,
        algorithms=("SHA256", "CRC32"),
    )
    await drain(reader, [])
    assert reader.sha256_hex == other
    assert reader.checksum("SHA256") == base64.b64encode(bytes.fromhex(other)).decode()
    assert set(reader.checksum_values) == {"SHA256", "CRC32"}


@settings(max_examples=10, deadline=None)
@given(
    size=st.integers(OFFLOAD_BATCH, 3 * OFFLOAD_BATCH + 7),
    piece=st.sampled_from([1000, 65536, OFFLOAD_BATCH + 1]),
    signed=st.booleans(),
)
def test_large_bodies_hashed_in_a_worker_thread_give_the_same_digests(
    size: int, piece: int, signed: bool
) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    reader = HashingReader(
        source([data[i : i + piece] for i in range(0, size, piece)]),
        expected_size=size,
        content_md5=md5_b64(data),
        content_sha256=sha256_hex(data) if signed else None,
        algorithms=("CRC64NVME", "SHA1", "SHA256"),
    )
    assert b"".join(consume(reader)) == data
    assert reader.sha256_hex == sha256_hex(data)
    assert reader.checksum("SHA1") == base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert reader.checksum("SHA256") == base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.mark.anyio
async def test_a_body_abandoned_mid_stream_leaves_no_stray_error() -> None:
    chunks = [b"x" * OFFLOAD_BATCH] * 3
    reader = HashingReader(source(chunks), expected_size=len(chunks) * OFFLOAD_BATCH)
    stream = reader.__aiter__()
    await stream.__anext__()
    await stream.aclose()
    assert not reader.finished


@pytest.mark.anyio
async def test_length_is_checked_before_digests() -> None:
    reader = HashingReader(
        source([DATA]),
        expected_size=len(DATA) + 1,
        content_md5=md5_b64(b"other"),
        content_sha256=sha256_hex(b"other"),
    )
    with pytest.raises(IncompleteBody):
        await drain(reader, [])


@pytest.mark.anyio
async def test_uppercase_sha256_does_not_match() -> None:
    # x-amz-content-sha256 is lowercase hex; anything else is a mismatch, not a pass.
    reader = HashingReader(
        source([DATA]), expected_size=len(DATA), content_sha256=sha256_hex(DATA).upper()
    )
    with pytest.raises(ContentSHA256Mismatch):
        await drain(reader, [])


@pytest.mark.anyio
async def test_verify_can_run_again_after_the_stream() -> None:
    reader = HashingReader(source([DATA]), expected_size=len(DATA), content_md5=md5_b64(DATA))
    await drain(reader, [])
    reader.verify()  # no error: the caller may check again before the commit
    unread = HashingReader(source([DATA]), expected_size=len(DATA))
    with pytest.raises(IncompleteBody):
        unread.verify()  # nothing read yet: 0 of n bytes


@pytest.mark.anyio
async def test_empty_body() -> None:
    reader = HashingReader(
        source([]), expected_size=0, content_md5=md5_b64(b""), content_sha256=sha256_hex(b"")
    )
    passed: list[bytes] = []
    await drain(reader, passed)
    assert passed == []
    assert reader.finished
    assert reader.digest == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert reader.md5_hex == "d41d8cd98f00b204e9800998ecf8427e"
