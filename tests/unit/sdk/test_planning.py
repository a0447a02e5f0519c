"""Part planning and sizes: the arithmetic every transfer rests on."""

from __future__ import annotations

import itertools

import pytest
from artifactstore.planning import (
    MAX_PARTS,
    MIN_PART_SIZE,
    GiB,
    KiB,
    MiB,
    parse_size,
    part_size_for,
    plan_parts,
    plan_ranges,
)
from hypothesis import given
from hypothesis import strategies as st


@given(st.integers(0, 10**6), st.sampled_from(["", "B", "KiB", "MiB", "GiB"]))
def test_parse_size_reads_binary_units(number: int, unit: str) -> None:
    factor = {"": 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}[unit]
    assert parse_size(f"{number}{unit}") == number * factor
    assert parse_size(number) == number


@pytest.mark.parametrize("bad", ["5MB", "-1", "1.5MiB", "", "MiB", "5 mib"])
def test_parse_size_refuses_what_is_not_a_size(bad: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(bad)


def test_parse_size_refuses_negative_and_bool() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_size(-1)
    with pytest.raises(ValueError, match="not a size"):
        parse_size(True)


@given(st.integers(0, 200 * GiB), st.integers(1, 64 * MiB))
def test_parts_cover_the_object_exactly(size: int, wanted: int) -> None:
    part_size = part_size_for(size, wanted)
    parts = plan_parts(size, part_size)
    assert len(parts) <= MAX_PARTS
    assert part_size >= MIN_PART_SIZE
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    assert parts[0].offset == 0
    for before, after in itertools.pairwise(parts):
        assert after.offset == before.offset + before.length
        assert before.length == part_size  # only the last part may be short
    assert sum(p.length for p in parts) == size
    assert parts[-1].end == size - 1


def test_a_huge_object_gets_bigger_parts() -> None:
    size = 100 * GiB
    part = part_size_for(size, 5 * MiB)
    assert part > 5 * MiB
    assert part % MiB == 0
    assert len(plan_parts(size, part)) <= MAX_PARTS
    with pytest.raises(ValueError, match="do not fit"):
        part_size_for(60_000 * GiB, 5 * MiB)


@given(st.integers(0, 10 * MiB), st.integers(4 * KiB, 3 * MiB))
def test_ranges_have_no_minimum(size: int, range_size: int) -> None:
    ranges = plan_ranges(size, range_size)
    assert sum(r.length for r in ranges) == size
    assert all(r.length <= range_size for r in ranges)


def test_plan_parts_refuses_a_zero_part_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        plan_parts(10, 0)
