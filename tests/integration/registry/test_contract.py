"""Contract tests (R14.4): every call the gateway makes to the registry, against the real Zot
the session runs, with the answers the gateway relies on, errors included. The unit tests of
``RegistryClient`` pin the requests it sends; these pin what Zot answers to them.

Zot's answers seen here decide the error table in gateway/registry/client.py (``_error``):
unknown blob, manifest, repository -> RegistryNotFound; bytes that do not match a declared
digest -> RegistryDigestInvalid; a manifest over Zot's limit, or naming a blob it does not
have, or pushed under a digest not its own -> RegistryRejected (an S3 InternalError: the
gateway never sends one); Zot says MANIFEST_INVALID for all three. Auth failures come as one
bare error object, not the spec's ``{"errors": [...]}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.domain import mapping
from gateway.domain.ports.registry import (
    RegistryDigestInvalid,
    RegistryNotFound,
    RegistryRejected,
)
from gateway.registry import client as client_module
from gateway.registry.client import INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, RegistryClient
from tests.fixtures.registries import RunningRegistry

pytestmark = pytest.mark.anyio
SBOM_TYPE = "application/vnd.cyclonedx+json"
SIGNATURE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def zot_only(registry: RunningRegistry) -> None:
    """These pin Zot's answers; the stand-in registry answers some of them differently."""
    assert registry.kind == "zot", "the contract tests run against Zot"


@pytest.fixture
async def client(registry: RunningRegistry) -> AsyncIterator[RegistryClient]:
    made = RegistryClient(registry.url, auth=registry.auth)
    yield made
    await made.aclose()


@pytest.fixture
def repository() -> str:
    return f"contract/{uuid.uuid4().hex[:12]}"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def manifest(layers: list[bytes], **extra: Any) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": mapping.OBJECT_ARTIFACT_TYPE,
        "config": {
            "mediaType": mapping.EMPTY_MEDIA_TYPE,
            "digest": mapping.EMPTY_DIGEST,
            "size": 2,
        },
        "layers": [
            {"mediaType": "application/octet-stream", "digest": sha256(layer), "size": len(layer)}
            for layer in layers
        ],
        **extra,
    }
    return json.dumps(document, separators=(",", ":")).encode()


async def pushed_object(client: RegistryClient, repository: str, data: bytes, tag: str) -> str:
    await client.ensure_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    await client.push_small_blob(repository, data, sha256(data))
    return await client.push_manifest(repository, tag, manifest([data]), MANIFEST_MEDIA_TYPE)


async def read(client: RegistryClient, repository: str, digest: str, span=None) -> bytes:  # type: ignore[no-untyped-def]
    async with client.open_blob(repository, digest, span) as blob:
        return b"".join([piece async for piece in blob])


# -- access: the gateway's credentials, nobody else ------------------------------------------


async def test_ping_with_the_gateways_credentials(client: RegistryClient) -> None:
    await client.ping()


@pytest.mark.parametrize("auth", [None, ("artifact-store-gateway", "wrong"), ("intruder", "x")])
def test_zot_refuses_a_push_without_the_gateways_credentials(
    registry: RunningRegistry, auth: tuple[str, str] | None
) -> None:
    with httpx.Client(base_url=registry.url, auth=auth, timeout=10) as direct:
        assert direct.get("/v2/").status_code == 401
        started = direct.post("/v2/contract/intruder/blobs/uploads/")
        assert started.status_code == 401
        assert started.headers["www-authenticate"].startswith("Basic")
        assert started.json()["code"] == "UNAUTHORIZED"  # one bare error, not {"errors": []}
        body = manifest([])
        put = direct.put(
            "/v2/contract/intruder/manifests/latest",
            content=body,
            headers={"Content-Type": MANIFEST_MEDIA_TYPE},
        )
        assert put.status_code == 401
        assert direct.get("/v2/_catalog").status_code == 401
        assert direct.get("/metrics").status_code == 401
    with registry.http() as gateway:
        assert gateway.get("/v2/contract/intruder/tags/list").status_code == 404  # nothing landed
        metrics = gateway.get("/metrics")
        assert metrics.status_code == 200
        assert "zot_" in metrics.text  # the metrics extension is on


async def test_a_wrong_password_is_rejected_not_unavailable(registry: RunningRegistry) -> None:
    wrong = RegistryClient(registry.url, auth=("artifact-store-gateway", "wrong"))
    try:
        with pytest.raises(RegistryRejected) as refused:
            await wrong.ping()
        assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED")
        with pytest.raises(RegistryRejected):
            await read(wrong, "contract/none", mapping.EMPTY_DIGEST)
    finally:
        await wrong.aclose()


# -- blobs ------------------------------------------------------------------------------------


def test_zot_takes_a_blob_in_the_opening_post(registry: RunningRegistry, repository: str) -> None:
    """The spec's optional single-request upload, which the client uses when it knows the
    digest up front (a signed payload): Zot answers 201 and hashes while it writes."""
    data = b"single request"
    with registry.http() as direct:
        answer = direct.post(
            f"/v2/{repository}/blobs/uploads/",
            params={"digest": sha256(data)},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert answer.status_code == 201
        assert answer.headers["location"].endswith(f"/blobs/{sha256(data)}")
        wrong = direct.post(
            f"/v2/{repository}/blobs/uploads/",
            params={"digest": sha256(b"other")},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert wrong.status_code == 400
        assert wrong.json()["errors"][0]["code"] == "DIGEST_INVALID"


async def test_blob_with_its_digest_up_front_goes_in_one_request(
    client: RegistryClient, repository: str
) -> None:
    data = b"one request upload " * 1000
    digest = await client.push_blob(
        repository, chunks(data, 4096), len(data), digest=sha256(data), final_digest=lambda: ""
    )
    assert digest == sha256(data)
    assert await client.blob_exists(repository, digest)
    assert await read(client, repository, digest) == data


async def test_blob_without_its_digest_is_patched_then_closed(
    client: RegistryClient, repository: str
) -> None:
    data = b"streamed, digest known at the end"
    digest = await client.push_blob(
        repository, chunks(data), len(data), digest=None, final_digest=lambda: sha256(data)
    )
    assert digest == sha256(data)
    assert await read(client, repository, digest) == data


@pytest.mark.parametrize("size", [0, 1, 3 * 1024 * 1024 + 7])
async def test_blob_of_unknown_length_is_one_streamed_patch(
    client: RegistryClient, repository: str, size: int
) -> None:
    """A plain chunked S3 body: no Content-Length or Content-Range, so Zot takes the PATCH
    as a streamed upload; a digest known up front (a signed payload) closes it and is checked
    there, a wrong one refused as DIGEST_INVALID."""
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    digest = await client.push_blob(
        repository, chunks(data, 65536), None, digest=None, final_digest=lambda: sha256(data)
    )
    assert digest == sha256(data)
    assert await read(client, repository, digest) == data
    declared = await client.push_blob(
        repository, chunks(data, 65536), None, digest=digest, final_digest=lambda: digest
    )
    assert declared == digest
    other = sha256(data + b"!")
    with pytest.raises(RegistryDigestInvalid) as refused:
        await client.push_blob(
            repository, chunks(data, 65536), None, digest=other, final_digest=lambda: other
        )
    assert refused.value.code == "DIGEST_INVALID"
    assert not await client.blob_exists(repository, other)


async def test_blob_whose_bytes_do_not_match_the_digest_is_refused(
    client: RegistryClient, repository: str
) -> None:
    data, other = b"the bytes sent", b"what was declared"
    with pytest.raises(RegistryDigestInvalid) as refused:
        await client.push_blob(
            repository, chunks(data), len(data), digest=sha256(other), final_digest=lambda: ""
        )
    assert refused.value.code == "DIGEST_INVALID"
    with pytest.raises(RegistryDigestInvalid):
        await client.push_blob(
            repository, chunks(data), len(data), digest=None, final_digest=lambda: sha256(other)
        )
    assert not await client.blob_exists(repository, sha256(other))
    assert not await client.blob_exists(repository, sha256(data))


async def test_ranges_and_unknown_blobs(client: RegistryClient, repository: str) -> None:
    data = bytes(range(256)) * 64
    await client.push_small_blob(repository, data, sha256(data))
    async with client.open_blob(repository, sha256(data), (100, 4195)) as blob:
        assert blob.status == 206
        assert blob.length == 4096
        assert b"".join([piece async for piece in blob]) == data[100:4196]
    missing = sha256(b"never stored")
    assert not await client.blob_exists(repository, missing)
    with pytest.raises(RegistryNotFound) as unknown:
        await read(client, repository, missing)
    assert unknown.value.code == "BLOB_UNKNOWN"
    with pytest.raises(RegistryNotFound):
        await read(client, "contract/no-such-repository", missing)


async def test_ensure_blob_at_once_from_many_callers(
    client: RegistryClient, repository: str
) -> None:
    await asyncio.gather(
        *(
            client.ensure_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
            for _ in range(8)
        )
    )
    assert await client.blob_exists(repository, mapping.EMPTY_DIGEST)


async def test_cross_repository_mount(client: RegistryClient, repository: str) -> None:
    data = b"mounted, not copied"
    await client.push_small_blob(repository, data, sha256(data))
    assert await client.mount_blob(f"{repository}-copy", sha256(data), repository)
    assert await read(client, f"{repository}-copy", sha256(data)) == data
    # From a repository that does not hold it: Zot opens an upload instead, which is cancelled.
    other = sha256(b"nowhere")
    assert not await client.mount_blob(f"{repository}-copy", other, repository)
    assert await client.mount_blob(repository, sha256(data), repository)  # same: a HEAD


# -- manifests --------------------------------------------------------------------------------


async def test_manifest_push_get_delete(client: RegistryClient, repository: str) -> None:
    data = b"an object"
    digest = await pushed_object(client, repository, data, "o-1")
    body = manifest([data])
    assert digest == sha256(body)
    fetched = await client.get_manifest(repository, "o-1")
    assert (fetched.body, fetched.digest, fetched.media_type) == (body, digest, MANIFEST_MEDIA_TYPE)
    assert (await client.get_manifest(repository, digest)).body == body
    await client.delete_manifest(repository, digest)
    with pytest.raises(RegistryNotFound) as gone:
        await client.get_manifest(repository, "o-1")
    assert gone.value.code == "MANIFEST_UNKNOWN"
    await client.delete_manifest(repository, digest)  # already gone: not an error


async def test_manifest_errors(client: RegistryClient, repository: str) -> None:
    await client.ensure_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    with pytest.raises(RegistryNotFound) as unknown_repository:
        await client.get_manifest("contract/never-pushed", "latest")
    assert unknown_repository.value.code == "NAME_UNKNOWN"
    # Naming a blob Zot does not have.
    with pytest.raises(RegistryRejected) as blob_unknown:
        await client.push_manifest(
            repository, "missing-layer", manifest([b"not uploaded"]), MANIFEST_MEDIA_TYPE
        )
    assert (blob_unknown.value.status, blob_unknown.value.code) == (400, "MANIFEST_INVALID")
    # Pushed by a digest that is not its own: Zot says MANIFEST_INVALID, not DIGEST_INVALID.
    body = manifest([])
    with pytest.raises(RegistryRejected) as wrong_digest:
        await client.push_manifest(repository, sha256(b"other"), body, MANIFEST_MEDIA_TYPE)
    assert (wrong_digest.value.status, wrong_digest.value.code) == (400, "MANIFEST_INVALID")
    # Over Zot's 4 MiB limit for a manifest.
    huge = manifest([], annotations={"padding": "x" * (4 * 1024 * 1024 + 1)})
    with pytest.raises(RegistryRejected) as too_large:
        await client.push_manifest(repository, "huge", huge, MANIFEST_MEDIA_TYPE)
    assert (too_large.value.status, too_large.value.code) == (413, "MANIFEST_INVALID")


# -- referrers --------------------------------------------------------------------------------


async def test_referrers_api(
    client: RegistryClient, repository: str, registry: RunningRegistry
) -> None:
    data = b"signed object"
    subject = await pushed_object(client, repository, data, "o-signed")
    size = len(manifest([data]))
    made = {}
    for artifact_type, document in ((SBOM_TYPE, b"{}sbom"), (SIGNATURE_TYPE, b"{}sig")):
        await client.push_small_blob(repository, document, sha256(document))
        body = manifest(
            [document],
            artifactType=artifact_type,
            subject={"mediaType": MANIFEST_MEDIA_TYPE, "digest": subject, "size": size},
        )
        pushed = await client.push_referrer(repository, body)
        assert pushed.subject == subject  # Zot indexes referrers itself: no fallback tag
        assert pushed.digest == sha256(body)
        made[artifact_type] = pushed.digest
    with pytest.raises(RegistryNotFound):
        await client.get_manifest(repository, client_module.referrers_tag(subject))
    listed = await client.referrers(repository, subject)
    assert {item["digest"] for item in listed} == set(made.values())
    assert {item["artifactType"] for item in listed} == {SBOM_TYPE, SIGNATURE_TYPE}
    assert all(item["mediaType"] == MANIFEST_MEDIA_TYPE for item in listed)
    only = await client.referrers(repository, subject, SBOM_TYPE)
    assert [item["digest"] for item in only] == [made[SBOM_TYPE]]
    async with httpx.AsyncClient(base_url=registry.url, auth=registry.auth) as direct:
        answer = await direct.get(  # the filter is Zot's, not the client's
            f"/v2/{repository}/referrers/{subject}",
            params={"artifactType": SBOM_TYPE},
            headers={"Accept": INDEX_MEDIA_TYPE},
        )
        assert answer.headers["oci-filters-applied"] == "artifactType"
        assert answer.headers["content-type"] == INDEX_MEDIA_TYPE
    await client.remove_referrer(repository, subject, made[SBOM_TYPE])
    remaining = await client.referrers(repository, subject)
    assert [item["digest"] for item in remaining] == [made[SIGNATURE_TYPE]]
    assert await client.referrers(repository, sha256(b"no subject")) == []
    assert await client.referrers("contract/never-pushed", subject) == []


# -- listings ---------------------------------------------------------------------------------


async def test_tags_and_catalog_page_through_link_headers(
    client: RegistryClient,
    repository: str,
    registry: RunningRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_module, "PAGE", 2)
    tags = [f"o-{n}" for n in range(5)]
    for tag in tags:
        await pushed_object(client, repository, tag.encode(), tag)
    assert [tag async for tag in client.tags(repository)] == sorted(tags)
    assert [tag async for tag in client.tags("contract/never-pushed")] == []
    await client.ensure_blob(f"{repository}-b", mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    await client.push_manifest(f"{repository}-b", "t", manifest([]), MANIFEST_MEDIA_TYPE)
    monkeypatch.setattr(client_module, "PAGE", 50)  # the session's registry has many
    paged = [name async for name in client.catalog()]
    with registry.http() as direct:
        whole = direct.get("/v2/_catalog", params={"n": 100_000}).json()["repositories"]
    # Zot's own order ('a/b' before 'a-c/b': by path segment), each name once.
    assert paged == whole
    assert len(set(paged)) == len(paged)
    assert {repository, f"{repository}-b"} <= set(paged)
