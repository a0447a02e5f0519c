"""Whom a bucket trusts to sign its objects, and what it does with that trust.

Stored as one JSON setting of the bucket (``TRUST_SETTING``, in the bucket's manifest like its
policy, so ``reindex`` rebuilds it). Parsed settings are remembered by their text: a GET of a
``require-signature`` bucket must not parse PEM keys or a trusted root each time.

Shape (the JSON API's ``/_artifacts/trust/{bucket}`` documents it)::

    {"require_signature": bool, "receipts": bool,
     "keys": [{"name": str, "public_key": PEM}],            # ECDSA P-256/P-384, Ed25519, RSA
     "identities": [{"issuer": str, "subject": str, "subject_regex": bool}],   # keyless
     "trusted_root": {...}}                                 # sigstore trusted_root.json
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.domain import buckets
from gateway.domain.errors import InvalidTrust
from gateway.domain.store import Store
from gateway.domain.supply import keyless
from gateway.domain.supply.state import state_of

TRUST_SETTING = "trust"
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
CURVES = ("secp256r1", "secp384r1")
MIN_RSA_BITS = 2048
MAX_KEYS = 32
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@/-]{0,127}$")


@dataclass(frozen=True)
class TrustedKey:
    name: str
    pem: str
    public_key: PublicKey = field(compare=False, repr=False)

    @property
    def key_id(self) -> str:
        """SHA-256 of the DER public key, hex: how bundles' public-key hints name keys."""
        return key_id(self.public_key)


@dataclass(frozen=True)
class Trust:
    require_signature: bool = False
    receipts: bool = False
    keys: tuple[TrustedKey, ...] = ()
    identities: tuple[keyless.Identity, ...] = ()
    trusted_root: str | None = None  # the JSON text, canonical
    root: keyless.TrustedRoot | None = field(default=None, compare=False, repr=False)
    fingerprint: str = ""  # SHA-256 of the canonical JSON: part of every cached verdict's key

    @property
    def empty(self) -> bool:
        return not (self.require_signature or self.receipts or self.keys or self.identities)


NO_TRUST = Trust()


def key_id(public_key: PublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def load_public_key(pem: str, where: str) -> PublicKey:
    try:
        loaded = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise InvalidTrust(f"{where}: not a PEM public key") from exc
    if isinstance(loaded, ec.EllipticCurvePublicKey):
        if loaded.curve.name not in CURVES:
            raise InvalidTrust(f"{where}: curve {loaded.curve.name} (take P-256 or P-384)")
        return loaded
    if isinstance(loaded, rsa.RSAPublicKey):
        if loaded.key_size < MIN_RSA_BITS:
            raise InvalidTrust(f"{where}: RSA keys have at least {MIN_RSA_BITS} bits")
        return loaded
    if isinstance(loaded, ed25519.Ed25519PublicKey):
        return loaded
    raise InvalidTrust(f"{where}: only ECDSA, Ed25519 and RSA keys are supported")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidTrust(f"{where}: must be an object")
    return value


def _string(document: dict[str, Any], name: str, where: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidTrust(f"{where}.{name}: must be a non-empty string")
    return value


def _flag(document: dict[str, Any], name: str) -> bool:
    value = document.get(name, False)
    if not isinstance(value, bool):
        raise InvalidTrust(f"$.{name}: must be true or false")
    return value


def _list(document: dict[str, Any], name: str) -> list[Any]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise InvalidTrust(f"$.{name}: must be a list")
    if len(value) > MAX_KEYS:
        raise InvalidTrust(f"$.{name}: at most {MAX_KEYS} entries")
    return value


def _keys(document: dict[str, Any]) -> tuple[TrustedKey, ...]:
    keys: list[TrustedKey] = []
    for number, item in enumerate(_list(document, "keys")):
        where = f"$.keys[{number}]"
        entry = _object(item, where)
        name = _string(entry, "name", where)
        if not NAME.match(name):
            raise InvalidTrust(f"{where}.name: letters, digits and ._@/- only, at most 128")
        if any(known.name == name for known in keys):
            raise InvalidTrust(f"{where}.name: {name!r} is named twice")
        pem = _string(entry, "public_key", where)
        keys.append(TrustedKey(name, pem.strip() + "\n", load_public_key(pem, where)))
    return tuple(keys)


def _identities(document: dict[str, Any]) -> tuple[keyless.Identity, ...]:
    identities: list[keyless.Identity] = []
    for number, item in enumerate(_list(document, "identities")):
        where = f"$.identities[{number}]"
        entry = _object(item, where)
        subject_regex = entry.get("subject_regex", False)
        if not isinstance(subject_regex, bool):
            raise InvalidTrust(f"{where}.subject_regex: must be true or false")
        subject = _string(entry, "subject", where)
        if subject_regex:
            try:
                re.compile(subject)
            except re.error as exc:
                raise InvalidTrust(f"{where}.subject: not a regular expression: {exc}") from exc
        identities.append(keyless.Identity(_string(entry, "issuer", where), subject, subject_regex))
    return tuple(identities)


def _root(document: dict[str, Any], fallback: str | None) -> tuple[str | None, Any]:
    value = document.get("trusted_root")
    if value is None:
        text = fallback
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        raise InvalidTrust("$.trusted_root: must be a sigstore trusted_root.json object")
    if text is None:
        return None, None
    try:
        return text, keyless.load_trusted_root(text)
    except ValueError as exc:
        raise InvalidTrust(f"$.trusted_root: {exc}") from exc


def build(document: Any, default_root: str | None = None) -> Trust:
    """Check a trust document and build it; ``default_root`` is the deployment's trusted
    root, used for keyless identities when the bucket names none."""
    body = _object(document, "$")
    unknown = sorted(
        set(body) - {"require_signature", "receipts", "keys", "identities", "trusted_root"}
    )
    if unknown:
        raise InvalidTrust(f"$.{unknown[0]}: unknown setting")
    keys, identities = _keys(body), _identities(body)
    text, root = _root(body, default_root)
    if identities and root is None:
        raise InvalidTrust("$.trusted_root: keyless identities need a trusted root")
    canonical = dump_document(body)
    return Trust(
        require_signature=_flag(body, "require_signature"),
        receipts=_flag(body, "receipts"),
        keys=keys,
        identities=identities,
        trusted_root=text,
        root=root,
        fingerprint=hashlib.sha256(f"{canonical}\n{text or ''}".encode()).hexdigest(),
    )


def dump_document(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def parse(text: str | None, default_root: str | None = None) -> Trust:
    """The bucket's stored setting; settings were checked when stored, so a failure here
    means the bucket was edited behind the gateway's back."""
    if not text:
        return NO_TRUST
    return _parse_cached(text, default_root)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str, default_root: str | None) -> Trust:
    return build(json.loads(text), default_root)


def settings_of(bucket_settings: dict[str, str], default_root: str | None = None) -> Trust:
    return parse(bucket_settings.get(TRUST_SETTING), default_root)


async def get_trust(store: Store, bucket: str) -> dict[str, Any] | None:
    """The bucket's trust document as stored; None when it has none."""
    record = await buckets.get_bucket(store, bucket)
    text = record.settings.get(TRUST_SETTING)
    return json.loads(text) if text else None


async def set_trust(store: Store, bucket: str, document: dict[str, Any]) -> Trust:
    """Check and store a trust document (nothing is stored when it fails); verdicts under
    the old trust are not used again (the fingerprint is part of their key)."""
    # In a thread: a first trusted root imports sigstore and parses its certificates.
    built = await asyncio.to_thread(build, document, state_of(store).trusted_root)
    await buckets.set_setting(store, bucket, TRUST_SETTING, dump_document(document))
    return built


async def delete_trust(store: Store, bucket: str) -> None:
    await buckets.set_setting(store, bucket, TRUST_SETTING, None)
