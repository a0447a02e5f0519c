"""How signatures, SBOMs and attestations map onto OCI referrers (normative)."""

from __future__ import annotations

import json

import pytest

from gateway.domain.errors import UnsupportedDocumentType
from gateway.domain.mapping import EMPTY_DESCRIPTOR, MANIFEST_MEDIA_TYPE, TITLE
from gateway.domain.supply import referrer_mapping as types
from gateway.registry.client import descriptor_of, referrers_tag
from tests.unit.domain.test_mapping import OCI_TAG

SUBJECT = "sha256:" + "ab" * 32
BLOB = "sha256:" + "cd" * 32


def test_the_types_real_tools_use() -> None:
    table = {(row.kind, row.artifact_type, row.media_type) for row in types.DOCUMENT_TYPES}
    assert table == {
        (
            "signature",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
        ),
        ("sbom", "application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json"),
        ("sbom", "application/spdx+json", "application/spdx+json"),
        ("attestation", "application/vnd.in-toto+json", "application/vnd.dsse.envelope.v1+json"),
    }
    assert types.KIND_BY_ARTIFACT_TYPE["application/vnd.dev.cosign.artifact.sig.v1+json"] == (
        "signature"
    )


@pytest.mark.parametrize(
    ("kind", "content_type", "expected"),
    [
        ("sbom", "application/vnd.cyclonedx+json", types.CYCLONEDX),
        ("sbom", "Application/VND.CycloneDX+JSON; version=1.6", types.CYCLONEDX),
        ("sbom", "application/spdx+json; charset=utf-8", types.SPDX),
        ("signature", "application/vnd.dev.sigstore.bundle.v0.3+json", types.BUNDLE),
        ("signature", "application/json", types.BUNDLE),
        ("attestation", "application/vnd.dsse.envelope.v1+json", types.DSSE),
        ("attestation", "application/json", types.DSSE),
    ],
)
def test_content_types_per_kind(kind: str, content_type: str, expected: types.DocumentType) -> None:
    assert types.document_type(kind, content_type) == expected


@pytest.mark.parametrize(
    ("kind", "content_type", "message"),
    [
        ("sbom", "application/json", "A sbom is sent as application/vnd.cyclonedx+json or"),
        ("sbom", None, "not 'nothing'"),
        ("signature", "application/spdx+json", "A signature is sent as"),
        ("receipt", "application/json", "Unknown kind 'receipt'"),
    ],
)
def test_unsupported_content_types(kind: str, content_type: str | None, message: str) -> None:
    with pytest.raises(UnsupportedDocumentType) as error:
        types.document_type(kind, content_type)
    assert message in error.value.message


def test_the_referrer_manifest() -> None:
    body = types.referrer_manifest(
        types.CYCLONEDX,
        types.subject_descriptor(SUBJECT, 612),
        BLOB,
        1234,
        "2025-06-01T12:00:00.000Z",
        {"x": "y"},
    )
    manifest = json.loads(body)
    assert manifest == {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": "application/vnd.cyclonedx+json",
        "config": EMPTY_DESCRIPTOR,
        "layers": [
            {
                "mediaType": "application/vnd.cyclonedx+json",
                "digest": BLOB,
                "size": 1234,
                "annotations": {TITLE: f"sha256-{'cd' * 32}.cdx.json"},
            }
        ],
        "subject": {"mediaType": MANIFEST_MEDIA_TYPE, "digest": SUBJECT, "size": 612},
        "annotations": {
            "x": "y",
            "dev.artifactstore.referrer.kind": "sbom",
            "org.opencontainers.image.created": "2025-06-01T12:00:00.000Z",
        },
    }
    descriptor = descriptor_of(body)
    assert descriptor["artifactType"] == "application/vnd.cyclonedx+json"
    assert descriptor["size"] == len(body)
    assert descriptor["mediaType"] == MANIFEST_MEDIA_TYPE
    assert descriptor["annotations"] == manifest["annotations"]


def test_the_referrers_tag_is_a_valid_tag() -> None:
    tag = referrers_tag(SUBJECT)
    assert tag == "sha256-" + "ab" * 32
    assert OCI_TAG.fullmatch(tag)
    assert referrers_tag("sha512:" + "f" * 128) == "sha512-" + "f" * 64


# -- referrers other tools attach, read back -------------------------------------------------

EMPTY_CONFIG = {"mediaType": "application/vnd.oci.empty.v1+json", "digest": BLOB, "size": 2}
OTHER = "sha256:" + "ef" * 32


def outside(
    artifact_type: str | None,
    layers: list[dict[str, object]],
    annotations: dict[str, str] | None = None,
    *,
    config: dict[str, object] | None = None,
    subject: str = SUBJECT,
) -> bytes:
    manifest: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config or EMPTY_CONFIG,
        "layers": layers,
        "subject": {"mediaType": MANIFEST_MEDIA_TYPE, "digest": subject, "size": 977},
    }
    if artifact_type is not None:
        manifest["artifactType"] = artifact_type
    if annotations is not None:
        manifest["annotations"] = annotations
    return json.dumps(manifest).encode()


def layer(media_type: str, size: int = 1472, **annotations: str) -> dict[str, object]:
    return {"mediaType": media_type, "digest": OTHER, "size": size, "annotations": annotations}


@pytest.mark.parametrize("document", types.DOCUMENT_TYPES, ids=lambda d: d.suffix)
@pytest.mark.parametrize("predicate", [None, "https://slsa.dev/provenance/v1"])
def test_the_gateways_own_referrers_read_back_as_attached(
    document: types.DocumentType, predicate: str | None
) -> None:
    annotations = {types.A_PREDICATE_TYPE: predicate} if predicate else {}
    body = types.referrer_manifest(
        document,
        types.subject_descriptor(SUBJECT, 612),
        BLOB,
        1234,
        "2025-06-01T12:00:00.000Z",
        annotations,
    )
    assert types.read_referrer(body, SUBJECT) == types.Found(
        kind=document.kind,
        artifact_type=document.artifact_type,
        media_type=document.media_type,
        blob_digest=BLOB,
        size=1234,
        created="2025-06-01T12:00:00.000Z",
        predicate_type=predicate,
    )


def test_a_bundle_the_gateway_attached_stays_a_signature_whatever_it_wraps() -> None:
    body = types.referrer_manifest(
        types.BUNDLE,
        types.subject_descriptor(SUBJECT, 612),
        BLOB,
        10,
        "2025-06-01T12:00:00.000Z",
        {types.A_BUNDLE_CONTENT: "dsse-envelope", types.A_BUNDLE_PREDICATE: "https://slsa.dev/p"},
    )
    found = types.read_referrer(body, SUBJECT)
    assert found is not None
    assert (found.kind, found.predicate_type) == ("signature", "https://slsa.dev/p")


BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
CREATED_AT = {"org.opencontainers.image.created": "2026-12-01T00:44:51Z"}


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        pytest.param(
            outside(
                "application/vnd.cyclonedx+json",
                [layer("application/vnd.oci.image.layer.v1.tar", **{TITLE: "sbom.cdx.json"})],
                CREATED_AT,
            ),
            ("sbom", "application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json", None),
            id="oras-attach-generic-layer",
        ),
        pytest.param(
            outside("application/spdx+json", [layer("application/spdx+json")]),
            ("sbom", "application/spdx+json", "application/spdx+json", None),
            id="oras-attach-typed-layer",
        ),
        pytest.param(
            outside(
                BUNDLE_TYPE,
                [layer(BUNDLE_TYPE)],
                {
                    types.A_BUNDLE_CONTENT: "dsse-envelope",
                    types.A_BUNDLE_PREDICATE: types.COSIGN_SIGN_PREDICATE,
                    **CREATED_AT,
                },
            ),
            ("signature", BUNDLE_TYPE, BUNDLE_TYPE, types.COSIGN_SIGN_PREDICATE),
            id="cosign-v3-sign",
        ),
        pytest.param(
            outside(
                BUNDLE_TYPE,
                [layer(BUNDLE_TYPE)],
                {
                    types.A_BUNDLE_CONTENT: "dsse-envelope",
                    types.A_BUNDLE_PREDICATE: "https://slsa.dev/provenance/v1",
                },
            ),
            ("attestation", BUNDLE_TYPE, BUNDLE_TYPE, "https://slsa.dev/provenance/v1"),
            id="cosign-v3-attest",
        ),
        pytest.param(
            outside(
                BUNDLE_TYPE,
                [layer(BUNDLE_TYPE)],
                {types.A_BUNDLE_CONTENT: "message-signature"},
            ),
            ("signature", BUNDLE_TYPE, BUNDLE_TYPE, None),
            id="bundle-message-signature",
        ),
        pytest.param(
            outside(
                None,
                [
                    layer(
                        types.COSIGN_SIMPLESIGNING,
                        **{types.A_COSIGN_SIGNATURE: "MEUCIQ=="},
                    )
                ],
                config={"mediaType": types.COSIGN_SIGNATURE, "digest": BLOB, "size": 233},
            ),
            (
                "signature",
                types.COSIGN_SIGNATURE,
                types.COSIGN_SIMPLESIGNING,
                None,
            ),
            id="cosign-legacy-config-media-type",
        ),
        pytest.param(
            outside(
                "application/vnd.dev.sigstore.bundle+json;version=0.3",
                [layer("application/vnd.dev.sigstore.bundle+json;version=0.3")],
            ),
            (
                "signature",
                "application/vnd.dev.sigstore.bundle+json;version=0.3",
                "application/vnd.dev.sigstore.bundle+json;version=0.3",
                None,
            ),
            id="bundle-older-spelling",
        ),
        pytest.param(
            outside(
                "application/vnd.dsse.envelope.v1+json",
                [layer("application/vnd.dsse.envelope.v1+json", predicateType="https://x/y")],
            ),
            (
                "attestation",
                "application/vnd.dsse.envelope.v1+json",
                "application/vnd.dsse.envelope.v1+json",
                "https://x/y",
            ),
            id="dsse-with-layer-predicate",
        ),
        pytest.param(
            outside(
                "application/vnd.cyclonedx+json",
                [layer("text/plain"), layer("application/vnd.cyclonedx+json", size=99)],
            ),
            ("sbom", "application/vnd.cyclonedx+json", "application/vnd.cyclonedx+json", None),
            id="typed-layer-among-several",
        ),
    ],
)
def test_referrers_other_tools_attach(
    manifest: bytes, expected: tuple[str, str, str, str | None]
) -> None:
    found = types.read_referrer(manifest, SUBJECT)
    assert found is not None
    assert (found.kind, found.artifact_type, found.media_type, found.predicate_type) == expected
    assert found.blob_digest == OTHER


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(
            outside("application/vnd.cncf.notary.signature", [layer("application/jose+json")]),
            id="notation-signature",
        ),
        pytest.param(outside(None, [layer("application/vnd.cyclonedx+json")]), id="no-type"),
        pytest.param(
            outside("application/vnd.cyclonedx+json", [layer("application/json")], subject=OTHER),
            id="another-subject",
        ),
        pytest.param(
            outside("application/vnd.cyclonedx+json", [layer("a/b"), layer("c/d")]),
            id="no-document-layer-among-several",
        ),
        pytest.param(outside("application/vnd.cyclonedx+json", []), id="no-layer"),
        pytest.param(
            outside(
                "application/vnd.cyclonedx+json",
                [layer("application/vnd.cyclonedx+json", size=types.MAX_DOCUMENT + 1)],
            ),
            id="too-big",
        ),
        pytest.param(
            outside(
                "application/vnd.cyclonedx+json",
                [{"mediaType": "application/vnd.cyclonedx+json", "digest": "md5:x", "size": 1}],
            ),
            id="bad-digest",
        ),
        pytest.param(
            outside(types.COSIGN_SIGNATURE, [layer(types.COSIGN_SIMPLESIGNING)]),
            id="cosign-legacy-without-signature-annotation",
        ),
        pytest.param(
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "artifactType": "application/vnd.cyclonedx+json",
                    "manifests": [],
                    "subject": {"digest": SUBJECT},
                }
            ).encode(),
            id="an-index",
        ),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1]", id="not-an-object"),
    ],
)
def test_what_is_not_listed(manifest: bytes) -> None:
    assert types.read_referrer(manifest, SUBJECT) is None


@pytest.mark.parametrize(
    ("artifact_type", "kind"),
    [
        ("application/vnd.dev.sigstore.bundle.v0.3+json", "signature"),
        ("Application/VND.CycloneDX+JSON; version=1.6", "sbom"),
        ("application/vnd.dev.cosign.artifact.sig.v1+json", "signature"),
        ("application/vnd.in-toto+json", "attestation"),
        ("application/vnd.cncf.notary.signature", None),
        (None, None),
    ],
)
def test_kind_of(artifact_type: str | None, kind: str | None) -> None:
    assert types.kind_of(artifact_type) == kind
