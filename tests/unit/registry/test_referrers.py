"""The registry client's referrers: the referrers API where the registry has it, else the
distribution spec's referrers tag schema (read-modify-write of ``sha256-<hex>``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from gateway.registry.client import INDEX_MEDIA_TYPE, RegistryClient
from tests.unit.registry.test_client import BASE, Recorder

pytestmark = pytest.mark.anyio
REPO = "s3/b/aa"
SUBJECT = "sha256:" + "ab" * 32
TAG = "sha256-" + "ab" * 32
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def referrer(artifact_type: str, n: int = 0) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json"},
            "layers": [],
            "subject": {"mediaType": MANIFEST, "digest": SUBJECT, "size": 10},
            "annotations": {"n": str(n)},
        }
    ).encode()


class FakeRegistry:
    """Manifests by reference; ``referrers_api`` says whether it answers the referrers API
    (and OCI-Subject on pushes), as Zot does, or not, as distribution 2.8."""

    def __init__(self, referrers_api: bool) -> None:
        self.referrers_api = referrers_api
        self.manifests: dict[str, bytes] = {}
        self.tags: dict[str, str] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "/referrers/" in path:
            if not self.referrers_api:
                return httpx.Response(404, text="404 page not found")
            found = [
                json.loads(body) | {"digest": ref}
                for ref, body in self.manifests.items()
                if json.loads(body).get("subject", {}).get("digest") == path.rsplit("/", 1)[1]
            ]
            wanted = request.url.params.get("artifactType")
            manifests = [
                {"mediaType": MANIFEST, "digest": m["digest"], "artifactType": m["artifactType"]}
                for m in found
                if not wanted or m["artifactType"] == wanted
            ]
            headers = {"Content-Type": INDEX_MEDIA_TYPE}
            if wanted:
                headers["OCI-Filters-Applied"] = "artifactType"
            return httpx.Response(
                200, json={"schemaVersion": 2, "manifests": manifests}, headers=headers
            )
        reference = path.rsplit("/", 1)[1]
        if request.method == "PUT":
            body = request.content
            key = digest(body)
            self.manifests[key] = body
            if not reference.startswith("sha256:"):
                self.tags[reference] = key
            headers = {"Docker-Content-Digest": key}
            if self.referrers_api and b'"subject"' in body:
                headers["OCI-Subject"] = SUBJECT
            return httpx.Response(201, headers=headers)
        key = self.tags.get(reference, reference)
        if request.method == "GET":
            if key not in self.manifests:
                return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
            return httpx.Response(
                200, content=self.manifests[key], headers={"Docker-Content-Digest": key}
            )
        if request.method == "DELETE":
            if self.manifests.pop(key, None) is None:
                return httpx.Response(404)
            for tag, target in list(self.tags.items()):
                if target == key:
                    del self.tags[tag]  # deleting by digest untags it, as distribution does
            return httpx.Response(202)
        raise AssertionError(request)


def client(fake: FakeRegistry) -> tuple[RegistryClient, Recorder]:
    recorder = Recorder(fake)
    return RegistryClient(BASE, transport=httpx.MockTransport(recorder)), recorder


def fallback_index(fake: FakeRegistry) -> dict[str, Any] | None:
    key = fake.tags.get(TAG)
    return json.loads(fake.manifests[key]) if key else None


async def test_a_registry_with_the_referrers_api_keeps_no_tag() -> None:
    fake = FakeRegistry(referrers_api=True)
    registry, recorder = client(fake)
    body = referrer("application/spdx+json")
    pushed = await registry.push_referrer(REPO, body)
    assert pushed.subject == SUBJECT
    assert recorder.sent() == [("PUT", f"/v2/{REPO}/manifests/{digest(body)}")]
    assert fake.tags == {}
    found = await registry.referrers(REPO, SUBJECT)
    assert [item["digest"] for item in found] == [digest(body)]
    assert await registry.referrers(REPO, SUBJECT, "application/vnd.cyclonedx+json") == []
    await registry.aclose()


async def test_the_fallback_tag_is_kept_without_the_referrers_api() -> None:
    fake = FakeRegistry(referrers_api=False)
    registry, recorder = client(fake)
    first, second = (
        referrer("application/spdx+json", 1),
        referrer("application/vnd.dev.sigstore.bundle.v0.3+json", 2),
    )
    pushed = await registry.push_referrer(REPO, first)
    assert pushed.subject is None
    index = fallback_index(fake)
    assert index is not None
    assert index["mediaType"] == INDEX_MEDIA_TYPE
    assert index["manifests"] == [
        {
            "mediaType": MANIFEST,
            "digest": digest(first),
            "size": len(first),
            "artifactType": "application/spdx+json",
            "annotations": {"n": "1"},
        }
    ]
    first_index = fake.tags[TAG]
    await registry.push_referrer(REPO, second)
    index = fallback_index(fake)
    assert index is not None
    assert [m["digest"] for m in index["manifests"]] == [digest(first), digest(second)]
    assert first_index not in fake.manifests  # the untagged old index was deleted
    await registry.push_referrer(REPO, second)  # the same again: listed once
    assert len((fallback_index(fake) or {})["manifests"]) == 2

    found = await registry.referrers(REPO, SUBJECT)
    assert [item["digest"] for item in found] == [digest(first), digest(second)]
    signatures = await registry.referrers(
        REPO, SUBJECT, "application/vnd.dev.sigstore.bundle.v0.3+json"
    )
    assert [item["digest"] for item in signatures] == [digest(second)]

    recorder.requests.clear()
    await registry.remove_referrer(REPO, SUBJECT, digest(first))
    assert [m["digest"] for m in (fallback_index(fake) or {})["manifests"]] == [digest(second)]
    assert digest(first) not in fake.manifests
    assert recorder.sent()[-1] == ("DELETE", f"/v2/{REPO}/manifests/{digest(first)}")
    await registry.remove_referrer(REPO, SUBJECT, digest(second))
    assert fallback_index(fake) is None  # nothing left: the index went with its tag
    assert await registry.referrers(REPO, SUBJECT) == []
    await registry.aclose()


async def test_dropping_the_tag_of_a_gone_subject() -> None:
    fake = FakeRegistry(referrers_api=False)
    registry, _ = client(fake)
    await registry.push_referrer(REPO, referrer("application/spdx+json"))
    await registry.drop_referrers_tag(REPO, SUBJECT)
    assert fallback_index(fake) is None
    await registry.drop_referrers_tag(REPO, SUBJECT)  # nothing there: nothing to do
    await registry.aclose()
