"""Hash and count a request body while it streams to the registry.

Every byte is verified (DESIGN.md §3): MD5 (the ETag), SHA-256 (the layer digest), any
flexible checksum the client declared (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and the length
are computed as the bytes pass. :meth:`HashingReader.verify` runs at EOF and raises before
the index commit, so a mismatch commits nothing. Modelled on versitygw's HashReader.

Two things keep hashing off the critical path. Large bodies are hashed in a worker thread, in
batches of about a MiB, while the event loop forwards the bytes (hashlib releases the GIL), so
the hashes cost a second core rather than the gateway's throughput. And when the client signed
its payload (``x-amz-content-sha256`` is a digest), the gateway does not compute SHA-256 at
all: the blob is pushed with that digest and the registry refuses it unless the bytes match,
which is the same proof for one hash less.

A body of unknown length (plain HTTP chunked) has no length to check; ``limit`` caps it
instead, so that the largest object allowed is the most ever streamed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from gateway.domain import checksums
from gateway.domain.errors import BadDigest, ContentSHA256Mismatch, EntityTooLarge, IncompleteBody

# Bodies up to this size are hashed inline at the end (a thread hop costs more than it saves);
# larger ones are hashed in batches of this size in a worker thread.
OFFLOAD_BATCH = 1 << 20
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hash")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


def _feed(hashers: Sequence[_Hasher], pieces: Sequence[bytes]) -> None:
    for hasher in hashers:
        for piece in pieces:
            hasher.update(piece)


class HashingReader:
    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        expected_size: int | None,
        limit: int | None = None,
        content_md5: str | None = None,
        content_sha256: str | None = None,
        algorithms: tuple[str, ...] = (),
    ) -> None:
        """``expected_size`` None: the length is unknown, and more than ``limit`` bytes (when
        given) is ``EntityTooLarge``."""
        self._source = source
        self.expected_size = expected_size
        self._limit = limit
        # The most bytes that may pass: one comparison per chunk, whichever bound applies.
        self._most = expected_size if expected_size is not None else limit
        self._content_md5 = content_md5
        # A declared SHA-256 is proved by the registry's digest check (see the module's doc).
        self._content_sha256 = content_sha256
        trusted = content_sha256 is not None and _SHA256_HEX.fullmatch(content_sha256)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = None if trusted else hashlib.sha256()
        self._checksums = {name: checksums.new(name) for name in algorithms if name != "SHA256"}
        self._wants_sha256 = "SHA256" in algorithms
        hashers: list[_Hasher] = [self._md5, *self._checksums.values()]
        if self._sha256 is not None:
            hashers.append(self._sha256)
        self._hashers = hashers
        self.size = 0
        self.finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        batch: list[bytes] = []
        batched = 0
        running: asyncio.Future[None] | None = None
        try:
            async for chunk in self._source:
                if not chunk:
                    continue
                self.size += len(chunk)
                if self._most is not None and self.size > self._most:
                    if self.expected_size is None:
                        raise EntityTooLarge(self._limit)
                    raise IncompleteBody("The request body is longer than its declared length.")
                batch.append(chunk)
                batched += len(chunk)
                if batched >= OFFLOAD_BATCH:
                    if running is not None:
                        await running  # batches update the hashers in order, one at a time
                    running = loop.run_in_executor(_POOL, _feed, self._hashers, batch)
                    batch, batched = [], 0
                yield chunk
            if running is not None:
                await running
                running = None
        finally:
            if running is not None:  # abandoned mid-stream: let the thread finish quietly
                running.add_done_callback(lambda done: done.exception())
        _feed(self._hashers, batch)
        self.finished = True
        self.verify()

    def verify(self, declared: Mapping[str, str] | None = None) -> None:
        """Raise unless every declared length, digest and checksum matches what passed.

        ``declared`` maps algorithm -> base64 value (from headers, or trailers that arrive
        only after the last byte)."""
        if self.expected_size is not None and self.size != self.expected_size:
            raise IncompleteBody(
                f"You did not provide the number of bytes specified by the Content-Length "
                f"HTTP header: {self.size} of {self.expected_size}."
            )
        if self._content_md5 is not None and self._content_md5 != self.md5_base64:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
        if self._content_sha256 is not None and self._content_sha256 != self.sha256_hex:
            raise ContentSHA256Mismatch()  # a declared value that is not a digest at all
        for name, value in (declared or {}).items():
            if self.checksum(name) != value:
                raise BadDigest(f"The {name} you specified did not match the calculated checksum.")

    def checksum(self, name: str) -> str:
        if name == "SHA256" and self._wants_sha256:
            return base64.b64encode(binascii.unhexlify(self.sha256_hex)).decode()
        return self._checksums[name].b64()

    @property
    def checksum_values(self) -> dict[str, str]:
        values = {name: checksum.b64() for name, checksum in self._checksums.items()}
        if self._wants_sha256:
            values["SHA256"] = self.checksum("SHA256")
        return values

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    @property
    def md5_base64(self) -> str:
        return base64.b64encode(self._md5.digest()).decode()

    @property
    def sha256_hex(self) -> str:
        """Computed here, or the client's declared digest (valid once the registry took it)."""
        if self._sha256 is None:
            assert self._content_sha256 is not None
            return self._content_sha256
        return self._sha256.hexdigest()

    @property
    def digest(self) -> str:
        """The OCI digest of what passed; only meaningful once the stream is exhausted."""
        return "sha256:" + self.sha256_hex
