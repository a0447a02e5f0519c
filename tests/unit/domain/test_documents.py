"""Checks of signatures, SBOMs and attestations on the way in (domain/documents.py)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gateway.domain.errors import InvalidDocument
from gateway.domain.supply import documents
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply.documents import check, path_of
from tests.fixtures import supply_chain as docs

ARTIFACT = b"release bytes"


def refused(document_type: types.DocumentType, document: dict[str, Any] | bytes) -> str:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(InvalidDocument) as error:
        check(document_type, body)
    return error.value.message


def test_paths_read_like_the_document() -> None:
    assert path_of(["components", 0, "type"]) == "components[0].type"
    assert path_of([0, "a"]) == "[0].a"
    assert path_of([]) == "$"


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.6"])
def test_cyclonedx_valid_against_its_declared_version(version: str) -> None:
    assert check(types.CYCLONEDX, docs.dump(docs.cyclonedx(version))) == documents.Facts()


def test_cyclonedx_names_the_failing_path() -> None:
    message = refused(types.CYCLONEDX, docs.cyclonedx("1.6", component_type="thing"))
    assert message.startswith("components[0].type: 'thing' is not one of ['application',")


def test_cyclonedx_is_checked_against_the_version_it_declares() -> None:
    # cryptographic-asset is a component type from CycloneDX 1.6 on.
    newer = docs.cyclonedx("1.6", component_type="cryptographic-asset")
    assert check(types.CYCLONEDX, docs.dump(newer)) == documents.Facts()
    older = docs.cyclonedx("1.5", component_type="cryptographic-asset")
    assert refused(types.CYCLONEDX, older).startswith("components[0].type: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bomFormat": "SPDX"}, "bomFormat: must be 'CycloneDX', not 'SPDX'"),
        ({"specVersion": "1.1"}, "specVersion: '1.1' is not a CycloneDX JSON version"),
        ({"specVersion": 1.5}, "specVersion: 1.5 is not a CycloneDX JSON version"),
        ({"version": "one"}, "version: 'one' is not of type 'integer'"),
        ({"components": [{"type": "library"}]}, "components[0]: 'name' is a required property"),
    ],
)
def test_cyclonedx_refusals(change: dict[str, Any], message: str) -> None:
    assert refused(types.CYCLONEDX, {**docs.cyclonedx("1.5"), **change}).startswith(message)


def test_non_json_is_refused_at_the_root() -> None:
    assert refused(types.CYCLONEDX, b"\xff\xfe").startswith("$: not JSON")
    assert refused(types.SPDX, b"[1, 2]") == "$: not a JSON object"


def test_spdx_2_3_is_valid() -> None:
    assert check(types.SPDX, docs.dump(docs.spdx())) == documents.Facts()


def _without(document: dict[str, Any], path: str) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    *parents, last = path.split(".")
    target = copy
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    del target[int(last) if last.isdigit() else last]
    return copy


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("spdxVersion", "spdxVersion: a non-empty string is required"),
        ("SPDXID", "SPDXID: must be 'SPDXRef-DOCUMENT', not None"),
        ("name", "name: a non-empty string is required"),
        ("dataLicense", "dataLicense: must be 'CC0-1.0', not None"),
        ("documentNamespace", "documentNamespace: a non-empty string is required"),
        ("creationInfo", "creationInfo: an object is required"),
        ("creationInfo.created", "creationInfo.created: a non-empty string is required"),
        ("creationInfo.creators", "creationInfo.creators: an array is required"),
        ("packages.0.SPDXID", "packages[0].SPDXID: a non-empty string is required"),
        ("packages.0.name", "packages[0].name: a non-empty string is required"),
        (
            "relationships.0.relationshipType",
            "relationships[0].relationshipType: a non-empty string is required",
        ),
    ],
)
def test_spdx_structure(path: str, message: str) -> None:
    assert refused(types.SPDX, _without(docs.spdx(), path)) == message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"spdxVersion": "SPDX-3.0"}, "spdxVersion: 'SPDX-3.0' does not match"),
        ({"documentNamespace": "not-a-uri"}, "documentNamespace: must be an absolute URI"),
        ({"packages": {}}, "packages: an array is required"),
        ({"files": [{"SPDXID": "SPDXRef-f"}]}, "files[0].fileName: a non-empty string"),
        (
            {"creationInfo": {"created": "yesterday", "creators": ["Tool: x"]}},
            "creationInfo.created: 'yesterday' does not match",
        ),
        (
            {"creationInfo": {"created": "2025-06-01T12:00:00Z", "creators": []}},
            "creationInfo.creators: at least one item is required",
        ),
        (
            {"creationInfo": {"created": "2025-06-01T12:00:00Z", "creators": ["syft"]}},
            "creationInfo.creators[0]: 'syft' does not match",
        ),
    ],
)
def test_spdx_values(change: dict[str, Any], message: str) -> None:
    assert refused(types.SPDX, {**docs.spdx(), **change}).startswith(message)


def test_a_sigstore_bundle_with_a_message_signature() -> None:
    facts = check(types.BUNDLE, docs.dump(docs.sigstore_bundle(ARTIFACT)))
    assert facts.annotations == {types.A_BUNDLE_CONTENT: "message-signature"}
    assert facts.predicate_type is None


def test_a_sigstore_bundle_with_a_dsse_envelope() -> None:
    bundle = docs.sigstore_bundle(ARTIFACT)
    del bundle["messageSignature"]
    bundle["dsseEnvelope"] = docs.dsse_envelope("a.tar", ARTIFACT)
    facts = check(types.BUNDLE, docs.dump(bundle))
    assert facts.annotations == {
        types.A_BUNDLE_CONTENT: "dsse-envelope",
        types.A_BUNDLE_PREDICATE: "https://slsa.dev/provenance/v1",
    }
    assert facts.predicate_type == "https://slsa.dev/provenance/v1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1"}, "mediaType: must"),
        ({"verificationMaterial": None}, "verificationMaterial: an object is required"),
        ({"messageSignature": {"signature": "%%%"}}, "messageSignature.signature: not base64"),
        ({"dsseEnvelope": {}}, "$: exactly one of messageSignature and dsseEnvelope"),
    ],
)
def test_sigstore_bundle_refusals(change: dict[str, Any], message: str) -> None:
    assert refused(types.BUNDLE, {**docs.sigstore_bundle(ARTIFACT), **change}).startswith(message)


def test_the_v0_3_media_type_in_its_older_spelling_is_accepted() -> None:
    bundle = {
        **docs.sigstore_bundle(ARTIFACT),
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
    assert check(types.BUNDLE, docs.dump(bundle)).annotations


def test_a_dsse_envelope_of_an_in_toto_statement() -> None:
    facts = check(types.DSSE, docs.dump(docs.dsse_envelope("a.tar", ARTIFACT)))
    assert facts.predicate_type == "https://slsa.dev/provenance/v1"
    assert facts.annotations == {types.A_PREDICATE_TYPE: "https://slsa.dev/provenance/v1"}


def _payload(statement: Any) -> str:
    return base64.b64encode(json.dumps(statement).encode()).decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"payloadType": "text/plain"}, "payloadType: must be 'application/vnd.in-toto+json'"),
        ({"payload": "***"}, "payload: not base64"),
        ({"payload": base64.b64encode(b"nope").decode()}, "payload: the payload is not a JSON"),
        ({"signatures": [{"keyid": "k"}]}, "signatures[0].sig: a non-empty string is required"),
        ({"signatures": "sig"}, "signatures: an array is required"),
        (
            {"payload": _payload({**docs.statement("a", ARTIFACT), "_type": "x"})},
            "payload._type: 'x' does not match",
        ),
        (
            {"payload": _payload({**docs.statement("a", ARTIFACT), "subject": []})},
            "payload.subject: at least one item is required",
        ),
        (
            {"payload": _payload({**docs.statement("a", ARTIFACT), "subject": [{"digest": {}}]})},
            "payload.subject[0].digest: a map of algorithm to hex digest",
        ),
        (
            {"payload": _payload({**docs.statement("a", ARTIFACT), "predicateType": ""})},
            "payload.predicateType: a non-empty string is required",
        ),
    ],
)
def test_dsse_refusals(change: dict[str, Any], message: str) -> None:
    envelope = {**docs.dsse_envelope("a.tar", ARTIFACT), **change}
    assert refused(types.DSSE, envelope).startswith(message)


def test_url_safe_base64_payloads_are_accepted() -> None:
    envelope = docs.dsse_envelope("a.tar", ARTIFACT)
    raw = base64.b64decode(envelope["payload"])
    envelope["payload"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert check(types.DSSE, docs.dump(envelope)).predicate_type


def test_long_reasons_are_cut() -> None:
    message = refused(types.SPDX, {**docs.spdx(), "spdxVersion": "x" * 2000})
    assert len(message) < 500
    assert message.endswith("…")
