"""Deterministic object bodies that are never held whole in memory.

An object is identified by ``(seed, size)``. Its bytes are a fixed 1 MiB pseudo-random block
repeated, each 1 MiB chunk stamped with the seed and the chunk's index, so that no two
objects share a blob (the registry dedups by digest) and a 1 GiB body costs 1 MiB of RAM.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator
from functools import lru_cache

CHUNK = 1 << 20
_BASE = random.Random(20240601).randbytes(CHUNK)
_STAMP = struct.Struct(">QQ")


def _chunk(seed: int, index: int, length: int) -> bytes:
    stamp = _STAMP.pack(seed, index)
    if length <= len(stamp):
        return stamp[:length]
    return stamp + _BASE[len(stamp) : length]


def chunks(seed: int, size: int) -> Iterator[bytes]:
    """The object's bytes in 1 MiB pieces (the last one shorter)."""
    index, left = 0, size
    while left > 0:
        length = min(CHUNK, left)
        yield _chunk(seed, index, length)
        index, left = index + 1, left - length


def whole(seed: int, size: int) -> bytes:
    """For small objects only."""
    assert size <= 16 * CHUNK
    return b"".join(chunks(seed, size))


@lru_cache(maxsize=256)
def sha256_hex(seed: int, size: int) -> str:
    digest = hashlib.sha256()
    for piece in chunks(seed, size):
        digest.update(piece)
    return digest.hexdigest()
