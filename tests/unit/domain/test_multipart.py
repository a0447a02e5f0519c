"""The arithmetic of multipart objects: ETags, composite and full-object checksums, the
checksum-type rules, part spans."""

from __future__ import annotations

import base64
import hashlib
import itertools
import zlib
from datetime import UTC, datetime

import pytest
from awscrt import checksums as crt
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import checksums
from gateway.domain.errors import InvalidPartNumber, InvalidRequest
from gateway.domain.multipart import (
    _multipart_etag,
    checksum_type_for,
    new_upload_id,
    object_checksum,
)
from gateway.domain.objects import part_span
from gateway.domain.values import Layer, ObjectRecord, PartRecord, UploadRecord

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def upload(algorithm: str | None, kind: str | None) -> UploadRecord:
    return UploadRecord("id", "b", "k", WHEN, checksum_algorithm=algorithm, checksum_type=kind)


def parts_of(pieces: list[bytes], algorithm: str) -> list[PartRecord]:
    found = []
    for number, piece in enumerate(pieces, 1):
        checksum = checksums.new(algorithm)
        checksum.update(piece)
        found.append(
            PartRecord(
                part_number=number,
                size=len(piece),
                etag=f'"{hashlib.md5(piece, usedforsecurity=False).hexdigest()}"',
                digest="sha256:" + hashlib.sha256(piece).hexdigest(),
                last_modified=WHEN,
                manifest_digest="sha256:" + "0" * 64,
                checksum=checksum.b64(),
            )
        )
    return found


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)] or [b""]


@settings(max_examples=60)
@given(
    data=st.binary(max_size=2000),
    cuts=st.lists(st.integers(0, 2000), max_size=6),
    algorithm=st.sampled_from(["CRC32", "CRC32C", "CRC64NVME"]),
)
def test_full_object_crc_equals_the_crc_of_the_whole(data, cuts, algorithm):
    pieces = split(data, cuts)
    whole = checksums.new(algorithm)
    whole.update(data)
    found = object_checksum(upload(algorithm, "FULL_OBJECT"), parts_of(pieces, algorithm))
    assert found == {algorithm: whole.b64()}


@settings(max_examples=40)
@given(
    data=st.binary(min_size=1, max_size=2000),
    cuts=st.lists(st.integers(0, 2000), max_size=6),
    algorithm=st.sampled_from(["CRC32", "CRC32C", "SHA1", "SHA256"]),
)
def test_composite_is_the_checksum_of_the_part_checksums(data, cuts, algorithm):
    pieces = split(data, cuts)
    parts = parts_of(pieces, algorithm)
    raw = b"".join(base64.b64decode(p.checksum or "") for p in parts)
    outer = checksums.new(algorithm)
    outer.update(raw)
    found = object_checksum(upload(algorithm, "COMPOSITE"), parts)
    assert found == {algorithm: f"{outer.b64()}-{len(parts)}"}


def test_composite_crc32_by_hand():
    parts = parts_of([b"hello ", b"world"], "CRC32")
    raw = zlib.crc32(b"hello ").to_bytes(4, "big") + zlib.crc32(b"world").to_bytes(4, "big")
    expected = base64.b64encode(zlib.crc32(raw).to_bytes(4, "big")).decode() + "-2"
    assert object_checksum(upload("CRC32", "COMPOSITE"), parts) == {"CRC32": expected}
    crc64 = parts_of([b"hello ", b"world"], "CRC64NVME")
    whole = base64.b64encode(crt.crc64nvme(b"hello world", 0).to_bytes(8, "big")).decode()
    assert object_checksum(upload("CRC64NVME", "FULL_OBJECT"), crc64) == {"CRC64NVME": whole}


def test_no_algorithm_no_checksum_and_a_missing_part_checksum_is_refused():
    parts = parts_of([b"a"], "CRC32")
    assert object_checksum(upload(None, None), parts) == {}
    bare = [PartRecord(1, 1, '"' + "0" * 32 + '"', "sha256:x", WHEN, "sha256:y")]
    with pytest.raises(InvalidRequest):
        object_checksum(upload("CRC32", "COMPOSITE"), bare)


def test_multipart_etag_is_the_md5_of_the_part_md5s():
    # The well-known shape: "<md5 of the concatenated binary part MD5s>-<part count>".
    pieces = [b"a" * 10, b"b" * 3]
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in pieces)
    expected = f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-2"'
    assert _multipart_etag(parts_of(pieces, "CRC32")) == expected


@pytest.mark.parametrize(
    ("algorithm", "requested", "expected"),
    [
        (None, None, None),
        ("CRC32", None, "COMPOSITE"),
        ("CRC32", "full_object", "FULL_OBJECT"),
        ("CRC64NVME", None, "FULL_OBJECT"),
        ("SHA256", "COMPOSITE", "COMPOSITE"),
    ],
)
def test_checksum_type_rules(algorithm, requested, expected):
    assert checksum_type_for(algorithm, requested) == expected


@pytest.mark.parametrize(
    ("algorithm", "requested"),
    [(None, "COMPOSITE"), ("SHA1", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE"), ("CRC32", "X")],
)
def test_checksum_type_refusals(algorithm, requested):
    with pytest.raises(InvalidRequest):
        checksum_type_for(algorithm, requested)


def test_upload_ids_sort_by_start_and_are_unique():
    first, second = new_upload_id(), new_upload_id()
    assert first != second
    assert first[:12] <= second[:12]
    assert len(first) == 36


def test_part_spans():
    record = ObjectRecord(
        "b",
        "k",
        "sha256:m",
        10,
        '"e-3"',
        WHEN,
        (Layer("sha256:1", 4), Layer("sha256:2", 0), Layer("sha256:3", 6)),
    )
    assert part_span(record, 1) == (0, 3)
    assert part_span(record, 2) == (4, 3)  # an empty part: nothing to read
    assert part_span(record, 3) == (4, 9)
    for number in (0, 4):
        with pytest.raises(InvalidPartNumber):
            part_span(record, number)
