"""The asynchronous client: the same operations as ``Client``, awaitable.

boto3 has no asyncio transport, so each call runs the synchronous client's code in a worker
thread (``asyncio.to_thread``); the event loop never blocks, transfers keep their own thread
pools, and both APIs share every line of logic (planning, resume state, errors, bundles)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from .client import Client, Destination, DownloadResult, ObjectInfo, Source, UploadResult

if TYPE_CHECKING:
    from ._generated.models import ReferrerInfo, TrustModel, VerdictInfo
    from .signing import KeyPair

P = ParamSpec("P")
R = TypeVar("R")


class AsyncClient:
    """Takes ``Client``'s arguments, or wraps a client: ``AsyncClient(client=c)``."""

    def __init__(self, *args: Any, client: Client | None = None, **kwargs: Any) -> None:
        self.sync = client or Client(*args, **kwargs)

    @classmethod
    async def login_password(cls, username: str, password: str, **kwargs: Any) -> AsyncClient:
        client = await asyncio.to_thread(Client.login_password, username, password, **kwargs)
        return cls(client=client)

    @classmethod
    async def login_device(cls, **kwargs: Any) -> AsyncClient:
        client = await asyncio.to_thread(Client.login_device, **kwargs)
        return cls(client=client)

    async def _run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def close(self) -> None:
        await self._run(self.sync.close)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def create_bucket(self, bucket: str) -> None:
        await self._run(self.sync.create_bucket, bucket)

    async def delete_bucket(self, bucket: str, *, recursive: bool = False) -> None:
        await self._run(self.sync.delete_bucket, bucket, recursive=recursive)

    async def put_bucket_policy(self, bucket: str, policy: dict[str, Any] | str) -> None:
        await self._run(self.sync.put_bucket_policy, bucket, policy)

    async def get_bucket_policy(self, bucket: str) -> dict[str, Any]:
        return await self._run(self.sync.get_bucket_policy, bucket)

    async def upload(self, bucket: str, key: str, source: Source, **options: Any) -> UploadResult:
        return await self._run(self.sync.upload, bucket, key, source, **options)

    async def download(
        self, bucket: str, key: str, destination: Destination, **options: Any
    ) -> DownloadResult:
        return await self._run(self.sync.download, bucket, key, destination, **options)

    async def head(self, bucket: str, key: str) -> ObjectInfo:
        return await self._run(self.sync.head, bucket, key)

    async def list_objects(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000
    ) -> AsyncIterator[ObjectInfo]:
        """Objects one page at a time: each page is fetched in a worker thread."""
        pages = self.sync.list_objects(bucket, prefix, page_size=page_size)
        done = object()
        while True:
            item = await asyncio.to_thread(next, pages, done)
            if item is done:
                return
            assert isinstance(item, ObjectInfo)
            yield item

    async def delete(self, bucket: str, keys: str | Iterable[str]) -> None:
        await self._run(self.sync.delete, bucket, keys if isinstance(keys, str) else list(keys))

    async def put_object(self, bucket: str, key: str, body: bytes, **options: Any) -> UploadResult:
        return await self._run(self.sync.put_object, bucket, key, body, **options)

    async def presign(
        self, bucket: str, key: str, *, method: Literal["GET", "PUT"] = "GET", expires: int = 3600
    ) -> str:
        return await self._run(self.sync.presign, bucket, key, method=method, expires=expires)

    async def attach(
        self,
        bucket: str,
        key: str,
        kind: Literal["signature", "sbom", "attestation"],
        document: bytes | dict[str, Any] | str | os.PathLike[str],
        *,
        media_type: str | None = None,
    ) -> ReferrerInfo:
        return await self._run(self.sync.attach, bucket, key, kind, document, media_type=media_type)

    async def referrers(
        self,
        bucket: str,
        key: str,
        *,
        kind: Literal["signature", "sbom", "attestation"] | None = None,
    ) -> list[ReferrerInfo]:
        return await self._run(self.sync.referrers, bucket, key, kind=kind)

    async def get_referrer(self, bucket: str, key: str, digest: str) -> bytes:
        return await self._run(self.sync.get_referrer, bucket, key, digest)

    async def sign(self, bucket: str, key: str, keys: KeyPair) -> ReferrerInfo:
        return await self._run(self.sync.sign, bucket, key, keys)

    async def trust_key(
        self,
        bucket: str,
        name: str,
        public_key: str | KeyPair,
        *,
        require_signature: bool | None = None,
    ) -> TrustModel:
        return await self._run(
            self.sync.trust_key, bucket, name, public_key, require_signature=require_signature
        )

    async def get_trust(self, bucket: str) -> TrustModel:
        return await self._run(self.sync.get_trust, bucket)

    async def put_trust(self, bucket: str, trust: TrustModel) -> TrustModel:
        return await self._run(self.sync.put_trust, bucket, trust)

    async def sha256(self, bucket: str, key: str) -> bytes:
        return await self._run(self.sync.sha256, bucket, key)

    async def verify(self, bucket: str, key: str, *, fresh: bool = False) -> VerdictInfo:
        return await self._run(self.sync.verify, bucket, key, fresh=fresh)

    async def verify_local(self, bucket: str, key: str, public_key: str | KeyPair) -> bool:
        return await self._run(self.sync.verify_local, bucket, key, public_key)
