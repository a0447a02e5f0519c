"""S3 flexible checksums (``x-amz-checksum-<algorithm>``), computed while the bytes pass.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

The CRCs run in native code: CRC32 in zlib (the same polynomial, the same values; here 0.19 s
of CPU per GiB against 0.31 s for awscrt's, docs/performance.md "Where multipart's time goes on
Zot"), CRC32C and CRC64NVME in ``awscrt.checksums`` (the library the AWS SDKs use); the SHAs
in hashlib, so hashing a body costs about what reading it does. A digest is big-endian, as S3
carries it base64-encoded in the header: CRC32 ``b"123456789"`` -> ``cbf43926`` -> ``y/Q5Jg==``.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable

from awscrt import checksums as _crt  # type: ignore[import-untyped]

__all__ = ["ALGORITHMS", "Checksum", "new"]

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")


class Checksum:
    """A running checksum of one algorithm; feed it with :meth:`update`, read it at the end."""

    algorithm: str

    def update(self, data: bytes) -> None:
        raise NotImplementedError

    def digest(self) -> bytes:
        raise NotImplementedError

    def b64(self) -> str:
        """The value as an ``x-amz-checksum-*`` header carries it."""
        return base64.b64encode(self.digest()).decode("ascii")


class _Crc(Checksum):
    __slots__ = ("_fn", "_value", "_width", "algorithm")

    def __init__(self, algorithm: str, fn: Callable[[bytes, int], int], width: int) -> None:
        self.algorithm = algorithm
        self._fn = fn
        self._width = width
        self._value = 0

    def update(self, data: bytes) -> None:
        if data:
            self._value = self._fn(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._width, "big")


class _Sha(Checksum):
    __slots__ = ("_hash", "algorithm")

    def __init__(self, algorithm: str, name: str) -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return self._hash.digest()


def _crc32(data: bytes, previous: int) -> int:
    return zlib.crc32(data, previous)  # releases the GIL for bodies over 5 KiB, as awscrt does


def _crc32c(data: bytes, previous: int) -> int:
    return int(_crt.crc32c(data, previous))


def _crc64nvme(data: bytes, previous: int) -> int:
    return int(_crt.crc64nvme(data, previous))


_FACTORIES: dict[str, Callable[[], Checksum]] = {
    "CRC32": lambda: _Crc("CRC32", _crc32, 4),
    "CRC32C": lambda: _Crc("CRC32C", _crc32c, 4),
    "CRC64NVME": lambda: _Crc("CRC64NVME", _crc64nvme, 8),
    "SHA1": lambda: _Sha("SHA1", "sha1"),
    "SHA256": lambda: _Sha("SHA256", "sha256"),
}


def new(algorithm: str) -> Checksum:
    """A fresh checksum for ``algorithm`` in any case (``crc32c``, ``CRC32C``); else ValueError."""
    factory = _FACTORIES.get(algorithm.upper()) if algorithm.isascii() else None
    if factory is None:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}; expected one of {ALGORITHMS}")
    return factory()
