"""Referrers other tools attach are discovered: listing (and a fetch of an unknown digest) asks
the registry, reads the manifests the index does not know, records those of a kind; anything
unreadable is skipped and a registry that cannot answer leaves the list to the index. Over the
registry client with a fake registry (referrers API or fallback tag) and a real SQLite index."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.domain import mapping
from gateway.domain.errors import NoSuchReferrer
from gateway.domain.store import Store
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply import referrers
from gateway.domain.supply.documents import predicate_type_of
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.values import BucketRecord
from gateway.index.store import SqlIndex
from gateway.registry.client import RegistryClient
from tests.fixtures import supply_chain as docs
from tests.unit.domain.test_listing import WHEN, record
from tests.unit.registry.test_client import BASE, Recorder, chunks
from tests.unit.registry.test_referrers import SUBJECT, FakeRegistry, digest

pytestmark = pytest.mark.anyio
BUCKET, KEY = "rel", "app/1.0/app.tar.gz"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


class Registry(FakeRegistry):
    """The fake registry, with blobs, and referrers look-ups that can fail."""

    def __init__(self, referrers_api: bool) -> None:
        super().__init__(referrers_api)
        self.blobs: dict[str, bytes] = {}
        self.referrers_status: int | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/blobs/uploads/"):
            return httpx.Response(202, headers={"Location": f"{BASE}/upload/1"})
        if path == "/upload/1":
            self.blobs[request.url.params["digest"]] = request.content
            return httpx.Response(201)
        if "/blobs/" in path:
            found = self.blobs.get(path.rsplit("/", 1)[1])
            if found is None:
                return httpx.Response(404)
            if request.method == "HEAD":
                return httpx.Response(200)
            return httpx.Response(200, content=chunks(found))
        if self.referrers_status is not None and (
            "/referrers/" in path or path.endswith("/manifests/sha256-" + SUBJECT[7:])
        ):
            return httpx.Response(self.referrers_status)
        return super().__call__(request)


@pytest.fixture(params=[True, False], ids=["referrers-api", "referrers-tag"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, Registry, Recorder]]:
    fake = Registry(referrers_api=request.param)
    recorder = Recorder(fake)
    client = RegistryClient(BASE, transport=httpx.MockTransport(recorder))
    index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    target = dataclasses.replace(record(BUCKET, KEY), manifest_digest=SUBJECT)
    fake.manifests[SUBJECT] = json.dumps({"mediaType": MANIFEST, "layers": []}).encode()
    await index.replace_all([BucketRecord(name=BUCKET, created=WHEN)], [target])
    try:
        yield Store(registry=client, index=index, supply=SupplyChainWing()), fake, recorder
    finally:
        await index.close()
        await client.aclose()


REPOSITORY = mapping.locate("s3", BUCKET, KEY).repository


async def attach_outside(
    store: Store,
    fake: Registry,
    artifact_type: str,
    document: bytes,
    annotations: dict[str, str] | None = None,
    layer_type: str | None = None,
) -> str:
    """Push a referrer as another tool would (no row in the index); returns its digest."""
    blob = digest(document)
    fake.blobs[blob] = document
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": artifact_type,
        "config": {
            "mediaType": mapping.EMPTY_MEDIA_TYPE,
            "digest": mapping.EMPTY_DIGEST,
            "size": 2,
        },
        "layers": [
            {"mediaType": layer_type or artifact_type, "digest": blob, "size": len(document)}
        ],
        "subject": {"mediaType": MANIFEST, "digest": SUBJECT, "size": 977},
        "annotations": annotations or {},
    }
    body = json.dumps(manifest).encode()
    await store.registry.push_referrer(REPOSITORY, body)
    return digest(body)


def manifest_reads(recorder: Recorder, wanted: str) -> int:
    return sum(
        1 for method, path in recorder.sent() if method == "GET" and path.endswith(f"/{wanted}")
    )


async def test_listing_records_what_other_tools_attached(
    world: tuple[Store, Registry, Recorder],
) -> None:
    store, fake, recorder = world
    sbom = docs.dump(docs.cyclonedx())
    made = await attach_outside(
        store,
        fake,
        "application/vnd.cyclonedx+json",
        sbom,
        {mapping.CREATED: "2026-01-02T03:04:05Z"},
        layer_type="application/vnd.oci.image.layer.v1.tar",
    )
    [found] = await referrers.list_referrers(store, BUCKET, KEY)
    assert (found.digest, found.kind, found.subject) == (made, "sbom", SUBJECT)
    assert found.media_type == found.artifact_type == "application/vnd.cyclonedx+json"
    assert (found.blob_digest, found.size) == (digest(sbom), len(sbom))
    assert mapping.format_time(found.created) == "2026-01-02T03:04:05.000Z"
    # Recorded in the index: the counts on GET/HEAD (one index query) see it now.
    assert await store.index.list_referrers(BUCKET, KEY, SUBJECT) == [found]
    counted = await store.index.get_object_counted(BUCKET, KEY, types.KINDS)
    assert counted is not None
    assert counted[1] == {"signature": 0, "sbom": 1, "attestation": 0}
    # A later list does not read that manifest again.
    assert manifest_reads(recorder, made) == 1
    assert await referrers.list_referrers(store, BUCKET, KEY) == [found]
    assert manifest_reads(recorder, made) == 1
    document = await referrers.fetch(store, BUCKET, KEY, made)
    assert document.body == sbom


async def test_an_attestation_without_annotations_is_read_for_its_predicate(
    world: tuple[Store, Registry, Recorder],
) -> None:
    store, fake, _ = world
    envelope = docs.dump(docs.dsse_envelope(KEY, b"content"))
    made = await attach_outside(
        store, fake, types.IN_TOTO, envelope, layer_type=types.DSSE_ENVELOPE
    )
    [found] = await referrers.list_referrers(store, BUCKET, KEY, kind="attestation")
    assert found.digest == made
    assert found.predicate_type == "https://slsa.dev/provenance/v1"


async def test_what_cannot_be_read_or_is_of_no_kind_is_skipped(
    world: tuple[Store, Registry, Recorder],
) -> None:
    store, fake, recorder = world
    bundle = docs.dump(docs.sigstore_bundle(b"content"))
    kept = await attach_outside(store, fake, BUNDLE, bundle)
    gone = await attach_outside(store, fake, BUNDLE, bundle + b" ")
    del fake.manifests[gone]  # listed by the registry, but its manifest is missing
    liar = await attach_outside(store, fake, BUNDLE, bundle + b"  ")
    fake.manifests[liar] = fake.manifests[kept]  # answers another manifest than asked for
    notation = await attach_outside(
        store,
        fake,
        "application/vnd.cncf.notary.signature",
        b"{}",
        layer_type="application/jose+json",
    )
    found = await referrers.list_referrers(store, BUCKET, KEY)
    assert [item.digest for item in found] == [kept]
    assert found[0].kind == "signature"
    assert manifest_reads(recorder, notation) == 0  # its artifact type says enough
    with pytest.raises(NoSuchReferrer):
        await referrers.fetch(store, BUCKET, KEY, notation)


@pytest.mark.parametrize("status", [503, 401])
async def test_a_registry_that_cannot_answer_leaves_the_list_to_the_index(
    world: tuple[Store, Registry, Recorder], status: int
) -> None:
    store, fake, _ = world
    attached = await referrers.attach(
        store, BUCKET, KEY, "signature", BUNDLE, docs.dump(docs.sigstore_bundle(b"content"))
    )
    await attach_outside(store, fake, "application/spdx+json", docs.dump(docs.spdx()))
    fake.referrers_status = status
    assert await referrers.list_referrers(store, BUCKET, KEY) == [attached]
    fake.referrers_status = None
    assert [item.kind for item in await referrers.list_referrers(store, BUCKET, KEY)] == [
        "signature",
        "sbom",
    ]


async def test_nothing_is_recorded_for_a_version_that_is_no_longer_current(
    world: tuple[Store, Registry, Recorder],
) -> None:
    store, fake, _ = world
    await attach_outside(store, fake, "application/spdx+json", docs.dump(docs.spdx()))
    current = await store.index.get_object(BUCKET, KEY)
    assert current is not None
    await store.index.put_object(dataclasses.replace(current, manifest_digest="sha256:" + "0" * 64))
    assert await referrers.discover(store, current) == []
    assert await store.index.list_referrers(BUCKET, KEY, SUBJECT) == []


async def test_a_referrer_removed_through_the_api_is_not_brought_back(
    world: tuple[Store, Registry, Recorder],
) -> None:
    store, fake, _ = world
    made = await attach_outside(store, fake, "application/spdx+json", docs.dump(docs.spdx()))
    await referrers.remove(store, BUCKET, KEY, made)  # discovered on the miss, then removed
    assert made not in fake.manifests
    assert await referrers.list_referrers(store, BUCKET, KEY) == []


def test_predicate_type_of_attestations_found_in_the_registry() -> None:
    envelope = docs.dsse_envelope(KEY, b"content")
    assert predicate_type_of(docs.dump(envelope)) == "https://slsa.dev/provenance/v1"
    urlsafe = {**envelope, "payload": envelope["payload"].replace("+", "-").rstrip("=")}
    assert predicate_type_of(docs.dump(urlsafe)) == "https://slsa.dev/provenance/v1"
    bundle = {"mediaType": BUNDLE, "dsseEnvelope": envelope}
    assert predicate_type_of(docs.dump(bundle)) == "https://slsa.dev/provenance/v1"
    statement = docs.statement(KEY, b"content")
    assert predicate_type_of(docs.dump(statement)) == "https://slsa.dev/provenance/v1"
    assert predicate_type_of(b"not json") is None
    assert predicate_type_of(json.dumps({"payload": "%%%"}).encode()) is None
    assert predicate_type_of(docs.dump({"payload": base64.b64encode(b"[1]").decode()})) is None
