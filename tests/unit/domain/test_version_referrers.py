"""Referrers of a version named by its ``versionId``: attached, listed, fetched, removed and
discovered with that version's manifest as their subject, apart from the current version's;
an unknown version, a delete marker and a malformed id are refused; the verdict (what the
require-signature gate of ``GET ?versionId=`` asks) is judged by the version's own referrers.
Over the registry client with test_discovery's fake registry and a real SQLite index."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gateway.domain import mapping
from gateway.domain.errors import (
    DeleteMarkerVersion,
    InvalidArgument,
    NoSuchReferrer,
    NoSuchVersion,
    NotSigned,
)
from gateway.domain.store import Store
from gateway.domain.supply import referrers, trust, verify
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.values import BucketRecord
from gateway.domain.versions import delete_marker
from gateway.index.store import SqlIndex
from gateway.registry.client import RegistryClient
from tests.fixtures import supply_chain as docs
from tests.unit.domain.test_discovery import (
    BUCKET,
    BUNDLE,
    KEY,
    MANIFEST,
    REPOSITORY,
    Registry,
)
from tests.unit.domain.test_listing import WHEN, record
from tests.unit.domain.test_verify import pem
from tests.unit.registry.test_client import BASE, Recorder
from tests.unit.registry.test_referrers import SUBJECT, digest

pytestmark = pytest.mark.anyio
OLDER = "sha256:" + "cd" * 32  # the noncurrent version's manifest
CURRENT_ID, OLDER_ID, MARKER_ID = "a" * 32, "b" * 32, "c" * 32
CONTENT = KEY.encode()  # what test_listing.record stores under the key
SPDX = "application/spdx+json"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Store, Registry]]:
    """The key with three versions, newest first: current (manifest SUBJECT), a delete
    marker, an older object version (manifest OLDER)."""
    fake = Registry(referrers_api=True)
    client = RegistryClient(BASE, transport=httpx.MockTransport(Recorder(fake)))
    index = await SqlIndex.open(f"sqlite+aiosqlite:///{tmp_path / 'index.db'}")
    current = dataclasses.replace(
        record(BUCKET, KEY), manifest_digest=SUBJECT, version_id=CURRENT_ID
    )
    older = dataclasses.replace(
        current,
        manifest_digest=OLDER,
        version_id=OLDER_ID,
        last_modified=WHEN - timedelta(hours=2),
    )
    marker = dataclasses.replace(
        delete_marker(BUCKET, KEY, WHEN - timedelta(hours=1)), version_id=MARKER_ID
    )
    for subject in (SUBJECT, OLDER):
        fake.manifests[subject] = json.dumps({"mediaType": MANIFEST, "layers": []}).encode()
    await index.replace_all(
        [BucketRecord(name=BUCKET, created=WHEN)], [current], version_records=[marker, older]
    )
    try:
        yield Store(registry=client, index=index, supply=SupplyChainWing()), fake
    finally:
        await index.close()
        await client.aclose()


async def test_a_versions_referrers_are_its_own(store: tuple[Store, Registry]) -> None:
    world, fake = store
    sbom = docs.dump(docs.spdx())
    attached = await referrers.attach(world, BUCKET, KEY, "sbom", SPDX, sbom, version=OLDER_ID)
    assert attached.subject == OLDER
    pushed = json.loads(fake.manifests[attached.digest])
    assert pushed["subject"]["digest"] == OLDER  # the registry's referrer names it too
    assert await referrers.list_referrers(world, BUCKET, KEY, version=OLDER_ID) == [attached]
    assert await referrers.list_referrers(world, BUCKET, KEY) == []
    mine = await referrers.attach(world, BUCKET, KEY, "sbom", SPDX, sbom)
    assert mine.subject == SUBJECT
    assert await referrers.list_referrers(world, BUCKET, KEY, version=CURRENT_ID) == [mine]
    assert await referrers.list_referrers(world, BUCKET, KEY, version=OLDER_ID) == [attached]

    fetched = await referrers.fetch(world, BUCKET, KEY, attached.digest, version=OLDER_ID)
    assert fetched.body == sbom
    with pytest.raises(NoSuchReferrer):  # not the current version's
        await referrers.fetch(world, BUCKET, KEY, attached.digest)
    with pytest.raises(NoSuchReferrer):
        await referrers.remove(world, BUCKET, KEY, attached.digest)
    await referrers.remove(world, BUCKET, KEY, attached.digest, version=OLDER_ID)
    assert attached.digest not in fake.manifests
    assert await referrers.list_referrers(world, BUCKET, KEY, version=OLDER_ID) == []
    assert await referrers.list_referrers(world, BUCKET, KEY) == [mine]


async def test_referrers_other_tools_attached_to_a_version_are_discovered(
    store: tuple[Store, Registry],
) -> None:
    world, fake = store
    sbom = docs.dump(docs.spdx())
    fake.blobs[digest(sbom)] = sbom
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": SPDX,
        "config": {
            "mediaType": mapping.EMPTY_MEDIA_TYPE,
            "digest": mapping.EMPTY_DIGEST,
            "size": 2,
        },
        "layers": [{"mediaType": SPDX, "digest": digest(sbom), "size": len(sbom)}],
        "subject": {"mediaType": MANIFEST, "digest": OLDER, "size": 977},
    }
    body = json.dumps(manifest).encode()
    await world.registry.push_referrer(REPOSITORY, body)
    assert await referrers.list_referrers(world, BUCKET, KEY) == []
    [found] = await referrers.list_referrers(world, BUCKET, KEY, version=OLDER_ID)
    assert (found.digest, found.subject, found.kind) == (digest(body), OLDER, "sbom")


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("f" * 32, NoSuchVersion),
        (MARKER_ID, DeleteMarkerVersion),
        ("not-a-version", InvalidArgument),
    ],
    ids=["unknown", "delete-marker", "malformed"],
)
async def test_a_version_that_cannot_have_referrers_is_refused(
    store: tuple[Store, Registry], version: str, error: type[Exception]
) -> None:
    world, fake = store
    before = dict(fake.manifests)
    bundle = docs.dump(docs.sigstore_bundle(CONTENT))
    with pytest.raises(error):
        await referrers.attach(world, BUCKET, KEY, "signature", BUNDLE, bundle, version=version)
    with pytest.raises(error):
        await referrers.list_referrers(world, BUCKET, KEY, version=version)
    with pytest.raises(error):
        await referrers.fetch(world, BUCKET, KEY, SUBJECT, version=version)
    with pytest.raises(error):
        await referrers.remove(world, BUCKET, KEY, SUBJECT, version=version)
    with pytest.raises(error):
        await verify.verify(world, BUCKET, KEY, version=version)
    assert fake.manifests == before  # nothing pushed


async def test_the_gate_of_a_version_asks_for_that_versions_signature(
    store: tuple[Store, Registry],
) -> None:
    world, _ = store
    document = trust.dump_document(
        {
            "require_signature": True,
            "keys": [{"name": "release", "public_key": pem(docs.KEY)}],
        }
    )
    bucket = BucketRecord(name=BUCKET, created=WHEN, settings={trust.TRUST_SETTING: document})
    await world.index.update_bucket(bucket)
    world.buckets.forget(BUCKET)
    older = await world.index.get_version(BUCKET, KEY, OLDER_ID)
    current = await world.index.get_object(BUCKET, KEY)
    assert older is not None
    assert current is not None
    bundle = docs.dump(docs.sigstore_bundle(CONTENT))
    await referrers.attach(world, BUCKET, KEY, "signature", BUNDLE, bundle)  # the current one
    await verify.gate(world, bucket, current)
    with pytest.raises(NotSigned, match="the object has no signature"):
        await verify.gate(world, bucket, older)
    await referrers.attach(world, BUCKET, KEY, "signature", BUNDLE, bundle, version=OLDER_ID)
    await verify.gate(world, bucket, older)
    found = await verify.verify(world, BUCKET, KEY, version=OLDER_ID, fresh=True)
    assert (found.manifest_digest, found.signed) == (OLDER, True)
    assert found.sha256 == hashlib.sha256(CONTENT).hexdigest()
    [signature] = found.signatures
    assert signature.over == "sha256:" + hashlib.sha256(CONTENT).hexdigest()
