"""S3 flexible checksums: the published check values, any chunking, and botocore as an oracle."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence

import pytest
from botocore.httpchecksum import (
    BaseChecksum,
    Crc32Checksum,
    CrtCrc32cChecksum,
    CrtCrc32Checksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import checksums

CHECK = b"123456789"  # the "check" input of the CRC catalogue

# (algorithm, digest of b"", digest of b"123456789"), hex, big-endian as S3 sends them.
VECTORS = [
    ("CRC32", "00000000", "cbf43926"),
    ("CRC32C", "00000000", "e3069283"),
    ("CRC64NVME", "0000000000000000", "ae8b14860a799888"),
    (
        "SHA1",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
    ),
    (
        "SHA256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
    ),
]

BOTOCORE: dict[str, list[type[BaseChecksum]]] = {
    "CRC32": [Crc32Checksum, CrtCrc32Checksum],
    "CRC32C": [CrtCrc32cChecksum],
    "CRC64NVME": [CrtCrc64NvmeChecksum],
    "SHA1": [Sha1Checksum],
    "SHA256": [Sha256Checksum],
}


def one_shot(algorithm: str, data: bytes) -> checksums.Checksum:
    checksum = checksums.new(algorithm)
    checksum.update(data)
    return checksum


def split(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def test_algorithms_are_the_five_s3_knows() -> None:
    assert checksums.ALGORITHMS == ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
    assert set(BOTOCORE) == set(checksums.ALGORITHMS)


@pytest.mark.parametrize(("algorithm", "empty", "check"), VECTORS, ids=[v[0] for v in VECTORS])
def test_published_check_values(algorithm: str, empty: str, check: str) -> None:
    assert checksums.new(algorithm).digest().hex() == empty
    assert one_shot(algorithm, b"").digest().hex() == empty
    digest = one_shot(algorithm, CHECK)
    assert digest.digest().hex() == check
    assert digest.b64() == base64.b64encode(bytes.fromhex(check)).decode()
    assert digest.algorithm == algorithm


def test_b64_is_the_header_form() -> None:
    assert one_shot("CRC32", CHECK).b64() == "y/Q5Jg=="
    assert one_shot("CRC64NVME", CHECK).b64() == "rosUhgp5mIg="


@pytest.mark.parametrize("name", ["crc32c", "Crc32C", "CRC32C", "sha256"])
def test_names_are_case_insensitive(name: str) -> None:
    assert checksums.new(name).algorithm == name.upper()


@pytest.mark.parametrize("name", ["", "MD5", "CRC64", "SHA512", "crc32 ", "\u017fha1"])
def test_unknown_algorithm_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown checksum algorithm"):
        checksums.new(name)


@settings(max_examples=60, deadline=None)
@given(
    algorithm=st.sampled_from(checksums.ALGORITHMS),
    data=st.binary(max_size=2048),
    cuts=st.lists(st.integers(0, 2048), max_size=8),
    empties=st.booleans(),
)
def test_any_chunking_gives_the_one_shot_value(
    algorithm: str, data: bytes, cuts: list[int], empties: bool
) -> None:
    pieces = split(data, cuts)
    if empties:
        pieces = [b"", *pieces, b""]
    checksum = checksums.new(algorithm)
    for piece in pieces:
        checksum.update(piece)
    assert checksum.digest() == one_shot(algorithm, data).digest()


@settings(max_examples=60, deadline=None)
@given(
    algorithm=st.sampled_from(checksums.ALGORITHMS),
    data=st.binary(max_size=2048),
    cuts=st.lists(st.integers(0, 2048), max_size=8),
)
def test_botocore_agrees(algorithm: str, data: bytes, cuts: list[int]) -> None:
    ours = checksums.new(algorithm)
    for piece in split(data, cuts):
        ours.update(piece)
    for cls in BOTOCORE[algorithm]:
        theirs = cls()
        theirs.update(data)
        assert ours.digest() == theirs.digest(), cls.__name__
        assert ours.b64() == theirs.b64digest(), cls.__name__


def test_memoryview_and_bytearray_are_accepted() -> None:
    for algorithm in checksums.ALGORITHMS:
        expected = one_shot(algorithm, CHECK).digest()
        for form in (bytearray(CHECK), memoryview(CHECK)):
            checksum = checksums.new(algorithm)
            checksum.update(form)  # type: ignore[arg-type]
            assert checksum.digest() == expected
