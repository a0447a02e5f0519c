"""Signatures, SBOMs and attestations under /_artifacts/referrers, against the real registry:
attach each kind, list with filters, fetch byte-exact, remove; invalid documents refused with
the failing path and nothing stored; counts in HEAD/GET headers; the referrer manifests and
the referrers tag index really in the registry; who may do what; the same for an earlier
version named by its ``versionId``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.fixtures import supply_chain as docs
from tests.integration.api.test_access_keys import BASIC, basic, client_with
from tests.integration.s3.test_versioning import versioned

__all__ = ["versioned"]  # the fixture, imported for this module's tests

KEY = "builds/report-tool-1.0.0.tar.gz"
CONTENT = b"the release tarball\n" * 100
CDX = "application/vnd.cyclonedx+json"
SPDX = "application/spdx+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = {"Accept": f"{MANIFEST}, {INDEX}"}


@pytest.fixture
def obj(s3, bucket) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    return bucket, KEY


def url(gateway, bucket: str, digest: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"{gateway.url}/_artifacts/referrers/{bucket}" + (f"/{digest}" if digest else "")


def attach(
    gateway,  # type: ignore[no-untyped-def]
    bucket: str,
    kind: str,
    body: bytes,
    media_type: str,
    key: str = KEY,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.post(
        url(gateway, bucket),
        params={"key": key, "kind": kind},
        content=body,
        headers={"Content-Type": media_type, **(headers or BASIC)},
        timeout=60,
    )


def listed(gateway, bucket: str, key: str = KEY, **filters: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    response = httpx.get(url(gateway, bucket), params={"key": key, **filters}, headers=BASIC)
    assert response.status_code == 200, response.text
    return list(response.json())


def documents() -> dict[str, tuple[str, bytes, str]]:
    return {
        "cyclonedx": ("sbom", docs.dump(docs.cyclonedx("1.6")), CDX),
        "spdx": ("sbom", docs.dump(docs.spdx()), SPDX),
        "signature": ("signature", docs.dump(docs.sigstore_bundle(CONTENT)), BUNDLE),
        "attestation": ("attestation", docs.dump(docs.dsse_envelope(KEY, CONTENT)), DSSE),
    }


def counts(s3, bucket: str, key: str = KEY) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    headers = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    return (
        int(headers["x-artifact-store-signatures"]),
        int(headers["x-artifact-store-sboms"]),
        int(headers["x-artifact-store-attestations"]),
    )


def object_manifest(registry, s3, bucket: str, key: str = KEY) -> tuple[str, str, bytes]:  # type: ignore[no-untyped-def]
    """(repository, manifest digest, manifest bytes) of the object, read from the registry."""
    head = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    repository, tag = head["x-artifact-store-oci-reference"].rsplit(":", 1)
    answer = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}", auth=registry.auth, headers=ACCEPT
    )
    assert answer.status_code == 200
    return repository, "sha256:" + hashlib.sha256(answer.content).hexdigest(), answer.content


def registry_referrers(registry, repository: str, subject: str) -> list[dict[str, Any]] | None:  # type: ignore[no-untyped-def]
    """What the registry itself lists for ``subject``: the referrers API on a registry that
    has it, else the fallback tag's index (None when that tag does not exist)."""
    api = httpx.get(
        f"{registry.url}/v2/{repository}/referrers/{subject}", auth=registry.auth, headers=ACCEPT
    )
    if api.status_code == 200:
        return list(api.json().get("manifests", []))
    tag = "sha256-" + subject.removeprefix("sha256:")
    index = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{tag}", auth=registry.auth, headers=ACCEPT
    )
    if index.status_code == 404:
        return None
    assert index.status_code == 200
    assert index.json()["mediaType"] == INDEX
    return list(index.json()["manifests"])


def test_attach_list_fetch_and_remove_each_kind(gateway, s3, obj):
    bucket, key = obj
    assert listed(gateway, bucket) == []
    assert counts(s3, bucket) == (0, 0, 0)
    made: dict[str, dict[str, Any]] = {}
    bodies = documents()
    for name, (kind, body, media_type) in bodies.items():
        response = attach(gateway, bucket, kind, body, media_type)
        assert response.status_code == 201, response.text
        info = response.json()
        assert info["kind"] == kind
        assert info["size"] == len(body)
        assert info["digest"].startswith("sha256:")
        assert response.headers["location"].endswith(f"/{info['digest']}?key=builds%2F{key[7:]}")
        made[name] = info
    assert made["cyclonedx"]["artifact_type"] == made["cyclonedx"]["media_type"] == CDX
    assert made["spdx"]["artifact_type"] == made["spdx"]["media_type"] == SPDX
    assert made["signature"]["artifact_type"] == made["signature"]["media_type"] == BUNDLE
    assert made["attestation"]["artifact_type"] == IN_TOTO
    assert made["attestation"]["media_type"] == DSSE
    assert made["attestation"]["predicate_type"] == "https://slsa.dev/provenance/v1"
    assert len({info["subject"] for info in made.values()}) == 1

    everything = listed(gateway, bucket)
    assert [item["digest"] for item in everything] == [info["digest"] for info in made.values()]
    assert {item["digest"] for item in listed(gateway, bucket, kind="sbom")} == {
        made["cyclonedx"]["digest"],
        made["spdx"]["digest"],
    }
    assert [item["digest"] for item in listed(gateway, bucket, artifact_type=SPDX)] == [
        made["spdx"]["digest"]
    ]
    assert [item["digest"] for item in listed(gateway, bucket, kind="attestation")] == [
        made["attestation"]["digest"]
    ]
    assert listed(gateway, bucket, kind="signature", artifact_type=CDX) == []
    assert counts(s3, bucket) == (1, 2, 1)
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == CONTENT
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-artifact-store-sboms"] == "2"

    for name, (_kind, body, _media_type) in bodies.items():
        fetched = httpx.get(
            url(gateway, bucket, made[name]["digest"]), params={"key": key}, headers=BASIC
        )
        assert fetched.status_code == 200
        assert fetched.content == body
        assert fetched.headers["content-type"] == made[name]["media_type"]
        assert fetched.headers["x-artifact-store-artifact-type"] == made[name]["artifact_type"]

    signature = made["signature"]["digest"]
    gone = httpx.delete(url(gateway, bucket, signature), params={"key": key}, headers=BASIC)
    assert gone.status_code == 204
    assert signature not in [item["digest"] for item in listed(gateway, bucket)]
    assert counts(s3, bucket) == (0, 2, 1)
    again = httpx.delete(url(gateway, bucket, signature), params={"key": key}, headers=BASIC)
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    missing = httpx.get(url(gateway, bucket, signature), params={"key": key}, headers=BASIC)
    assert missing.status_code == 404


def test_cyclonedx_1_5_and_plain_json_content_types(gateway, obj):
    bucket, _ = obj
    sbom = attach(gateway, bucket, "sbom", docs.dump(docs.cyclonedx("1.5")), f"{CDX}; version=1.5")
    assert sbom.status_code == 201, sbom.text
    bundle = docs.dump(docs.sigstore_bundle(CONTENT))
    signature = attach(gateway, bucket, "signature", bundle, "application/json")
    assert signature.status_code == 201, signature.text
    assert signature.json()["media_type"] == BUNDLE
    assert len(listed(gateway, bucket)) == 2


def test_an_invalid_cyclonedx_sbom_is_refused_with_its_path_and_nothing_is_stored(
    gateway, registry, s3, obj
):
    bucket, _ = obj
    kept = attach(gateway, bucket, "sbom", docs.dump(docs.spdx()), SPDX)
    assert kept.status_code == 201
    before = listed(gateway, bucket)
    bad = docs.dump(docs.cyclonedx("1.6", component_type="thing"))
    refused = attach(gateway, bucket, "sbom", bad, CDX)
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["status"] == 400
    assert problem["title"] == "Invalid Document"
    assert problem["detail"].startswith("components[0].type: 'thing' is not one of ['application',")
    assert listed(gateway, bucket) == before
    assert counts(s3, bucket) == (0, 1, 0)
    repository, _, _ = object_manifest(registry, s3, bucket)
    blob = "sha256:" + hashlib.sha256(bad).hexdigest()
    assert (
        httpx.head(f"{registry.url}/v2/{repository}/blobs/{blob}", auth=registry.auth).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("kind", "media_type", "document", "detail"),
    [
        pytest.param("sbom", CDX, b"{not json", "$: not JSON", id="not-json"),
        pytest.param("sbom", CDX, b"[]", "$: not a JSON object", id="not-an-object"),
        pytest.param(
            "sbom",
            CDX,
            docs.dump({**docs.cyclonedx("1.6"), "specVersion": "1.1"}),
            "specVersion: '1.1' is not a CycloneDX JSON version",
            id="cdx-version",
        ),
        pytest.param(
            "sbom",
            CDX,
            docs.dump({k: v for k, v in docs.cyclonedx("1.5").items() if k != "bomFormat"}),
            "bomFormat: must be 'CycloneDX'",
            id="cdx-format",
        ),
        pytest.param(
            "sbom",
            SPDX,
            docs.dump({**docs.spdx(), "creationInfo": {"creators": ["Tool: syft"]}}),
            "creationInfo.created: a non-empty string is required",
            id="spdx-created",
        ),
        pytest.param(
            "sbom",
            SPDX,
            docs.dump({**docs.spdx(), "packages": [{"SPDXID": "SPDXRef-x"}]}),
            "packages[0].name: a non-empty string is required",
            id="spdx-package",
        ),
        pytest.param(
            "signature",
            BUNDLE,
            docs.dump({**docs.sigstore_bundle(CONTENT), "mediaType": "application/json"}),
            "mediaType: must be 'application/vnd.dev.sigstore.bundle.v0.3+json'",
            id="bundle-media-type",
        ),
        pytest.param(
            "attestation",
            DSSE,
            docs.dump({**docs.dsse_envelope(KEY, CONTENT), "signatures": []}),
            "signatures: at least one item is required",
            id="dsse-unsigned",
        ),
        pytest.param(
            "attestation",
            DSSE,
            docs.dump({**docs.dsse_envelope(KEY, CONTENT), "payload": "e30="}),
            "payload._type: a non-empty string is required",
            id="dsse-not-a-statement",
        ),
    ],
)
def test_invalid_documents_are_refused(gateway, obj, kind, media_type, document, detail):
    bucket, _ = obj
    refused = attach(gateway, bucket, kind, document, media_type)
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"].startswith(detail)
    assert listed(gateway, bucket) == []


def test_requests_that_do_not_fit(gateway, bucket, obj):
    sbom = docs.dump(docs.cyclonedx())
    wrong_type = attach(gateway, bucket, "sbom", sbom, "application/json")
    assert wrong_type.status_code == 415
    assert "application/vnd.cyclonedx+json or application/spdx+json" in wrong_type.json()["detail"]
    assert attach(gateway, bucket, "sbom", sbom, SPDX).status_code == 400  # CycloneDX as SPDX
    unknown_kind = attach(gateway, bucket, "receipt", sbom, CDX)
    assert unknown_kind.status_code == 422
    assert "kind" in unknown_kind.json()["detail"]
    too_large = attach(gateway, bucket, "sbom", b" " * (4 * 1024 * 1024 + 1), CDX)
    assert too_large.status_code == 413
    no_key = attach(gateway, bucket, "sbom", sbom, CDX, key="no/such/key")
    assert no_key.status_code == 404
    assert no_key.headers["content-type"] == "application/problem+json"
    no_bucket = attach(gateway, "no-such-bucket-here", "sbom", sbom, CDX)
    assert no_bucket.status_code == 404
    assert httpx.get(url(gateway, bucket), params={"key": "nope"}, headers=BASIC).status_code == 404
    bad_digest = httpx.get(url(gateway, bucket, "sha256:xyz"), params={"key": KEY}, headers=BASIC)
    assert bad_digest.status_code == 422
    unauthenticated = httpx.get(url(gateway, bucket), params={"key": KEY})
    assert unauthenticated.status_code == 401
    assert listed(gateway, bucket) == []


def test_the_registry_holds_the_referrers(gateway, registry, s3, obj):
    bucket, _ = obj
    repository, subject, manifest = object_manifest(registry, s3, bucket)
    bodies = documents()
    made = {}
    for name, (kind, body, media_type) in bodies.items():
        response = attach(gateway, bucket, kind, body, media_type)
        assert response.status_code == 201
        made[name] = response.json()
        assert made[name]["subject"] == subject

    for name, info in made.items():
        answer = httpx.get(
            f"{registry.url}/v2/{repository}/manifests/{info['digest']}",
            auth=registry.auth,
            headers=ACCEPT,
        )
        assert answer.status_code == 200
        assert "sha256:" + hashlib.sha256(answer.content).hexdigest() == info["digest"]
        referrer = answer.json()
        assert referrer["mediaType"] == MANIFEST
        assert referrer["artifactType"] == info["artifact_type"]
        assert referrer["subject"] == {
            "mediaType": MANIFEST,
            "digest": subject,
            "size": len(manifest),
        }
        assert referrer["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
        (layer,) = referrer["layers"]
        body = bodies[name][1]
        assert layer["mediaType"] == info["media_type"]
        assert layer["digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
        assert layer["size"] == len(body)
        assert layer["annotations"]["org.opencontainers.image.title"].startswith("sha256-")
        assert "org.opencontainers.image.created" in referrer["annotations"]
        assert referrer["annotations"]["dev.artifactstore.referrer.kind"] == info["kind"]
        blob = httpx.get(
            f"{registry.url}/v2/{repository}/blobs/{layer['digest']}", auth=registry.auth
        )
        assert blob.content == body
    signature = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{made['signature']['digest']}",
        auth=registry.auth,
        headers=ACCEPT,
    ).json()
    assert signature["annotations"]["dev.sigstore.bundle.content"] == "message-signature"
    attestation = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{made['attestation']['digest']}",
        auth=registry.auth,
        headers=ACCEPT,
    ).json()
    assert attestation["annotations"]["in-toto.io/predicate-type"] == (
        "https://slsa.dev/provenance/v1"
    )

    found = registry_referrers(registry, repository, subject)
    assert found is not None
    by_digest = {item["digest"]: item for item in found}
    assert set(by_digest) == {info["digest"] for info in made.values()}
    for info in made.values():
        entry = by_digest[info["digest"]]
        assert entry["mediaType"] == MANIFEST
        assert entry["artifactType"] == info["artifact_type"]
        assert entry["annotations"]["dev.artifactstore.referrer.kind"] == info["kind"]
        assert "org.opencontainers.image.created" in entry["annotations"]

    for info in made.values():
        gone = httpx.delete(
            url(gateway, bucket, info["digest"]), params={"key": KEY}, headers=BASIC
        )
        assert gone.status_code == 204
        assert info["digest"] not in {
            item["digest"] for item in registry_referrers(registry, repository, subject) or []
        }
        deleted = httpx.get(
            f"{registry.url}/v2/{repository}/manifests/{info['digest']}",
            auth=registry.auth,
            headers=ACCEPT,
        )
        assert deleted.status_code == 404
    if registry.kind == "distribution":  # no referrers API: the emptied fallback tag goes
        assert registry_referrers(registry, repository, subject) is None


def test_an_overwritten_or_deleted_object_has_no_referrers(gateway, registry, s3, obj):
    bucket, key = obj
    repository, subject, _ = object_manifest(registry, s3, bucket)
    made = attach(gateway, bucket, "sbom", docs.dump(docs.cyclonedx()), CDX).json()
    assert counts(s3, bucket) == (0, 1, 0)

    s3.put_object(Bucket=bucket, Key=key, Body=b"a new version")
    assert listed(gateway, bucket) == []
    assert counts(s3, bucket) == (0, 0, 0)
    assert (
        httpx.get(
            url(gateway, bucket, made["digest"]), params={"key": key}, headers=BASIC
        ).status_code
        == 404
    )
    # The old version's referrer and its fallback index left the registry too.
    old = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{made['digest']}",
        auth=registry.auth,
        headers=ACCEPT,
    )
    assert old.status_code == 404
    assert not registry_referrers(registry, repository, subject)

    again = attach(gateway, bucket, "sbom", docs.dump(docs.spdx()), SPDX)
    assert again.status_code == 201
    s3.delete_object(Bucket=bucket, Key=key)
    missing = httpx.get(url(gateway, bucket), params={"key": key}, headers=BASIC)
    assert missing.status_code == 404
    s3.put_object(Bucket=bucket, Key=key, Body=b"a new version")  # same bytes, new manifest
    assert listed(gateway, bucket) == []
    gone = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{again.json()['digest']}",
        auth=registry.auth,
        headers=ACCEPT,
    )
    assert gone.status_code == 404


def test_a_copy_starts_without_referrers(gateway, s3, obj):
    bucket, key = obj
    assert attach(gateway, bucket, "sbom", docs.dump(docs.spdx()), SPDX).status_code == 201
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": key})
    assert listed(gateway, bucket, key="copy") == []
    assert counts(s3, bucket, "copy") == (0, 0, 0)
    assert counts(s3, bucket) == (0, 1, 0)


def test_who_may_attach_list_and_remove(gateway, s3, obj):
    bucket, key = obj
    sbom = attach(gateway, bucket, "sbom", docs.dump(docs.spdx()), SPDX).json()
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectReferrer"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    made = httpx.post(
        f"{gateway.url}/_artifacts/keys",
        json={"description": "referrer reader", "policy": json.dumps(policy)},
        headers=BASIC,
    )
    assert made.status_code == 201, made.text
    reader_key = made.json()
    reader = basic(reader_key["access_key_id"], reader_key["secret_access_key"])

    listing = httpx.get(url(gateway, bucket), params={"key": key}, headers=reader)
    assert listing.status_code == 200
    assert [item["digest"] for item in listing.json()] == [sbom["digest"]]
    fetched = httpx.get(url(gateway, bucket, sbom["digest"]), params={"key": key}, headers=reader)
    assert fetched.status_code == 200
    refused = attach(gateway, bucket, "sbom", docs.dump(docs.cyclonedx()), CDX, headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    removal = httpx.delete(
        url(gateway, bucket, sbom["digest"]), params={"key": key}, headers=reader
    )
    assert removal.status_code == 403
    # Without s3:ListBucket a missing key is a refusal, not a 404 (as S3 does).
    hidden = httpx.get(url(gateway, bucket), params={"key": "no/such"}, headers=reader)
    assert hidden.status_code == 403
    assert [item["digest"] for item in listed(gateway, bucket)] == [sbom["digest"]]
    # The same key's SigV4 still reads the object (the policy allows s3:GetObject).
    client = client_with(gateway.url, reader_key["access_key_id"], reader_key["secret_access_key"])
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == CONTENT
    with pytest.raises(ClientError):
        client.put_object(Bucket=bucket, Key=key, Body=b"x")

    log = Path(gateway.settings.audit_sink() or "").read_text().splitlines()
    lines = [json.loads(line) for line in log if reader_key["access_key_id"] in line]
    decisions = {(line["action"], line["decision"], line["rule"], line["status"]) for line in lines}
    assert ("s3:PutObjectReferrer", "deny", "deny:identity-policy", 403) in decisions
    assert ("s3:DeleteObjectReferrer", "deny", "deny:identity-policy", 403) in decisions
    assert ("s3:GetObjectReferrer", "allow", "role:artifact-admin", 200) in decisions
    fetch_line = next(
        line for line in lines if line["action"] == "s3:GetObjectReferrer" and line["bytes_out"] > 0
    )
    assert fetch_line["resource"] == f"/{bucket}/{key}"


def test_the_api_is_in_the_openapi_document(gateway):
    document = httpx.get(f"{gateway.url}/_artifacts/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/_artifacts/referrers/{bucket}"]) == {"get", "post"}
    assert set(paths["/_artifacts/referrers/{bucket}/{digest}"]) == {"get", "delete"}
    body = paths["/_artifacts/referrers/{bucket}"]["post"]["requestBody"]["content"]
    assert {CDX, SPDX, BUNDLE, DSSE} <= set(body)
    assert "ReferrerInfo" in document["components"]["schemas"]


def test_attaching_the_same_document_again_is_the_one_attached_before(gateway, s3, obj):
    """Attach is idempotent (a client's retry never adds a second copy); another document of
    the same kind is a second referrer."""
    bucket, _ = obj
    body = docs.dump(docs.spdx())
    first = attach(gateway, bucket, "sbom", body, SPDX)
    second = attach(gateway, bucket, "sbom", body, SPDX)
    assert first.status_code == second.status_code == 201
    assert second.json()["digest"] == first.json()["digest"]
    assert second.json()["created"] == first.json()["created"]
    assert [item["digest"] for item in listed(gateway, bucket)] == [first.json()["digest"]]
    assert counts(s3, bucket) == (0, 1, 0)
    other = attach(gateway, bucket, "sbom", docs.dump(docs.cyclonedx("1.6")), CDX)
    assert other.status_code == 201
    assert other.json()["digest"] != first.json()["digest"]
    assert counts(s3, bucket) == (0, 2, 0)


@pytest.fixture
def versions(s3, versioned) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(bucket, older version id, current version id) of KEY in a versioned bucket."""
    older = s3.put_object(Bucket=versioned, Key=KEY, Body=CONTENT)["VersionId"]
    current = s3.put_object(Bucket=versioned, Key=KEY, Body=b"the next release\n")["VersionId"]
    return versioned, older, current


def version_counts(s3, bucket: str, version: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    headers = s3.head_object(Bucket=bucket, Key=KEY, VersionId=version)["ResponseMetadata"][
        "HTTPHeaders"
    ]
    return (
        int(headers["x-artifact-store-signatures"]),
        int(headers["x-artifact-store-sboms"]),
        int(headers["x-artifact-store-attestations"]),
    )


def version_manifest(registry, s3, bucket: str, version: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(repository, manifest digest) of one version, read from the registry by its v- tag."""
    repository, _ = object_manifest(registry, s3, bucket)[:2]
    hashed = hashlib.sha256(KEY.encode()).hexdigest()
    answer = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/v-{hashed}-{version}",
        auth=registry.auth,
        headers=ACCEPT,
    )
    assert answer.status_code == 200
    return repository, "sha256:" + hashlib.sha256(answer.content).hexdigest()


def test_a_referrer_attaches_to_the_version_its_version_id_names(gateway, registry, s3, versions):
    bucket, older, current = versions
    repository, subject = version_manifest(registry, s3, bucket, older)
    body = docs.dump(docs.spdx())
    made = httpx.post(
        url(gateway, bucket),
        params={"key": KEY, "kind": "sbom", "versionId": older},
        content=body,
        headers={"Content-Type": SPDX, **BASIC},
    )
    assert made.status_code == 201, made.text
    info = made.json()
    assert info["subject"] == subject
    assert made.headers["location"].endswith(
        f"/{info['digest']}?key=builds%2Freport-tool-1.0.0.tar.gz&versionId={older}"
    )
    # The registry's own referrers of that version's manifest: cosign and oras see it there.
    assert [d["digest"] for d in registry_referrers(registry, repository, subject) or []] == [
        info["digest"]
    ]
    assert [item["digest"] for item in listed(gateway, bucket, versionId=older)] == [info["digest"]]
    assert listed(gateway, bucket) == []  # the current version has none
    assert listed(gateway, bucket, versionId=current) == []
    assert version_counts(s3, bucket, older) == (0, 1, 0)
    assert counts(s3, bucket) == (0, 0, 0)

    fetched = httpx.get(
        url(gateway, bucket, info["digest"]),
        params={"key": KEY, "versionId": older},
        headers=BASIC,
    )
    assert fetched.status_code == 200
    assert fetched.content == body
    elsewhere = httpx.get(url(gateway, bucket, info["digest"]), params={"key": KEY}, headers=BASIC)
    assert elsewhere.status_code == 404  # not a referrer of the current version

    # A newer write leaves the older version's referrers where they are.
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"and another")
    assert [item["digest"] for item in listed(gateway, bucket, versionId=older)] == [info["digest"]]
    removed = httpx.delete(
        url(gateway, bucket, info["digest"]),
        params={"key": KEY, "versionId": older},
        headers=BASIC,
    )
    assert removed.status_code == 204
    assert listed(gateway, bucket, versionId=older) == []
    assert version_counts(s3, bucket, older) == (0, 0, 0)


def test_deleting_a_version_for_good_takes_its_referrers(gateway, registry, s3, versions):
    bucket, older, _ = versions
    repository, subject = version_manifest(registry, s3, bucket, older)
    made = attach_version(gateway, bucket, older, "sbom", docs.dump(docs.spdx()), SPDX)
    assert made.status_code == 201, made.text
    s3.delete_object(Bucket=bucket, Key=KEY, VersionId=older)
    gone = httpx.get(url(gateway, bucket), params={"key": KEY, "versionId": older}, headers=BASIC)
    assert gone.status_code == 404
    assert gone.json()["title"] == "Not Found"
    referrer = httpx.get(
        f"{registry.url}/v2/{repository}/manifests/{made.json()['digest']}",
        auth=registry.auth,
        headers=ACCEPT,
    )
    assert referrer.status_code == 404
    assert not registry_referrers(registry, repository, subject)


def attach_version(  # type: ignore[no-untyped-def]
    gateway, bucket: str, version: str, kind: str, body: bytes, media_type: str, **headers: str
) -> httpx.Response:
    return httpx.post(
        url(gateway, bucket),
        params={"key": KEY, "kind": kind, "versionId": version},
        content=body,
        headers={"Content-Type": media_type, **(headers or BASIC)},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("named", "status", "title"),
    [
        ("unknown", 404, "Not Found"),
        ("marker", 405, "Method Not Allowed"),
        ("malformed", 400, "Bad Request"),
    ],
)
def test_a_version_id_that_names_no_object_version(gateway, s3, versions, named, status, title):
    bucket, _, _ = versions
    marker = s3.delete_object(Bucket=bucket, Key=KEY)["VersionId"]
    version = {"unknown": "0" * 32, "marker": marker, "malformed": "x/y"}[named]
    digest = "sha256:" + "0" * 64
    answers = [
        attach_version(gateway, bucket, version, "sbom", docs.dump(docs.spdx()), SPDX),
        httpx.get(url(gateway, bucket), params={"key": KEY, "versionId": version}, headers=BASIC),
        httpx.get(
            url(gateway, bucket, digest),
            params={"key": KEY, "versionId": version},
            headers=BASIC,
        ),
        httpx.delete(
            url(gateway, bucket, digest),
            params={"key": KEY, "versionId": version},
            headers=BASIC,
        ),
        httpx.get(
            f"{gateway.url}/_artifacts/verify/{bucket}",
            params={"key": KEY, "versionId": version},
            headers=BASIC,
        ),
    ]
    for answer in answers:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["title"] == title
        if named == "marker":  # as S3 answers a delete marker, but no method applies here
            assert answer.headers["allow"] == ""
            assert answer.headers["x-amz-delete-marker"] == "true"
            assert answer.headers["x-amz-version-id"] == marker
            assert "delete marker" in answer.json()["detail"]


def test_a_version_is_decided_as_the_version_actions(gateway, s3, versions):
    bucket, older, _ = versions
    sbom = attach_version(gateway, bucket, older, "sbom", docs.dump(docs.spdx()), SPDX).json()

    def key_allowed(*actions: str) -> dict[str, str]:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": list(actions), "Resource": f"arn:aws:s3:::{bucket}/*"}
            ],
        }
        made = httpx.post(
            f"{gateway.url}/_artifacts/keys",
            json={"description": "version referrers", "policy": json.dumps(policy)},
            headers=BASIC,
        )
        assert made.status_code == 201, made.text
        return basic(made.json()["access_key_id"], made.json()["secret_access_key"])

    current_only = key_allowed("s3:GetObjectReferrer", "s3:PutObjectReferrer")
    params = {"key": KEY, "versionId": older}
    assert httpx.get(url(gateway, bucket), params={"key": KEY}, headers=current_only).is_success
    refused = httpx.get(url(gateway, bucket), params=params, headers=current_only)
    assert refused.status_code == 403
    assert "s3:GetObjectVersionReferrer" in refused.json()["detail"]
    writing = attach_version(
        gateway, bucket, older, "sbom", docs.dump(docs.cyclonedx()), CDX, **current_only
    )
    assert writing.status_code == 403
    assert "s3:PutObjectVersionReferrer" in writing.json()["detail"]

    versions_too = key_allowed("s3:GetObjectVersionReferrer", "s3:PutObjectVersionReferrer")
    listing = httpx.get(url(gateway, bucket), params=params, headers=versions_too)
    assert listing.status_code == 200
    assert [item["digest"] for item in listing.json()] == [sbom["digest"]]
    written = attach_version(
        gateway, bucket, older, "sbom", docs.dump(docs.cyclonedx()), CDX, **versions_too
    )
    assert written.status_code == 201, written.text
    removal = httpx.delete(
        url(gateway, bucket, sbom["digest"]), params=params, headers=versions_too
    )
    assert removal.status_code == 403
    assert "s3:DeleteObjectVersionReferrer" in removal.json()["detail"]


def test_the_version_id_parameter_is_in_the_openapi_document(gateway):
    paths = httpx.get(f"{gateway.url}/_artifacts/openapi.json").json()["paths"]
    operations = [
        paths["/_artifacts/referrers/{bucket}"]["post"],
        paths["/_artifacts/referrers/{bucket}"]["get"],
        paths["/_artifacts/referrers/{bucket}/{digest}"]["get"],
        paths["/_artifacts/referrers/{bucket}/{digest}"]["delete"],
        paths["/_artifacts/verify/{bucket}"]["get"],
    ]
    for operation in operations:
        named = {parameter["name"]: parameter for parameter in operation["parameters"]}
        assert named["versionId"]["in"] == "query"
        assert named["versionId"]["required"] is False
        assert "405" in operation["responses"]
