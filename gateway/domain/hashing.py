"""Hash and count a request body while it streams to the registry.

Every byte is verified (DESIGN.md §3): MD5 (the ETag), SHA-256 (the layer digest), any
flexible checksum the client declared (CRC32, CRC32C, CRC64NVME, SHA1, SHA256) and the length
are computed as the bytes pass. :meth:`HashingReader.verify` runs at EOF and raises before
the index commit, so a mismatch commits nothing. Modelled on versitygw's HashReader.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Mapping

from gateway.domain import checksums
from gateway.domain.errors import BadDigest, ContentSHA256Mismatch, IncompleteBody


class _Sha256View:
    """The layer's SHA-256 doubles as the flexible SHA256 checksum: hash once, read twice."""

    def __init__(self, hasher: hashlib._Hash) -> None:
        self._hasher = hasher

    def update(self, data: bytes) -> None:  # the reader updates the shared hasher itself
        del data

    def b64(self) -> str:
        return base64.b64encode(self._hasher.digest()).decode()


class HashingReader:
    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        expected_size: int,
        content_md5: str | None = None,
        content_sha256: str | None = None,
        algorithms: tuple[str, ...] = (),
    ) -> None:
        self._source = source
        self.expected_size = expected_size
        self._content_md5 = content_md5
        self._content_sha256 = content_sha256
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._checksums: dict[str, checksums.Checksum | _Sha256View] = {
            name: _Sha256View(self._sha256) if name == "SHA256" else checksums.new(name)
            for name in algorithms
        }
        self._extra = [c for name, c in self._checksums.items() if name != "SHA256"]
        self.size = 0
        self.finished = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self.expected_size:
                raise IncompleteBody("The request body is longer than its declared length.")
            self._md5.update(chunk)
            self._sha256.update(chunk)
            for checksum in self._extra:
                checksum.update(chunk)
            yield chunk
        self.finished = True
        self.verify()

    def verify(self, declared: Mapping[str, str] | None = None) -> None:
        """Raise unless every declared length, digest and checksum matches what passed.

        ``declared`` maps algorithm -> base64 value (from headers, or trailers that arrive
        only after the last byte)."""
        if self.size != self.expected_size:
            raise IncompleteBody(
                f"You did not provide the number of bytes specified by the Content-Length "
                f"HTTP header: {self.size} of {self.expected_size}."
            )
        if self._content_md5 is not None and self._content_md5 != self.md5_base64:
            raise BadDigest("The Content-MD5 you specified did not match what we received.")
        if self._content_sha256 is not None and self._content_sha256 != self.sha256_hex:
            raise ContentSHA256Mismatch()
        for name, value in (declared or {}).items():
            if self.checksum(name) != value:
                raise BadDigest(f"The {name} you specified did not match the calculated checksum.")

    def checksum(self, name: str) -> str:
        return self._checksums[name].b64()

    @property
    def checksum_values(self) -> dict[str, str]:
        return {name: checksum.b64() for name, checksum in self._checksums.items()}

    @property
    def md5_hex(self) -> str:
        return self._md5.hexdigest()

    @property
    def md5_base64(self) -> str:
        return base64.b64encode(self._md5.digest()).decode()

    @property
    def sha256_hex(self) -> str:
        return self._sha256.hexdigest()

    @property
    def digest(self) -> str:
        """The OCI digest of what passed; only meaningful once the stream is exhausted."""
        return "sha256:" + self.sha256_hex
