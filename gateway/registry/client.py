"""A streaming client for the OCI distribution API (the only way the gateway reaches Zot).

It knows OCI and nothing of S3. Bodies go in and out as async iterators; nothing here holds
a whole blob in memory. Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from gateway.registry.errors import (
    RegistryDigestInvalid,
    RegistryError,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
_TRANSPORT_ERRORS = (httpx.TransportError,)
PAGE = 1000


@dataclass(frozen=True)
class Manifest:
    body: bytes
    digest: str
    media_type: str


class BlobStream:
    """An open blob download; the caller iterates it and must close it."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.length = int(response.headers.get("content-length", "0"))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except _TRANSPORT_ERRORS as exc:
            raise RegistryUnavailable(f"blob stream broke: {exc}") from exc

    async def aclose(self) -> None:
        await self._response.aclose()


def _with_digest(location: str, digest: str) -> str:
    """Append ``digest`` to an upload URL without re-encoding the registry's own state
    parameter (re-encoding distribution's base64 ``_state`` breaks it)."""
    return f"{location}{'&' if '?' in location else '?'}digest={quote(digest, safe='')}"


def _error_from(response: httpx.Response, what: str) -> RegistryError:
    code = None
    message = f"{what}: HTTP {response.status_code}"
    try:
        errors = json.loads(response.content).get("errors") or []
        if errors:
            code = errors[0].get("code")
            message = f"{what}: {code} {errors[0].get('message', '')}".strip()
    except (ValueError, AttributeError, httpx.ResponseNotRead):
        pass
    status = response.status_code
    if status >= 500 or status == 429:
        return RegistryUnavailable(message, status=status, code=code)
    if status == 404:
        return RegistryNotFound(message, status=status, code=code)
    if code == "DIGEST_INVALID" or (
        status == 400 and code in {"BLOB_UPLOAD_INVALID", "SIZE_INVALID"}
    ):
        return RegistryDigestInvalid(message, status=status, code=code)
    return RegistryRejected(message, status=status, code=code)


class RegistryClient:
    """The registry port. One instance per process; it owns an ``httpx.AsyncClient``."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 300.0,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=5.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=64),
            follow_redirects=False,
        )
        self._has_empty: set[str] = set()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _request(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, url, **kwargs)
        except _TRANSPORT_ERRORS as exc:
            raise RegistryUnavailable(f"{what}: {exc.__class__.__name__} {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response, what)
        return response

    async def ping(self) -> None:
        await self._request("GET", "/v2/", "ping")

    # -- blobs -------------------------------------------------------------------------------

    async def _start_upload(self, repository: str) -> str:
        response = await self._request("POST", f"/v2/{repository}/blobs/uploads/", "start upload")
        return str(response.headers["location"])

    async def push_blob(
        self,
        repository: str,
        body: AsyncIterable[bytes],
        size: int,
        *,
        digest: str | None,
        final_digest: Callable[[], str],
    ) -> str:
        """Stream ``size`` bytes into a new blob; return its digest.

        With the digest known up front the bytes go in one PUT (the registry hashes while
        it writes); otherwise they are PATCHed and the digest, computed by the caller while
        the bytes passed, closes the upload.
        """
        location = await self._start_upload(repository)
        stream_headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        if digest is not None:
            await self._request(
                "PUT",
                _with_digest(location, digest),
                "upload blob",
                content=body,
                headers=stream_headers,
            )
            return digest
        patch_headers = {**stream_headers, "Content-Range": f"0-{size - 1}"}
        response = await self._request(
            "PATCH", location, "upload blob", content=body, headers=patch_headers
        )
        computed = final_digest()
        await self._request(
            "PUT",
            _with_digest(response.headers["location"], computed),
            "finish blob upload",
            headers={"Content-Length": "0"},
        )
        return computed

    async def push_small_blob(self, repository: str, data: bytes, digest: str) -> None:
        location = await self._start_upload(repository)
        await self._request(
            "PUT",
            _with_digest(location, digest),
            "upload blob",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    async def ensure_blob(self, repository: str, data: bytes, digest: str) -> None:
        """Upload a small well-known blob (the empty config) once per repository and process."""
        if repository in self._has_empty:
            return
        if not await self.blob_exists(repository, digest):
            await self.push_small_blob(repository, data, digest)
        self._has_empty.add(repository)

    async def blob_exists(self, repository: str, digest: str) -> bool:
        try:
            await self._request("HEAD", f"/v2/{repository}/blobs/{digest}", "head blob")
        except RegistryNotFound:
            return False
        return True

    async def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Cross-repository mount: reuse a blob without copying bytes. False if not mounted."""
        if repository == source:
            return await self.blob_exists(repository, digest)
        response = await self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            "mount blob",
            params={"mount": digest, "from": source},
        )
        if response.status_code == 201:
            return True
        # 202: the registry opened an upload instead; cancel it.
        location = response.headers.get("location")
        if location:
            with suppress(RegistryError):
                await self._request("DELETE", location, "cancel upload")
        return False

    @asynccontextmanager
    async def open_blob(
        self, repository: str, digest: str, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[BlobStream]:
        """Open a blob (or an inclusive byte range of it) for streaming."""
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        request = self._client.build_request(
            "GET", f"/v2/{repository}/blobs/{digest}", headers=headers
        )
        try:
            response = await self._client.send(request, stream=True, follow_redirects=True)
        except _TRANSPORT_ERRORS as exc:
            raise RegistryUnavailable(f"get blob: {exc}") from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                raise _error_from(response, "get blob")
            yield BlobStream(response)
        finally:
            await response.aclose()

    # -- manifests ---------------------------------------------------------------------------

    async def push_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        response = await self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            "push manifest",
            content=body,
            headers={"Content-Type": media_type},
        )
        return str(response.headers.get("docker-content-digest", ""))

    async def get_manifest(self, repository: str, reference: str) -> Manifest:
        response = await self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            "get manifest",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return Manifest(
            body=response.content,
            digest=response.headers.get("docker-content-digest", ""),
            media_type=response.headers.get("content-type", ""),
        )

    async def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest; a missing one is not an error."""
        with suppress(RegistryNotFound):
            await self._request("DELETE", f"/v2/{repository}/manifests/{digest}", "delete manifest")

    # -- listings ----------------------------------------------------------------------------

    async def _paged(self, path: str, field: str, what: str) -> AsyncIterator[str]:
        last: str | None = None
        while True:
            params: dict[str, str | int] = {"n": PAGE}
            if last is not None:
                params["last"] = last
            try:
                response = await self._request("GET", path, what, params=params)
            except RegistryNotFound:
                return
            names = response.json().get(field) or []
            for name in names:
                yield name
            link = response.headers.get("link")
            if not names or not link:
                return
            target = link.split(";")[0].strip().strip("<>")
            last = parse_qs(urlsplit(target).query).get("last", [names[-1]])[0]

    def catalog(self) -> AsyncIterator[str]:
        return self._paged("/v2/_catalog", "repositories", "catalog")

    def tags(self, repository: str) -> AsyncIterator[str]:
        return self._paged(f"/v2/{repository}/tags/list", "tags", "list tags")
