"""How signatures, SBOMs and attestations map onto OCI referrers (normative)."""

from __future__ import annotations

import json

import pytest

from gateway.domain import referrer_mapping as types
from gateway.domain.errors import UnsupportedDocumentType
from gateway.domain.mapping import EMPTY_DESCRIPTOR, MANIFEST_MEDIA_TYPE, TITLE
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
