"""The download's in-order hashing (artifactstore.checksums.HashBehind): ranges written in any
order, some already present (a resumed download), hashed once each and in file order, so the
checksums of the split data equal those of the whole."""

from __future__ import annotations

import itertools
import os
import random
import threading
from pathlib import Path

import pytest
from artifactstore.checksums import ALGORITHMS, CHUNK, HashBehind, checksum_of, hasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


class Recorder:
    """Keeps every byte fed to it, in the order fed."""

    def __init__(self) -> None:
        self.fed = bytearray()

    def update(self, data: bytes | memoryview, /) -> None:
        self.fed += data


def split(size: int, cuts: list[int]) -> list[tuple[int, int]]:
    points = sorted({c % size for c in cuts} - {0}) if size else []
    bounds = [0, *points, size]
    return [(a, b - a) for a, b in itertools.pairwise(bounds) if b > a]


def hash_in_pieces(
    path: Path, data: bytes, ranges: list[tuple[int, int]], present: set[int], order: list[int]
) -> tuple[HashBehind, Recorder, dict[str, object]]:
    """Write ``data`` into a file of its size: the ``present`` pieces first (as an interrupted
    run left them), the rest in ``order`` from another thread while HashBehind hashes."""
    with path.open("wb") as out:
        out.truncate(len(data))
    fd = os.open(path, os.O_RDWR)
    try:
        for i in present:
            offset, length = ranges[i]
            os.pwrite(fd, data[offset : offset + length], offset)
        recorder = Recorder()
        hashers = {a: hasher(a) for a in ALGORITHMS}
        behind = HashBehind(fd, ranges, [recorder, *hashers.values()], present=present).start()

        def writer() -> None:
            for i in order:
                offset, length = ranges[i]
                os.pwrite(fd, data[offset : offset + length], offset)
                behind.written(i)

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join()
        error = behind.join()
    finally:
        os.close(fd)
    assert error is None
    return behind, recorder, {a: h.value() for a, h in hashers.items()}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(min_size=0, max_size=4096),
    cuts=st.lists(st.integers(min_value=0, max_value=1 << 16), max_size=12),
    seed=st.integers(min_value=0, max_value=1 << 32),
    resumed=st.floats(min_value=0, max_value=1),
)
def test_split_data_hashes_like_the_whole(
    tmp_path: Path, data: bytes, cuts: list[int], seed: int, resumed: float
) -> None:
    ranges = split(len(data), cuts)
    rng = random.Random(seed)
    present = {i for i in range(len(ranges)) if rng.random() < resumed}
    order = [i for i in range(len(ranges)) if i not in present]
    rng.shuffle(order)
    behind, recorder, values = hash_in_pieces(tmp_path / "f", data, ranges, present, order)
    assert behind.hashed == len(data)
    assert bytes(recorder.fed) == data  # every byte once, in file order, resumed ones too
    for algorithm in ALGORITHMS:
        assert values[algorithm] == checksum_of(data, algorithm), algorithm


@given(data=st.binary(max_size=2048), cuts=st.lists(st.integers(0, 2048), max_size=8))
def test_checksums_fed_in_pieces_equal_the_whole(data: bytes, cuts: list[int]) -> None:
    for algorithm in ALGORITHMS:
        h = hasher(algorithm)
        for offset, length in split(len(data), cuts):
            h.update(memoryview(data)[offset : offset + length])
        assert h.value() == checksum_of(data, algorithm)


def test_pieces_larger_than_the_read_buffer(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(3 * CHUNK + 12345)
    ranges = split(len(data), [CHUNK + 5, 2 * CHUNK + 7])
    _behind, recorder, values = hash_in_pieces(tmp_path / "f", data, ranges, {1}, [2, 0])
    assert bytes(recorder.fed) == data
    assert values["CRC64NVME"] == checksum_of(data, "CRC64NVME")


def test_abandon_returns_without_the_missing_pieces(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 100)
    fd = os.open(path, os.O_RDONLY)
    try:
        recorder = Recorder()
        behind = HashBehind(fd, [(0, 40), (40, 60)], [recorder]).start()
        behind.written(1)  # the first range never comes: nothing can be hashed
        behind.abandon()
        assert behind.join() is None
    finally:
        os.close(fd)
    assert behind.hashed == 0
    assert recorder.fed == b""


def test_a_file_shorter_than_its_pieces_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 10)
    fd = os.open(path, os.O_RDONLY)
    try:
        behind = HashBehind(fd, [(0, 10), (10, 10)], [Recorder()], present={0, 1}).start()
        error = behind.join()
    finally:
        os.close(fd)
    assert isinstance(error, OSError)
    assert behind.hashed == 10


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported checksum"):
        hasher("MD5")
