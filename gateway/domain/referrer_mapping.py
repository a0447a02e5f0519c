"""How signatures, SBOMs and attestations map onto OCI referrers.

Normative, like ``mapping.py`` (DESIGN.md §2): oras, cosign and other tools read what the
gateway writes, and the gateway reads what they write. A referrer of an object is an OCI 1.1
image manifest pushed by digest (untagged) into the object's repository, with

- ``subject``: the object's manifest descriptor (media type, digest, size);
- ``artifactType``: by kind, below (the types real tools use);
- ``config``: the OCI empty descriptor;
- one layer: the document, with its media type; its title annotation is
  ``<algorithm>-<hex>.<suffix>`` (cosign's bundle spec does so: ``oras pull`` writes that file);
- annotations: ``org.opencontainers.image.created``, ``dev.artifactstore.referrer.kind``, and
  what the document says of itself (cosign's ``dev.sigstore.bundle.content`` and
  ``dev.sigstore.bundle.predicateType`` for bundles, ``in-toto.io/predicate-type`` for DSSE
  envelopes of in-toto statements).

=============  ==========================================  =========================================
kind           artifactType                                layer media type (Content-Type accepted)
=============  ==========================================  =========================================
signature      application/vnd.dev.sigstore.bundle.v0.3+json  the same (or application/json)
sbom           application/vnd.cyclonedx+json              the same
sbom           application/spdx+json                       the same
attestation    application/vnd.in-toto+json                application/vnd.dsse.envelope.v1+json
                                                           (or application/json)
=============  ==========================================  =========================================

On a registry without the referrers API (no ``OCI-Subject`` header on the manifest push) the
gateway also keeps the OCI 1.1 referrers tag ``sha256-<hex of the subject digest>``: an image
index listing the referrer descriptors with their ``artifactType`` and annotations
(``registry/client.py`` does that read-modify-write; the domain serialises it per subject).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.domain.errors import UnsupportedDocumentType
from gateway.domain.mapping import CREATED, EMPTY_DESCRIPTOR, MANIFEST_MEDIA_TYPE, TITLE

SIGNATURE = "signature"
SBOM = "sbom"
ATTESTATION = "attestation"
KINDS = (SIGNATURE, SBOM, ATTESTATION)

SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
SPDX_JSON = "application/spdx+json"
DSSE_ENVELOPE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
PLAIN_JSON = "application/json"

A_KIND = "dev.artifactstore.referrer.kind"
A_BUNDLE_CONTENT = "dev.sigstore.bundle.content"
A_BUNDLE_PREDICATE = "dev.sigstore.bundle.predicateType"
A_PREDICATE_TYPE = "in-toto.io/predicate-type"


@dataclass(frozen=True)
class DocumentType:
    """One row of the table above."""

    kind: str
    artifact_type: str
    media_type: str  # the layer's
    suffix: str  # of the layer's title


BUNDLE = DocumentType(SIGNATURE, SIGSTORE_BUNDLE, SIGSTORE_BUNDLE, "sigstore.json")
CYCLONEDX = DocumentType(SBOM, CYCLONEDX_JSON, CYCLONEDX_JSON, "cdx.json")
SPDX = DocumentType(SBOM, SPDX_JSON, SPDX_JSON, "spdx.json")
DSSE = DocumentType(ATTESTATION, IN_TOTO, DSSE_ENVELOPE, "dsse.json")
DOCUMENT_TYPES = (BUNDLE, CYCLONEDX, SPDX, DSSE)

# What a client may send as Content-Type, per kind.
ACCEPTED: dict[str, dict[str, DocumentType]] = {
    SIGNATURE: {SIGSTORE_BUNDLE: BUNDLE, PLAIN_JSON: BUNDLE},
    SBOM: {CYCLONEDX_JSON: CYCLONEDX, SPDX_JSON: SPDX},
    ATTESTATION: {DSSE_ENVELOPE: DSSE, PLAIN_JSON: DSSE},
}
# The kind of a referrer found in the registry, by its artifactType (what `reindex` and the
# verdict will read; cosign's older signature layout counts as a signature too).
KIND_BY_ARTIFACT_TYPE = {
    **{document.artifact_type: document.kind for document in DOCUMENT_TYPES},
    "application/vnd.dev.cosign.artifact.sig.v1+json": SIGNATURE,
}


def media_type_of(content_type: str | None) -> str:
    """``Application/JSON; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def document_type(kind: str, content_type: str | None) -> DocumentType:
    """The row for a document of ``kind`` sent as ``content_type``; UnsupportedDocumentType
    names what the kind accepts otherwise."""
    accepted = ACCEPTED.get(kind)
    if accepted is None:
        raise UnsupportedDocumentType(f"Unknown kind {kind!r}; one of {', '.join(KINDS)}.")
    found = accepted.get(media_type_of(content_type))
    if found is None:
        raise UnsupportedDocumentType(
            f"A {kind} is sent as {' or '.join(accepted)}, not {content_type or 'nothing'!r}."
        )
    return found


def subject_descriptor(digest: str, size: int) -> dict[str, Any]:
    return {"mediaType": MANIFEST_MEDIA_TYPE, "digest": digest, "size": size}


def referrer_manifest(
    document: DocumentType,
    subject: dict[str, Any],
    blob_digest: str,
    size: int,
    created: str,
    annotations: dict[str, str],
) -> bytes:
    """The referrer manifest of one document (``created`` in RFC 3339, as ``mapping``)."""
    title = f"{blob_digest.replace(':', '-', 1)}.{document.suffix}"
    body = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": document.artifact_type,
        "config": EMPTY_DESCRIPTOR,
        "layers": [
            {
                "mediaType": document.media_type,
                "digest": blob_digest,
                "size": size,
                "annotations": {TITLE: title},
            }
        ],
        "subject": subject,
        "annotations": {**annotations, A_KIND: document.kind, CREATED: created},
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
