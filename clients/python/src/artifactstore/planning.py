"""Sizes and part plans: pure arithmetic shared by uploads and downloads, sync and async."""

from __future__ import annotations

import re
from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 8 * MiB
DEFAULT_THRESHOLD = 16 * MiB

_UNITS = {"": 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")


def parse_size(value: int | str) -> int:
    """``123``, ``"123"``, ``"5MiB"`` -> bytes (binary units only: no guessing of kB vs KiB)."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"negative size: {value}")
        return value
    match = _SIZE.match(value)
    if not match:
        raise ValueError(f"not a size: {value!r} (use bytes or KiB/MiB/GiB)")
    return int(match.group(1)) * _UNITS[match.group(2) or ""]


@dataclass(frozen=True)
class Part:
    number: int  # 1-based, as S3 numbers parts
    offset: int
    length: int

    @property
    def end(self) -> int:
        """Inclusive last byte, as an HTTP Range names it."""
        return self.offset + self.length - 1


def part_size_for(size: int, wanted: int, *, minimum: int = MIN_PART_SIZE) -> int:
    """The wanted part size, raised to S3's minimum and so that ``size`` fits 10,000 parts."""
    part = max(wanted, minimum)
    needed = -(-size // MAX_PARTS) if size else 0
    if needed > part:
        part = -(-needed // MiB) * MiB  # whole MiB keep ranges aligned and readable
    if part > MAX_PART_SIZE:
        raise ValueError(f"{size} bytes do not fit {MAX_PARTS} parts of at most 5 GiB")
    return part


def plan_parts(size: int, part_size: int) -> list[Part]:
    """Consecutive parts covering ``size`` bytes exactly (one empty part for an empty object)."""
    if part_size <= 0:
        raise ValueError("part size must be positive")
    if size == 0:
        return [Part(1, 0, 0)]
    return [
        Part(n + 1, offset, min(part_size, size - offset))
        for n, offset in enumerate(range(0, size, part_size))
    ]


def plan_ranges(size: int, range_size: int) -> list[Part]:
    """Byte ranges for a parallel download (any range size: no S3 minimum applies)."""
    return plan_parts(size, max(1, range_size))
