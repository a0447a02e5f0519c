"""The small-blob cache: bounded, least recently used first, only confirmed bytes kept, and
the registry client answering reads from it without a request."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.blobcache import BlobCache, CachedBlob, recorded
from gateway.registry.client import RegistryClient

BASE = "http://registry.test:5000"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def test_bounded_by_total_and_by_item() -> None:
    cache = BlobCache(capacity=10, largest=4)
    cache.put("a", b"aaaa")
    cache.put("b", b"bbbb")
    assert cache.get("a") == b"aaaa"  # now the most recently used
    cache.put("c", b"cccc")  # 12 > 10: the least recently used (b) goes
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (b"aaaa", b"cccc")
    cache.put("d", b"ddddd")  # larger than one item may be
    assert cache.get("d") is None
    cache.put("e", b"")  # nothing to keep
    assert cache.get("e") is None
    assert (len(cache), cache.size) == (2, 8)


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.binary(max_size=6)), max_size=40))
def test_never_over_capacity_and_never_wrong(puts: list[tuple[str, bytes]]) -> None:
    cache = BlobCache(capacity=16, largest=6)
    truth: dict[str, bytes] = {}
    for name, data in puts:
        truth.setdefault(name, data)  # a digest names one content: the first one stands
        cache.put(name, truth[name])
        assert cache.size <= 16
        assert cache.size == sum(len(cache.get(k) or b"") for k in truth)
    for name, data in truth.items():
        assert cache.get(name) in (None, data)


@pytest.mark.anyio
async def test_cached_blob_whole_and_range() -> None:
    whole = CachedBlob(b"0123456789", None)
    assert (whole.status, whole.length) == (200, 10)
    assert [piece async for piece in whole] == [b"0123456789"]
    part = CachedBlob(b"0123456789", (2, 4))
    assert (part.status, part.length) == (206, 3)
    assert [piece async for piece in part] == [b"234"]


async def pieces(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.anyio
async def test_recorded_keeps_only_exactly_the_announced_size() -> None:
    kept: list[bytes] = []
    assert [p async for p in recorded(pieces(b"ab", b"cd"), 4, kept.append)] == [b"ab", b"cd"]
    assert kept == [b"abcd"]
    kept.clear()
    assert [p async for p in recorded(pieces(b"ab"), 4, kept.append)] == [b"ab"]  # cut short
    assert [p async for p in recorded(pieces(b"abc", b"de"), 4, kept.append)] == [b"abc", b"de"]
    assert kept == []


class Registry:
    """Answers blob pushes (201) and GETs of what it holds; counts the requests."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if request.method == "POST":
            digest = request.url.params["digest"]
            self.blobs[digest] = await request.aread()
            return httpx.Response(201)
        digest = request.url.path.rsplit("/", 1)[1]
        if digest not in self.blobs:
            return httpx.Response(404, json={"errors": [{"code": "BLOB_UNKNOWN"}]})
        data = self.blobs[digest]
        return httpx.Response(200, content=pieces(data), headers={"Content-Length": str(len(data))})


async def read(client: RegistryClient, digest: str, span=None) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    async with client.open_blob("r", digest, span) as blob:
        return blob.status, b"".join([piece async for piece in blob])


@pytest.mark.anyio
async def test_a_pushed_small_blob_is_read_back_without_a_request() -> None:
    registry = Registry()
    client = RegistryClient(
        BASE, transport=httpx.MockTransport(registry), blob_cache=BlobCache(1 << 20)
    )
    data = b"small object"
    try:
        await client.push_small_blob("r", b"{}", sha(b"{}"))
        await client.push_blob(
            "r", pieces(data[:5], data[5:]), len(data), digest=sha(data), final_digest=str
        )
        sent = len(registry.requests)
        assert await read(client, sha(data)) == (200, data)
        assert await read(client, sha(data), (0, 4)) == (206, b"small")
        assert len(registry.requests) == sent  # no request: from memory
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_a_blob_read_whole_once_is_kept_a_ranged_or_large_one_is_not() -> None:
    registry = Registry()
    small, large = b"s" * 100, b"L" * 300
    registry.blobs.update({sha(small): small, sha(large): large})
    cache = BlobCache(1 << 20, largest=200)
    client = RegistryClient(BASE, transport=httpx.MockTransport(registry), blob_cache=cache)
    try:
        assert await read(client, sha(small), (0, 9)) == (200, small)  # the mock ignores ranges
        assert cache.get(sha(small)) is None  # a ranged read is not kept
        for _ in range(2):
            assert await read(client, sha(small)) == (200, small)
            assert await read(client, sha(large)) == (200, large)
        assert registry.requests.count(("GET", f"/v2/r/blobs/{sha(small)}")) == 2
        assert registry.requests.count(("GET", f"/v2/r/blobs/{sha(large)}")) == 2
        assert cache.get(sha(small)) == small
        assert cache.get(sha(large)) is None
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_a_refused_push_keeps_nothing() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID"}]})

    cache = BlobCache(1 << 20)
    client = RegistryClient(BASE, transport=httpx.MockTransport(refuse), blob_cache=cache)
    try:
        with pytest.raises(Exception, match="DIGEST_INVALID"):
            await client.push_small_blob("r", b"bytes", sha(b"other"))
        assert len(cache) == 0
    finally:
        await client.aclose()
