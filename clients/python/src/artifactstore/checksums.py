"""Checksums in S3's encoding (base64 of the big-endian digest), computed incrementally so a
file of any size is checked in constant memory; ``HashBehind`` feeds them with a file's bytes
in order while its ranges are still being written, in any order."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import zlib
from collections.abc import Iterable
from typing import Protocol

from awscrt import checksums as crt  # type: ignore[import-untyped]

ALGORITHMS = ("CRC64NVME", "CRC32", "CRC32C", "SHA1", "SHA256")
CHUNK = 1024 * 1024


class Feedable(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


class Hasher(Protocol):
    def update(self, data: bytes | memoryview) -> None: ...

    def value(self) -> str: ...


class _Crc:
    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.crc = 0

    def update(self, data: bytes | memoryview) -> None:
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

    def update(self, data: bytes | memoryview) -> None:
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


class HashBehind:
    """Hashes a file in order as its written prefix grows, beside the writers.

    ``ranges`` are the file's (offset, length) pieces in file order, without gaps; writers
    call ``written(index)`` once a piece's bytes are in the file (in any order), and a thread
    (``start``) reads the file from the hashed offset up to the end of the contiguous run of
    written pieces, 1 MiB at a time into one buffer, and feeds ``hashers``. Pieces already in
    the file when it starts (a resumed download) are passed as ``present``: they are read and
    hashed once, like the rest. Reading back from the page cache costs a copy, not a second
    pass after the last write; memory is the one buffer whatever the file's size."""

    def __init__(
        self,
        fd: int,
        ranges: list[tuple[int, int]],
        hashers: Iterable[Feedable],
        present: Iterable[int] = (),
    ) -> None:
        self.fd = fd
        self.ranges = ranges
        self.hashers = list(hashers)
        self.hashed = 0  # bytes fed to the hashers, from offset 0
        self.error: BaseException | None = None
        self._written = set(present)
        self._next = 0  # index of the first piece not yet known to be written
        self._prefix = 0  # end of the contiguous run of written pieces
        self._stopped = False
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._advance()

    @property
    def total(self) -> int:
        return sum(length for _, length in self.ranges)

    def _advance(self) -> None:
        """Move the prefix over written pieces (the condition's lock held, or not started)."""
        while self._next < len(self.ranges) and self._next in self._written:
            offset, length = self.ranges[self._next]
            self._prefix = offset + length
            self._next += 1

    def written(self, index: int) -> None:
        with self._changed:
            self._written.add(index)
            self._advance()
            self._changed.notify()

    def abandon(self) -> None:
        """Stop hashing (the transfer failed): ``join`` returns without waiting for pieces
        that will not come, and without hashing what is left."""
        with self._changed:
            self._stopped = True
            self._changed.notify()

    def start(self) -> HashBehind:
        self._thread = threading.Thread(target=self._run, name="hash-behind", daemon=True)
        self._thread.start()
        return self

    def join(self) -> BaseException | None:
        """Wait for the thread: once every piece was reported ``written``, until all is
        hashed (``hashed`` is then the file's size). Returns what it failed with, if it did."""
        if self._thread is not None:
            self._thread.join()
        return self.error

    def _run(self) -> None:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        total = self.total
        try:
            while self.hashed < total:
                with self._changed:
                    while self._prefix <= self.hashed and not self._stopped:
                        self._changed.wait()
                    end = self._prefix
                if end <= self.hashed:
                    return  # abandoned: the transfer failed and says why
                while self.hashed < end and not self._stopped:
                    want = min(CHUNK, end - self.hashed)
                    got = os.preadv(self.fd, [view[:want]], self.hashed)
                    if got <= 0:
                        raise OSError(f"the file ends at {self.hashed}, before {end}")
                    piece = view[:got]
                    for h in self.hashers:
                        h.update(piece)
                    self.hashed += got
        except BaseException as error:  # handed to the thread that joins
            self.error = error
