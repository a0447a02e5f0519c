"""Real tools and the gateway see each other's referrers, against the real registry: ``oras
discover`` lists what the gateway attached; ``oras attach``, ``cosign sign`` and ``cosign
attest`` of the object's manifest show up in the gateway's list and fetch byte for byte;
``cosign verify-blob`` accepts the key-based bundle the API stores (and refuses a tampered
object). The tools come from ``tests/fixtures/tools.py`` (pinned, installed on first use)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from tests.fixtures import supply_chain as docs
from tests.fixtures.tools import installed
from tests.integration.api.test_access_keys import BASIC
from tests.integration.api.test_referrers import (
    BUNDLE,
    CDX,
    CONTENT,
    IN_TOTO,
    KEY,
    SPDX,
    attach,
    counts,
    documents,
    listed,
    object_manifest,
    url,
    version_manifest,
)
from tests.integration.s3.test_versioning import versioned

__all__ = ["versioned"]  # the fixture, imported for this module's tests

COSIGN_PASSWORD = "interop-test"
SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
SLSA = "https://slsa.dev/provenance/v1"


@pytest.fixture(autouse=True)
def registry_login(registry, tmp_path_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """oras and cosign reach the registry with the gateway's credentials (Zot is closed)."""
    directory = registry.docker_config(tmp_path_factory.mktemp("docker"))
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))


@pytest.fixture
def target(registry, s3, bucket) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """(bucket, ``host:port/repository@sha256:...``): the object's manifest as tools name it."""
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    repository, digest, _ = object_manifest(registry, s3, bucket)
    host = registry.url.removeprefix("http://")
    return bucket, f"{host}/{repository}@{digest}"


@pytest.fixture
def cosign_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {**os.environ, "HOME": str(home), "COSIGN_PASSWORD": COSIGN_PASSWORD}


@pytest.fixture
def cosign_key(tmp_path: Path, cosign_env: dict[str, str]) -> tuple[Path, Path]:
    """A key pair from ``cosign generate-key-pair``: (cosign.key, cosign.pub)."""
    run([str(installed("cosign")), "generate-key-pair"], cwd=tmp_path, env=cosign_env)
    return tmp_path / "cosign.key", tmp_path / "cosign.pub"


def run(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{command[:3]} exited {result.returncode}:\n{result.stderr}"
    return result


def fetch(gateway, bucket: str, digest: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    response = httpx.get(url(gateway, bucket, digest), params={"key": KEY}, headers=BASIC)
    assert response.status_code == 200, response.text
    return response


def registry_manifest(registry, reference: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The manifest ``host/repository@digest`` as the registry holds it."""
    name, digest = reference.split("/", 1)[1].split("@")
    with registry.http() as client:
        answer = client.get(
            f"/v2/{name}/manifests/{digest}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
    assert answer.status_code == 200
    assert "sha256:" + hashlib.sha256(answer.content).hexdigest() == digest
    return dict(answer.json())


def test_oras_discover_lists_what_the_gateway_attached(gateway, registry, target):
    bucket, reference = target
    # The object's manifest named from the mapping alone, as docs/supply-chain.md does.
    hashed = hashlib.sha256(KEY.encode()).hexdigest()
    host = registry.url.removeprefix("http://")
    tagged = f"{host}/s3/{bucket}/{hashed[:2]}:o-{hashed}"
    resolved = run([str(installed("oras")), "resolve", "--plain-http", tagged]).stdout.strip()
    assert f"{tagged.split(':o-')[0]}@{resolved}" == reference
    made = {}
    for kind, body, media_type in documents().values():
        response = attach(gateway, bucket, kind, body, media_type)
        assert response.status_code == 201, response.text
        made[response.json()["digest"]] = response.json()
    result = run(
        [str(installed("oras")), "discover", "--plain-http", "--format", "json", reference]
    )
    found = json.loads(result.stdout)
    assert found["digest"] == reference.split("@")[1]
    seen = {item["digest"]: item for item in found["referrers"]}
    assert set(seen) == set(made)
    for digest, info in made.items():
        assert seen[digest]["artifactType"] == info["artifact_type"]
        assert seen[digest]["annotations"]["dev.artifactstore.referrer.kind"] == info["kind"]
    assert sorted(item["artifactType"] for item in seen.values()) == sorted(
        [BUNDLE, CDX, SPDX, IN_TOTO]
    )
    # The same through the way the registry keeps them, named explicitly: Zot's referrers
    # API (and no fallback tag beside it), or the referrers tag on a registry without the API.
    spec = "v1.1-referrers-api" if registry.kind == "zot" else "v1.1-referrers-tag"
    explicit = run(
        [
            str(installed("oras")),
            *("discover", "--plain-http", "--format", "json"),
            *("--distribution-spec", spec, reference),
        ]
    )
    assert {item["digest"] for item in json.loads(explicit.stdout)["referrers"]} == set(made)


def test_oras_attach_shows_up_in_the_list_and_fetches_byte_for_byte(
    gateway, registry, s3, target, tmp_path
):
    bucket, reference = target
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_bytes(docs.dump(docs.cyclonedx("1.6")))
    oras = str(installed("oras"))
    attach_sbom = (oras, "attach", "--plain-http", "--format", "json", "--artifact-type")
    result = run(
        [*attach_sbom, CDX, reference, sbom.name],
        cwd=tmp_path,
    )
    digest = json.loads(result.stdout)["digest"]
    manifest = registry_manifest(registry, reference.split("@")[0] + "@" + digest)
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    # GET/HEAD counts read the index only: an outside referrer counts once a list found it.
    assert counts(s3, bucket) == (0, 0, 0)
    [found] = listed(gateway, bucket)
    assert found["digest"] == digest
    assert found["kind"] == "sbom"
    assert found["artifact_type"] == CDX
    assert found["media_type"] == CDX  # oras's generic layer type says nothing: the artifact's
    assert found["size"] == sbom.stat().st_size
    assert found["subject"] == reference.split("@")[1]
    assert found["created"] == manifest["annotations"]["org.opencontainers.image.created"]
    assert counts(s3, bucket) == (0, 1, 0)
    document = fetch(gateway, bucket, digest)
    assert document.content == sbom.read_bytes()
    assert document.headers["content-type"].startswith(CDX)
    assert listed(gateway, bucket, kind="sbom") == [found]  # recorded once, not again

    # A fetch of a digest the index does not know yet looks in the registry too.
    spdx = tmp_path / "sbom.spdx.json"
    spdx.write_bytes(docs.dump(docs.spdx()))
    result = run(
        [*attach_sbom, SPDX, reference, f"{spdx.name}:{SPDX}"],
        cwd=tmp_path,
    )
    second = json.loads(result.stdout)["digest"]
    assert fetch(gateway, bucket, second).content == spdx.read_bytes()
    assert counts(s3, bucket) == (0, 2, 0)

    # Removed through the API: gone from the list and from what oras discovers.
    removed = httpx.delete(url(gateway, bucket, digest), params={"key": KEY}, headers=BASIC)
    assert removed.status_code == 204
    assert [item["digest"] for item in listed(gateway, bucket)] == [second]
    discovered = run([oras, "discover", "--plain-http", "--format", "json", reference])
    assert [item["digest"] for item in json.loads(discovered.stdout)["referrers"]] == [second]


def test_cosign_sign_shows_up_as_a_signature(
    gateway, registry, target, cosign_key, cosign_env, tmp_path
):
    bucket, reference = target
    key, public = cosign_key
    run(
        [
            str(installed("cosign")),
            *("sign", "--key", str(key), "--tlog-upload=false", "--use-signing-config=false"),
            *("--allow-http-registry", "--allow-insecure-registry", "--yes", reference),
        ],
        cwd=tmp_path,
        env=cosign_env,
    )
    [found] = listed(gateway, bucket)
    assert found["kind"] == "signature"
    assert found["artifact_type"] == BUNDLE
    assert found["media_type"] == BUNDLE
    assert found["predicate_type"] == SIGN_PREDICATE
    assert listed(gateway, bucket, kind="signature") == [found]

    # What cosign v3.1.2 stores: a bundle v0.3 with a DSSE envelope of an in-toto statement
    # about the object's manifest digest, the key named by its hint.
    manifest = registry_manifest(registry, reference.split("@")[0] + "@" + found["digest"])
    assert manifest["artifactType"] == BUNDLE
    assert [layer["mediaType"] for layer in manifest["layers"]] == [BUNDLE]
    assert manifest["annotations"]["dev.sigstore.bundle.content"] == "dsse-envelope"
    assert manifest["annotations"]["dev.sigstore.bundle.predicateType"] == SIGN_PREDICATE
    bundle = json.loads(fetch(gateway, bucket, found["digest"]).content)
    assert bundle["mediaType"] == BUNDLE
    assert "messageSignature" not in bundle
    envelope = bundle["dsseEnvelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["predicateType"] == SIGN_PREDICATE
    assert statement["subject"][0]["digest"] == {"sha256": reference.split("@sha256:")[1]}
    der = serialization.load_pem_public_key(public.read_bytes()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hint = base64.b64encode(hashlib.sha256(der).digest()).decode()
    assert bundle["verificationMaterial"]["publicKey"] == {"hint": hint}


def test_cosign_attest_shows_up_as_an_attestation(
    gateway, target, cosign_key, cosign_env, tmp_path
):
    bucket, reference = target
    key, _ = cosign_key
    predicate = tmp_path / "provenance.json"
    predicate.write_text(json.dumps(docs.statement(KEY, CONTENT)["predicate"]))
    run(
        [
            str(installed("cosign")),
            *("attest", "--key", str(key), "--tlog-upload=false", "--use-signing-config=false"),
            *("--allow-http-registry", "--allow-insecure-registry", "--yes"),
            *("--type", "slsaprovenance1", "--predicate", str(predicate), reference),
        ],
        cwd=tmp_path,
        env=cosign_env,
    )
    [found] = listed(gateway, bucket)
    assert (found["kind"], found["artifact_type"], found["predicate_type"]) == (
        "attestation",
        BUNDLE,
        SLSA,
    )
    bundle = json.loads(fetch(gateway, bucket, found["digest"]).content)
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement["predicateType"] == SLSA


def test_cosign_verify_blob_accepts_the_bundle_the_api_stores(gateway, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    made = attach(gateway, bucket, "signature", docs.dump(docs.sigstore_bundle(CONTENT)), BUNDLE)
    assert made.status_code == 201, made.text
    bundle = tmp_path / "b.json"
    bundle.write_bytes(fetch(gateway, bucket, made.json()["digest"]).content)
    public = tmp_path / "pub.pem"
    public.write_bytes(
        docs.KEY.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    stored = tmp_path / "obj"
    stored.write_bytes(s3.get_object(Bucket=bucket, Key=KEY)["Body"].read())
    tampered = tmp_path / "tampered"
    tampered.write_bytes(CONTENT[:-1] + b"?")
    env = {**os.environ, "HOME": str(tmp_path)}

    def verify(blob: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(installed("cosign")),
                *("verify-blob", "--key", str(public), "--bundle", str(bundle)),
                *("--insecure-ignore-tlog=true", str(blob)),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    accepted = verify(stored)
    assert accepted.returncode == 0, accepted.stderr
    assert "Verified OK" in accepted.stderr
    refused = verify(tampered)
    assert refused.returncode != 0
    assert "invalid signature" in refused.stderr


def _trust(gateway, bucket: str, public: Path, **settings: bool) -> None:  # type: ignore[no-untyped-def]
    document = {"keys": [{"name": "cosign", "public_key": public.read_text()}], **settings}
    answer = httpx.put(f"{gateway.url}/_artifacts/trust/{bucket}", json=document, headers=BASIC)
    assert answer.status_code == 200, answer.text


def _verdict(gateway, bucket: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    answer = httpx.get(
        f"{gateway.url}/_artifacts/verify/{bucket}",
        params={"key": KEY, "fresh": "true"},
        headers=BASIC,
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _cosign(verb: str, key: Path, reference: str, env: dict[str, str], *extra: str) -> None:
    run(
        [
            str(installed("cosign")),
            *(verb, "--key", str(key), "--tlog-upload=false", "--use-signing-config=false"),
            *("--allow-http-registry", "--allow-insecure-registry", "--yes", *extra, reference),
        ],
        env=env,
    )


def test_the_verdict_recognises_cosign_sign_and_attest_and_oras_sboms(
    gateway, s3, target, cosign_key, cosign_env, tmp_path
):
    bucket, reference = target
    key, public = cosign_key
    _trust(gateway, bucket, public, require_signature=True)
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key=KEY)
    _cosign("sign", key, reference, cosign_env)
    predicate = tmp_path / "provenance.json"
    predicate.write_text(json.dumps(docs.statement(KEY, CONTENT)["predicate"]))
    _cosign(
        "attest",
        key,
        reference,
        cosign_env,
        "--type",
        "slsaprovenance1",
        "--predicate",
        str(predicate),
    )
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_bytes(docs.dump(docs.cyclonedx("1.6")))
    run(
        [
            str(installed("oras")),
            "attach",
            "--plain-http",
            "--artifact-type",
            CDX,
            reference,
            sbom.name,
        ],
        cwd=tmp_path,
    )

    found = _verdict(gateway, bucket)
    manifest_digest = reference.split("@")[1]
    assert found["signed"] is True, found
    [signature] = found["signatures"]
    assert signature["verified"] is True
    assert signature["trusted"] is True
    assert signature["covers"] == "manifest"
    assert signature["over"] == manifest_digest
    assert signature["signer"]["name"] == "cosign"
    [attestation] = found["attestations"]
    assert attestation["predicate_type"] == SLSA
    assert attestation["verified"] is True
    assert attestation["covers"] == "manifest"
    assert [(s["artifact_type"], s["valid"]) for s in found["sboms"]] == [(CDX, True)]
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == CONTENT


def test_cosign_sign_of_an_earlier_version_lets_that_version_out(
    gateway, registry, s3, versioned, cosign_key, cosign_env
):
    """cosign signs one version's manifest (by digest, as its v- tag names it): the gateway
    lists that signature under the version's id and hands that version out of a
    require-signature bucket, and only that version."""
    key, public = cosign_key
    older = s3.put_object(Bucket=versioned, Key=KEY, Body=CONTENT)["VersionId"]
    s3.put_object(Bucket=versioned, Key=KEY, Body=b"the next release")
    _trust(gateway, versioned, public, require_signature=True)
    repository, subject = version_manifest(registry, s3, versioned, older)
    host = registry.url.removeprefix("http://")
    _cosign("sign", key, f"{host}/{repository}@{subject}", cosign_env)

    [signature] = listed(gateway, versioned, versionId=older)
    assert (signature["kind"], signature["subject"]) == ("signature", subject)
    assert listed(gateway, versioned) == []
    got = s3.get_object(Bucket=versioned, Key=KEY, VersionId=older)
    assert got["Body"].read() == CONTENT
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=versioned, Key=KEY)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_cosign_verify_blob_accepts_the_gateways_receipt(gateway, s3, bucket, tmp_path):
    answer = httpx.put(
        f"{gateway.url}/_artifacts/trust/{bucket}", json={"receipts": True}, headers=BASIC
    )
    assert answer.status_code == 200, answer.text
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    [receipt] = listed(gateway, bucket, kind="signature")
    bundle = tmp_path / "receipt.json"
    bundle.write_bytes(fetch(gateway, bucket, receipt["digest"]).content)
    public = tmp_path / "store.pub"
    public.write_text(httpx.get(f"{gateway.url}/_artifacts/receipts/key").text)
    stored = tmp_path / "obj"
    stored.write_bytes(s3.get_object(Bucket=bucket, Key=KEY)["Body"].read())
    tampered = tmp_path / "tampered"
    tampered.write_bytes(b"?" + CONTENT[1:])
    command = [
        str(installed("cosign")),
        *("verify-blob", "--key", str(public), "--bundle", str(bundle)),
        "--insecure-ignore-tlog=true",
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    accepted = subprocess.run(
        [*command, str(stored)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Verified OK" in accepted.stderr
    refused = subprocess.run(
        [*command, str(tampered)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert "invalid signature" in refused.stderr
