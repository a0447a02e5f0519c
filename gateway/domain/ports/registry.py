"""The registry port: what the domain needs from an OCI registry, and how it fails.

``gateway.registry.client.RegistryClient`` is the adapter (OCI distribution API over HTTP);
tests put in-memory fakes here. The failures are the port's, not the adapter's: the adapter
translates HTTP answers into them, so nothing above the domain ever imports the adapter.

RegistryError
 +-- RegistryUnavailable   connection refused/reset, timeouts, 5xx: retry later (S3 503)
 +-- RegistryNotFound      MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN
 +-- RegistryDigestInvalid the bytes did not match the digest we declared
 +-- RegistryRejected      any other 4xx: a bug on our side, logged as InternalError
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol


class RegistryError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryUnavailable(RegistryError):
    """``retry_after``: seconds after which trying again may help (the circuit's cool-down
    left), when known."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class RegistryNotFound(RegistryError):
    pass


class RegistryDigestInvalid(RegistryError):
    pass


class RegistryRejected(RegistryError):
    pass


@dataclass(frozen=True)
class Manifest:
    body: bytes
    digest: str
    media_type: str


@dataclass(frozen=True)
class PushedManifest:
    digest: str
    subject: str | None  # the OCI-Subject answer: the registry indexed the referrer itself


class Blob(Protocol):
    """What ``open_blob`` yields: the answer's status and Content-Length, and its bytes."""

    @property
    def status(self) -> int: ...

    @property
    def length(self) -> int: ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...


class Registry(Protocol):
    """Blobs and manifests by repository; nothing of S3 (mapping.py decides the names)."""

    async def ping(self) -> None: ...

    async def aclose(self) -> None: ...

    async def push_blob(
        self,
        repository: str,
        body: AsyncIterable[bytes],
        size: int | None,
        *,
        digest: str | None,
        final_digest: Callable[[], str],
    ) -> str:
        """Stream ``size`` bytes (None: unknown until the body ends) into a new blob; return
        its digest. With ``digest`` known up front the registry checks it; else
        ``final_digest`` is asked once the body is sent."""
        ...

    async def push_small_blob(self, repository: str, data: bytes, digest: str) -> None: ...

    async def ensure_blob(self, repository: str, data: bytes, digest: str) -> None:
        """A small well-known blob (the empty config), uploaded once per repository."""
        ...

    async def blob_exists(self, repository: str, digest: str) -> bool: ...

    async def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Reuse a blob of another repository without copying; False if not mounted."""
        ...

    def open_blob(
        self, repository: str, digest: str, byte_range: tuple[int, int] | None = None
    ) -> AbstractAsyncContextManager[Blob]:
        """A blob (or an inclusive byte range of it) to stream; status 200 means the
        registry ignored the range."""
        ...

    async def push_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str: ...

    async def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> PushedManifest: ...

    async def get_manifest(self, repository: str, reference: str) -> Manifest: ...

    async def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete by digest; a missing manifest is not an error."""
        ...

    async def push_referrer(self, repository: str, body: bytes) -> PushedManifest:
        """Push a manifest with a ``subject``, untagged (plus the tag-schema fallback index
        where the registry lacks the referrers API)."""
        ...

    async def remove_referrer(self, repository: str, subject: str, digest: str) -> None: ...

    async def drop_referrers_tag(self, repository: str, subject: str) -> None: ...

    async def referrers(
        self, repository: str, subject: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]]: ...

    def catalog(self) -> AsyncIterator[str]: ...

    def tags(self, repository: str) -> AsyncIterator[str]: ...
