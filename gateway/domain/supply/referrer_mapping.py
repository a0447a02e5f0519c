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

Referrers other tools attach (oras, cosign) are read back by ``read_referrer``: the kind comes
from the ``artifactType`` (or, for tools that predate it, the config's media type), by
``KIND_BY_ARTIFACT_TYPE``; the document is the layer of the kind's media type, else the only
layer (cosign's older layout: the simplesigning layer that carries the signature annotation).
Anything else is not one of ours to list and is left alone.
"""

from __future__ import annotations

import json
import re
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
COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
A_COSIGN_SIGNATURE = "dev.cosignproject.cosign/signature"
A_LAYER_PREDICATE_TYPE = "predicateType"  # cosign's attestation layers
# What cosign v3's `sign` signs: an in-toto statement of this type about the image (any other
# predicate in a bundle's DSSE envelope is an attestation: `cosign attest`).
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
# The kind of a referrer found in the registry, by its artifactType or config media type
# without parameters (what listing, `reindex` and the verdict read): the types of the table,
# the sigstore bundle's older spelling, cosign's older signature layout, a bare DSSE type.
KIND_BY_ARTIFACT_TYPE = {
    **{document.artifact_type: document.kind for document in DOCUMENT_TYPES},
    "application/vnd.dev.sigstore.bundle+json": SIGNATURE,
    COSIGN_SIGNATURE: SIGNATURE,
    DSSE_ENVELOPE: ATTESTATION,
}
# The media types a document of each kind may have as a layer.
DOCUMENT_MEDIA_TYPES = {
    SIGNATURE: {SIGSTORE_BUNDLE, "application/vnd.dev.sigstore.bundle+json", PLAIN_JSON},
    SBOM: {CYCLONEDX_JSON, SPDX_JSON, PLAIN_JSON},
    ATTESTATION: {DSSE_ENVELOPE, IN_TOTO, PLAIN_JSON},
}
# Layer types that say nothing of the content (oras attach's default, the generic one): such a
# document is served as its artifact type.
GENERIC_LAYER_TYPES = frozenset(
    {"application/vnd.oci.image.layer.v1.tar", "application/octet-stream"}
)
# Documents are small; a bigger one found in the registry is not listed (the API's limit).
MAX_DOCUMENT = 4 * 1024 * 1024
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


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


@dataclass(frozen=True)
class Found:
    """A referrer manifest read back from the registry: what its index row needs."""

    kind: str
    artifact_type: str
    media_type: str  # the document's
    blob_digest: str
    size: int
    created: str | None  # the manifest's ``org.opencontainers.image.created``, as written
    predicate_type: str | None


def kind_of(artifact_type: str | None) -> str | None:
    """The kind of a referrer by its artifactType (or config media type); None: not ours."""
    return KIND_BY_ARTIFACT_TYPE.get(media_type_of(artifact_type))


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _layers(document: dict[str, Any]) -> list[dict[str, Any]]:
    layers = document.get("layers")
    if not isinstance(layers, list):
        return []
    return [
        layer
        for layer in layers
        if isinstance(layer, dict)
        and isinstance(layer.get("mediaType"), str)
        and isinstance(layer.get("digest"), str)
        and DIGEST.match(layer["digest"])
        and isinstance(layer.get("size"), int)
        and not isinstance(layer.get("size"), bool)
        and 0 <= layer["size"] <= MAX_DOCUMENT
    ]


def _document_layer(
    kind: str, artifact_type: str, layers: list[dict[str, Any]]
) -> dict[str, Any] | None:
    if media_type_of(artifact_type) == COSIGN_SIGNATURE:
        signed = [
            layer
            for layer in layers
            if media_type_of(layer["mediaType"]) == COSIGN_SIMPLESIGNING
            and A_COSIGN_SIGNATURE in _strings(layer.get("annotations"))
        ]
        return signed[0] if signed else None
    typed = [
        layer for layer in layers if media_type_of(layer["mediaType"]) in DOCUMENT_MEDIA_TYPES[kind]
    ]
    if typed:
        return typed[0]
    return layers[0] if len(layers) == 1 else None


def _kind(family: str, annotations: dict[str, str], predicate_type: str | None) -> str:
    """The gateway's own kind annotation where it wrote one; else a bundle that wraps an
    in-toto statement other than cosign's signing one is an attestation (``cosign attest``);
    else the kind of the artifact type."""
    written = annotations.get(A_KIND)
    if written in KINDS:
        return written
    if (
        family == SIGNATURE
        and annotations.get(A_BUNDLE_CONTENT) == "dsse-envelope"
        and predicate_type not in (None, COSIGN_SIGN_PREDICATE)
    ):
        return ATTESTATION
    return family


def read_referrer(manifest: bytes, subject: str) -> Found | None:
    """What a referrer manifest of ``subject`` found in the registry holds, or None when it is
    none of ours to list: not an image manifest of that subject, an artifact type of no kind,
    no document layer (or one over ``MAX_DOCUMENT``)."""
    try:
        document = json.loads(manifest)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    if document.get("mediaType", MANIFEST_MEDIA_TYPE) != MANIFEST_MEDIA_TYPE:
        return None
    target = document.get("subject")
    if not isinstance(target, dict) or target.get("digest") != subject:
        return None
    config = document.get("config")
    artifact_type = document.get("artifactType") or (
        config.get("mediaType") if isinstance(config, dict) else None
    )
    if not isinstance(artifact_type, str):
        return None
    family = kind_of(artifact_type)
    if family is None:
        return None
    layer = _document_layer(family, artifact_type, _layers(document))
    if layer is None:
        return None
    annotations = _strings(document.get("annotations"))
    layer_annotations = _strings(layer.get("annotations"))
    media_type = layer["mediaType"]
    if media_type_of(media_type) in GENERIC_LAYER_TYPES:
        media_type = artifact_type
    predicate_type = (
        annotations.get(A_PREDICATE_TYPE)
        or annotations.get(A_BUNDLE_PREDICATE)
        or layer_annotations.get(A_PREDICATE_TYPE)
        or layer_annotations.get(A_LAYER_PREDICATE_TYPE)
    )
    return Found(
        kind=_kind(family, annotations, predicate_type),
        artifact_type=artifact_type,
        media_type=media_type,
        blob_digest=layer["digest"],
        size=layer["size"],
        created=annotations.get(CREATED),
        predicate_type=predicate_type,
    )
