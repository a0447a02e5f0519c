"""Checksums in S3's encoding (base64 of the big-endian digest), computed incrementally so a
file of any size is checked in constant memory."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path
from typing import Protocol

from awscrt import checksums as crt  # type: ignore[import-untyped]

ALGORITHMS = ("CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256")
CHUNK = 1024 * 1024


class Hasher(Protocol):
    def update(self, data: bytes) -> None: ...

    def value(self) -> str: ...


class _Crc:
    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.crc = 0

    def update(self, data: bytes) -> None:
        if self.algorithm == "CRC64NVME":
            self.crc = crt.crc64nvme(data, self.crc)
        elif self.algorithm == "CRC32C":
            self.crc = crt.crc32c(data, self.crc)
        else:
            self.crc = zlib.crc32(data, self.crc)

    def value(self) -> str:
        width = 8 if self.algorithm == "CRC64NVME" else 4
        return base64.b64encode(self.crc.to_bytes(width, "big")).decode()


class _Hash:
    def __init__(self, algorithm: str) -> None:
        self.digest = hashlib.new(algorithm.lower())

    def update(self, data: bytes) -> None:
        self.digest.update(data)

    def value(self) -> str:
        return base64.b64encode(self.digest.digest()).decode()


def hasher(algorithm: str) -> Hasher:
    algorithm = algorithm.upper()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported checksum {algorithm!r}: one of {', '.join(ALGORITHMS)}")
    return _Hash(algorithm) if algorithm.startswith("SHA") else _Crc(algorithm)


def checksum_of(data: bytes, algorithm: str) -> str:
    h = hasher(algorithm)
    h.update(data)
    return h.value()


def file_digests(path: Path, algorithms: list[str]) -> tuple[bytes, dict[str, str]]:
    """The file's SHA-256 (raw) and its checksums in ``algorithms``, in one read."""
    sha = hashlib.sha256()
    others = {a: hasher(a) for a in algorithms}
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            sha.update(chunk)
            for h in others.values():
                h.update(chunk)
    return sha.digest(), {a: h.value() for a, h in others.items()}
