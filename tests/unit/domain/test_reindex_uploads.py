"""``reindex`` brings back multipart uploads in flight, row for row, from their record and part
manifests; ended uploads stay gone. The domain functions run over the registry client with an
in-memory registry (per repository: blobs, manifests, tags, catalog) and a real SQLite index,
which is thrown away before the reindex."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.domain import mapping, multipart, resumable
from gateway.domain.buckets import create_bucket, delete_bucket
from gateway.domain.objects import NO_WRITE_CONDITIONS, NewObject
from gateway.domain.reindex import reindex
from gateway.domain.store import Store
from gateway.domain.supply.wing import SupplyChainWing
from gateway.index.schema import parts, uploads
from gateway.index.store import SqlIndex
from gateway.registry.client import INDEX_MEDIA_TYPE, RegistryClient
from tests.unit.registry.test_client import BASE, chunks

pytestmark = pytest.mark.anyio
ROUTE = re.compile(r"/v2/(?P<repo>.+)/(?P<kind>manifests|blobs|tags|referrers)/(?P<rest>.*)")
PART = 5 * 1024**2


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    """An OCI registry in memory, repository by repository, as the gateway uses one."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.manifests: dict[tuple[str, str], bytes] = {}
        self.tags: dict[tuple[str, str], str] = {}
        self.sessions: dict[str, tuple[str, bytes]] = {}

    def tagged(self, prefix: str) -> set[str]:
        return {tag for _, tag in self.tags if tag.startswith(prefix)}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/_catalog":
            names = sorted({repo for repo, _ in self.manifests})
            return httpx.Response(200, json={"repositories": names})
        if path.startswith("/upload/"):
            return self._session(request, path.rsplit("/", 1)[1])
        route = ROUTE.fullmatch(path)
        assert route is not None, request
        repo, kind, rest = route["repo"], route["kind"], route["rest"]
        if kind == "tags":
            found = sorted(tag for name, tag in self.tags if name == repo)
            return httpx.Response(200, json={"name": repo, "tags": found})
        if kind == "referrers":
            index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
            return httpx.Response(200, json=index, headers={"Content-Type": INDEX_MEDIA_TYPE})
        if kind == "blobs":
            return self._blob(request, repo, rest)
        return self._manifest(request, repo, rest)

    def _blob(self, request: httpx.Request, repo: str, rest: str) -> httpx.Response:
        if rest == "uploads/":
            digest = request.url.params.get("digest")
            if digest is not None:
                assert sha256(request.content) == digest
                self.blobs[(repo, digest)] = request.content
                return httpx.Response(201)
            number = str(len(self.sessions))
            self.sessions[number] = (repo, b"")
            return httpx.Response(202, headers={"Location": f"{BASE}/upload/{number}"})
        found = (repo, rest) in self.blobs
        return httpx.Response(200 if found else 404)

    def _session(self, request: httpx.Request, number: str) -> httpx.Response:
        repo, data = self.sessions[number]
        data += request.content
        self.sessions[number] = (repo, data)
        if request.method == "PATCH":
            return httpx.Response(202, headers={"Location": f"{BASE}/upload/{number}"})
        digest = request.url.params["digest"]
        assert sha256(data) == digest
        self.blobs[(repo, digest)] = data
        return httpx.Response(201)

    def _manifest(self, request: httpx.Request, repo: str, reference: str) -> httpx.Response:
        if request.method == "PUT":
            body = request.content
            for layer in [json.loads(body)["config"], *json.loads(body)["layers"]]:
                assert (repo, layer["digest"]) in self.blobs, "manifest names a missing blob"
            digest = sha256(body)
            self.manifests[(repo, digest)] = body
            if not reference.startswith("sha256:"):
                self.tags[(repo, reference)] = digest
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        digest = self.tags.get((repo, reference), reference)
        if request.method == "DELETE":
            if self.manifests.pop((repo, digest), None) is None:
                return httpx.Response(404)
            for key, target in list(self.tags.items()):
                if key[0] == repo and target == digest:
                    del self.tags[key]
            return httpx.Response(202)
        body = self.manifests.get((repo, digest))
        if body is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        return httpx.Response(200, content=body, headers={"Docker-Content-Digest": digest})


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[Store, Registry, Path]]:
    fake = Registry()
    client = RegistryClient(BASE, transport=httpx.MockTransport(fake))
    index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp_path / 'before.db'}")
    try:
        yield Store(registry=client, index=index, supply=SupplyChainWing()), fake, tmp_path
    finally:
        await index.close()
        await client.aclose()


async def rows(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every column of the live uploads' rows and of the parts, in key order."""
    engine = store.index._engine
    async with engine.connect() as conn:
        found = await conn.execute(uploads.select().order_by(uploads.c.upload_id))
        ups = [dict(row._mapping) for row in found]
        found = await conn.execute(parts.select().order_by(parts.c.upload_id, parts.c.part_number))
        return ups, [dict(row._mapping) for row in found]


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


async def put(store: Store, upload: str, number: int, data: bytes, key: str = "two") -> str:
    new = NewObject({}, {}, checksum_algorithms=("CRC32",))
    part, _ = await multipart.upload_part(
        store, "bkt", key, upload, number, chunks(data), len(data), new
    )
    return part.etag


async def start(store: Store, key: str, **kw: Any) -> str:
    new = NewObject(headers={"Content-Type": "text/x-test", "Cache-Control": "no-store"}, **kw)
    return (await multipart.create_multipart_upload(store, "bkt", key, new, "CRC32")).upload_id


async def complete(store: Store, key: str, upload: str, etags: list[str]) -> multipart.Completed:
    requested = [multipart.RequestedPart(n, etag) for n, etag in enumerate(etags, 1)]
    return await multipart.complete_multipart_upload(
        store,
        "bkt",
        key,
        upload,
        requested,
        conditions=NO_WRITE_CONDITIONS,
        declared={},
        min_part_size=PART,
    )


async def test_live_uploads_come_back_row_for_row_and_can_be_completed(
    world: tuple[Store, Registry, Path],
) -> None:
    store, fake, tmp = world
    await create_bucket(store, "bkt")
    await create_bucket(store, "doomed")
    one, two = b"a" * PART, b"b" * PART
    live = await start(store, "dir/two", metadata={"colour": "blau", "n": "ü"})
    etags = [await put(store, live, 1, one, "dir/two"), await put(store, live, 2, two, "dir/two")]
    await put(store, live, 2, two, "dir/two")  # sent again: the tag moves, one part row
    empty = await start(store, "no-parts", metadata={})
    done = await start(store, "done", metadata={})
    await complete(store, "done", done, [await put(store, done, 1, b"x", "done")])
    aborted = await start(store, "gone", metadata={})
    await put(store, aborted, 1, b"y", "gone")
    await multipart.abort_multipart_upload(store, "bkt", "gone", aborted)
    tus = await resumable.start(store, "bkt", "tus", 10, NewObject({}, {"t": "1"}))
    await resumable.append(store, tus.upload.upload_id, 0, chunks(b"0123"), 4, NewObject({}, {}))
    in_doomed = await multipart.create_multipart_upload(store, "doomed", "k", NewObject({}, {}))
    await delete_bucket(store, "doomed")
    before = await rows(store)
    assert fake.tagged("u-") == {mapping.upload_tag(u) for u in (live, empty, tus.upload.upload_id)}
    assert mapping.upload_tag(in_doomed.upload_id) not in fake.tagged("u-")

    await store.index.close()
    store.index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp / 'after.db'}")
    report = await reindex(store)
    assert (report.uploads, report.parts) == (3, 3)
    after = await rows(store)
    live_before = [row for row in before[0] if row["completed_ms"] is None]
    assert after == (live_before, before[1])
    assert [u.upload_id for u in await store.index.list_uploads("bkt", "", "", "", 10)] == [
        live,
        empty,
        tus.upload.upload_id,
    ]
    assert await store.index.get_upload(done, live=False) is None  # index only: not rebuilt
    assert await store.index.get_upload(aborted, live=False) is None
    assert (await resumable.progress(store, tus.upload.upload_id)).offset == 4

    three = b"c" * 7
    etags.append(await put(store, live, 3, three, "dir/two"))
    completed = await complete(store, "dir/two", live, etags)
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in (one, two, three))
    assert completed.etag == f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-3"'
    whole = b"".join(base64.b64decode(crc32(p)) for p in (one, two, three))
    assert completed.checksums == {"CRC32": crc32(whole) + "-3"}
    record = await store.index.get_object("bkt", "dir/two")
    assert record is not None
    assert record.metadata == {"colour": "blau", "n": "ü"}
    assert record.headers == {"Content-Type": "text/x-test", "Cache-Control": "no-store"}
    assert mapping.upload_tag(live) not in fake.tagged("u-")  # released with its parts
    assert not any(tag.startswith(f"p-{live}-") for tag in fake.tagged("p-"))


async def test_stray_and_leftover_manifests_are_skipped(
    world: tuple[Store, Registry, Path],
) -> None:
    """A record under another upload's tag, or parts whose record is gone, rebuild nothing."""
    store, fake, tmp = world
    await create_bucket(store, "bkt")
    kept = await start(store, "k", metadata={})
    await put(store, kept, 1, b"kept", "k")
    orphan = await start(store, "k", metadata={})
    await put(store, orphan, 1, b"orphan", "k")
    repository = mapping.locate("s3", "bkt", "k").repository
    record = fake.tags[(repository, mapping.upload_tag(orphan))]
    moved = mapping.upload_tag("f" * 36)  # the same record under a tag that is not its own
    fake.tags[(repository, moved)] = record
    del fake.tags[(repository, mapping.upload_tag(orphan))]

    await store.index.close()
    store.index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp / 'after.db'}")
    report = await reindex(store)
    assert (report.uploads, report.parts, report.skipped) == (1, 1, 1)
    assert [u.upload_id for u in await store.index.list_uploads("bkt", "", "", "", 10)] == [kept]
    assert await store.index.list_parts(orphan) == []


async def test_reindex_over_a_kept_index_keeps_completed_answers(
    world: tuple[Store, Registry, Path],
) -> None:
    """Completed uploads are index-only: a reindex over the same database keeps their answer
    (a repeated Complete answers the same), and a record Complete had not deleted yet does
    not bring the upload back as live."""
    store, fake, _ = world
    await create_bucket(store, "bkt")
    live = await start(store, "k", metadata={})
    await put(store, live, 1, b"1", "k")
    done = await start(store, "d", metadata={})
    etag = await put(store, done, 1, b"2", "d")
    record = mapping.upload_manifest(await store.index.get_upload(done) or pytest.fail("no upload"))
    first = await complete(store, "d", done, [etag])
    repository = mapping.locate("s3", "bkt", "d").repository
    fake.manifests[(repository, mapping.manifest_digest(record))] = record  # a crash left it
    fake.tags[(repository, mapping.upload_tag(done))] = mapping.manifest_digest(record)
    before = await rows(store)
    report = await reindex(store)
    assert report.uploads == 2  # read from the registry; the completed row wins in the index
    assert await rows(store) == before
    assert await complete(store, "d", done, [etag]) == first
