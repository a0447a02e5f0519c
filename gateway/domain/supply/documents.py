"""Checks of signatures, SBOMs and attestations on the way in, before anything is stored.

- CycloneDX JSON: the schema of the version the document declares (``specVersion`` 1.2 to
  1.7), with cyclonedx-python-lib's validator (its schemas ship in the package: offline);
- SPDX 2.x JSON: the structure the SPDX 2 specification requires of a document (version,
  ``SPDXID``, name, data license, namespace, creation info; packages and files, if present,
  with their identifiers and names);
- a sigstore bundle v0.3: JSON with the bundle's ``mediaType``, verification material and a
  message signature or DSSE envelope (the signature itself is checked by the verify slice);
- an attestation: a DSSE envelope (``payloadType``, base64 ``payload``, ``signatures``) whose
  payload is an in-toto statement (``_type``, ``subject``, ``predicateType``).

A failure raises ``InvalidDocument`` whose ``path`` names the failing place
(``components[0].type``; ``$`` is the whole document).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.domain.errors import InvalidDocument
from gateway.domain.supply import referrer_mapping as types

if TYPE_CHECKING:  # cyclonedx-python-lib (and jsonschema) load on the first CycloneDX
    # document: ~26 MiB a gateway that never sees one does not carry (docs/performance.md)
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonValidator
    from jsonschema.exceptions import ValidationError

MAX_REASON = 400
BUNDLE_MEDIA_TYPES = frozenset(
    {types.SIGSTORE_BUNDLE, "application/vnd.dev.sigstore.bundle+json;version=0.3"}
)
IN_TOTO_STATEMENT = re.compile(r"^https://in-toto\.io/Statement/v\d+(\.\d+)?$")
SPDX_VERSION = re.compile(r"^SPDX-2\.\d+$")
SPDX_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
SPDX_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SPDX_CREATOR = re.compile(r"^(Person|Organization|Tool): ?\S")
CYCLONEDX_JSON_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")

_validators: dict[SchemaVersion, JsonValidator] = {}
_validators_lock = threading.Lock()


@dataclass(frozen=True)
class Facts:
    """What a valid document tells about itself: manifest annotations, and the in-toto
    predicate type of an attestation (or of a bundle's DSSE envelope)."""

    annotations: dict[str, str] = field(default_factory=dict)
    predicate_type: str | None = None


def path_of(parts: Iterable[str | int]) -> str:
    """``["components", 0, "type"]`` -> ``components[0].type``; nothing -> ``$``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "$"


def _fail(path: str, reason: str) -> InvalidDocument:
    return InvalidDocument(path, reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…")


def _json(document: bytes) -> dict[str, Any]:
    try:
        value = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail("$", f"not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise _fail("$", "not a JSON object")
    return value


def _string(value: Any, path: str, *, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, "a non-empty string is required")
    if pattern is not None and not pattern.search(value):
        raise _fail(path, f"{value!r} does not match {pattern.pattern}")
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "an object is required")
    return value


def _list(value: Any, path: str, *, non_empty: bool = False) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, "an array is required")
    if non_empty and not value:
        raise _fail(path, "at least one item is required")
    return value


def _base64(value: Any, path: str) -> bytes:
    text = _string(value, path)
    # DSSE allows URL-safe base64 too, with or without its padding.
    text = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _fail(path, "not base64") from exc


# -- CycloneDX -------------------------------------------------------------------------------


def _cyclonedx_validator(version: SchemaVersion) -> JsonValidator:
    from cyclonedx.validation.json import JsonValidator

    with _validators_lock:
        validator = _validators.get(version)
        if validator is None:
            validator = JsonValidator(version)
            validator.validate_str("{}")  # loads the schema now, under the lock
            _validators[version] = validator
        return validator


def check_cyclonedx(document: bytes) -> Facts:
    data = _json(document)
    if data.get("bomFormat") != "CycloneDX":
        raise _fail("bomFormat", f"must be 'CycloneDX', not {data.get('bomFormat')!r}")
    declared = data.get("specVersion")
    if declared not in CYCLONEDX_JSON_VERSIONS:
        raise _fail(
            "specVersion",
            f"{declared!r} is not a CycloneDX JSON version ({', '.join(CYCLONEDX_JSON_VERSIONS)})",
        )
    from cyclonedx.schema import SchemaVersion
    from jsonschema.exceptions import best_match

    validator = _cyclonedx_validator(SchemaVersion.from_version(str(declared)))
    found = validator.validate_str(document.decode("utf-8"), all_errors=True)
    if found is not None:
        errors: list[ValidationError] = [error.data for error in found]
        worst = best_match(errors)
        if worst is not None:
            raise _fail(path_of(worst.absolute_path), worst.message)
    return Facts()


# -- SPDX ------------------------------------------------------------------------------------


def check_spdx(document: bytes) -> Facts:
    data = _json(document)
    _string(data.get("spdxVersion"), "spdxVersion", pattern=SPDX_VERSION)
    if data.get("SPDXID") != "SPDXRef-DOCUMENT":
        raise _fail("SPDXID", f"must be 'SPDXRef-DOCUMENT', not {data.get('SPDXID')!r}")
    _string(data.get("name"), "name")
    if data.get("dataLicense") != "CC0-1.0":
        raise _fail("dataLicense", f"must be 'CC0-1.0', not {data.get('dataLicense')!r}")
    namespace = _string(data.get("documentNamespace"), "documentNamespace")
    if "://" not in namespace or "#" in namespace:
        raise _fail("documentNamespace", "must be an absolute URI without a '#' part")
    info = _object(data.get("creationInfo"), "creationInfo")
    _string(info.get("created"), "creationInfo.created", pattern=SPDX_CREATED)
    creators = _list(info.get("creators"), "creationInfo.creators", non_empty=True)
    for number, creator in enumerate(creators):
        _string(creator, f"creationInfo.creators[{number}]", pattern=SPDX_CREATOR)
    for section, name_field in (("packages", "name"), ("files", "fileName")):
        if section not in data:
            continue
        for number, item in enumerate(_list(data[section], section)):
            where = f"{section}[{number}]"
            entry = _object(item, where)
            _string(entry.get("SPDXID"), f"{where}.SPDXID", pattern=SPDX_ID)
            _string(entry.get(name_field), f"{where}.{name_field}")
    if "relationships" in data:
        for number, item in enumerate(_list(data["relationships"], "relationships")):
            where = f"relationships[{number}]"
            entry = _object(item, where)
            for name in ("spdxElementId", "relationshipType", "relatedSpdxElement"):
                _string(entry.get(name), f"{where}.{name}")
    return Facts()


# -- in-toto / DSSE --------------------------------------------------------------------------


def _statement(payload: bytes, path: str) -> str:
    """Check an in-toto statement; return its predicate type."""
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(path, "the payload is not a JSON in-toto statement") from exc
    statement = _object(statement, path)
    _string(statement.get("_type"), f"{path}._type", pattern=IN_TOTO_STATEMENT)
    subjects = _list(statement.get("subject"), f"{path}.subject", non_empty=True)
    for number, item in enumerate(subjects):
        entry = _object(item, f"{path}.subject[{number}]")
        digests = _object(entry.get("digest"), f"{path}.subject[{number}].digest")
        if not digests or not all(isinstance(v, str) for v in digests.values()):
            raise _fail(f"{path}.subject[{number}].digest", "a map of algorithm to hex digest")
    return _string(statement.get("predicateType"), f"{path}.predicateType")


def _envelope(envelope: dict[str, Any], prefix: str) -> str:
    """Check a DSSE envelope of an in-toto statement; return the predicate type."""
    where = (prefix + ".") if prefix else ""
    payload_type = _string(envelope.get("payloadType"), f"{where}payloadType")
    if payload_type != types.IN_TOTO:
        raise _fail(f"{where}payloadType", f"must be {types.IN_TOTO!r}, not {payload_type!r}")
    payload = _base64(envelope.get("payload"), f"{where}payload")
    signatures = _list(envelope.get("signatures"), f"{where}signatures", non_empty=True)
    for number, item in enumerate(signatures):
        entry = _object(item, f"{where}signatures[{number}]")
        _base64(entry.get("sig"), f"{where}signatures[{number}].sig")
    return _statement(payload, f"{where}payload")


def check_dsse(document: bytes) -> Facts:
    predicate = _envelope(_json(document), "")
    return Facts({types.A_PREDICATE_TYPE: predicate}, predicate)


# -- sigstore bundle -------------------------------------------------------------------------


def check_bundle(document: bytes) -> Facts:
    data = _json(document)
    media_type = data.get("mediaType")
    if media_type not in BUNDLE_MEDIA_TYPES:
        raise _fail("mediaType", f"must be {types.SIGSTORE_BUNDLE!r}, not {media_type!r}")
    _object(data.get("verificationMaterial"), "verificationMaterial")
    has_message, has_envelope = "messageSignature" in data, "dsseEnvelope" in data
    if has_message == has_envelope:
        raise _fail("$", "exactly one of messageSignature and dsseEnvelope is required")
    if has_message:
        signature = _object(data["messageSignature"], "messageSignature")
        _base64(signature.get("signature"), "messageSignature.signature")
        return Facts({types.A_BUNDLE_CONTENT: "message-signature"})
    envelope = _object(data["dsseEnvelope"], "dsseEnvelope")
    predicate = _envelope(envelope, "dsseEnvelope")
    annotations = {types.A_BUNDLE_CONTENT: "dsse-envelope", types.A_BUNDLE_PREDICATE: predicate}
    return Facts(annotations, predicate)


def predicate_type_of(document: bytes) -> str | None:
    """The predicate type an attestation found in the registry declares, leniently (it was not
    checked on the way in): from a DSSE envelope's in-toto statement, a sigstore bundle's DSSE
    envelope, or a bare statement; None when it says none."""
    try:
        data = json.loads(document)
        if isinstance(data, dict) and isinstance(data.get("dsseEnvelope"), dict):
            data = data["dsseEnvelope"]
        if isinstance(data, dict) and isinstance(data.get("payload"), str):
            text = data["payload"].replace("-", "+").replace("_", "/")
            data = json.loads(base64.b64decode(text + "=" * (-len(text) % 4), validate=True))
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return None
    found = data.get("predicateType") if isinstance(data, dict) else None
    return found if isinstance(found, str) and found else None


CHECKS = {
    types.BUNDLE: check_bundle,
    types.CYCLONEDX: check_cyclonedx,
    types.SPDX: check_spdx,
    types.DSSE: check_dsse,
}


def check(document_type: types.DocumentType, document: bytes) -> Facts:
    """Check ``document`` as ``document_type`` says it is; InvalidDocument if it is not."""
    return CHECKS[document_type](document)
