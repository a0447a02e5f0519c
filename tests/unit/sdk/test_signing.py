"""Bundles: what the SDK signs verifies offline, and with the gateway's own checker."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from artifactstore.signing import KeyPair, build_bundle, key_hint, load_public_key, verify_bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.supply.signatures import Subject, check_bundle
from gateway.domain.supply.trust import TrustedKey


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
@settings(max_examples=10, deadline=None)
@given(data=st.binary(max_size=256))
def test_a_bundle_verifies_over_its_bytes_only(key_type: str, data: bytes) -> None:
    keys = KeyPair.generate(key_type)  # type: ignore[arg-type]
    digest = hashlib.sha256(data).digest()
    bundle = build_bundle(keys, digest)
    assert verify_bundle(bundle, keys.public_key, digest)
    assert verify_bundle(json.dumps(bundle).encode(), keys.public_key, digest)
    other = hashlib.sha256(data + b"!").digest()
    assert not verify_bundle(bundle, keys.public_key, other)
    assert not verify_bundle(bundle, KeyPair.generate(key_type).public_key, digest)  # type: ignore[arg-type]


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519"])
def test_the_gateway_accepts_what_the_sdk_signs(key_type: str) -> None:
    keys = KeyPair.generate(key_type)  # type: ignore[arg-type]
    digest = hashlib.sha256(b"object bytes").digest()
    document = json.dumps(build_bundle(keys, digest)).encode()
    trusted = TrustedKey("release", keys.public_pem(), load_public_key(keys.public_pem()))
    subject = Subject(manifest="sha256:" + "0" * 64, sha256=digest.hex())
    check = check_bundle(document, subject, [trusted])
    assert check.verified, check.reason
    assert (check.covers, check.key) == ("object", "release")


def test_bundle_shape_and_key_round_trip() -> None:
    keys = KeyPair.generate("ecdsa-p256")
    bundle = build_bundle(keys, b"\x01" * 32)
    assert bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json"
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == key_hint(keys.public_key)
    assert base64.b64decode(bundle["messageSignature"]["messageDigest"]["digest"]) == b"\x01" * 32
    again = KeyPair.from_pem(keys.private_pem())
    assert again.public_pem() == keys.public_pem()
    with pytest.raises(ValueError, match="32-byte"):
        build_bundle(keys, b"short")
    with pytest.raises(ValueError, match="unsupported key type"):
        KeyPair.generate("rsa")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "broken",
    [
        b"not json",
        b"[]",
        {"messageSignature": {"signature": "!!!"}},
        {"dsseEnvelope": {"payloadType": "text/plain", "payload": "", "signatures": []}},
        {"dsseEnvelope": {"payloadType": "application/vnd.in-toto+json", "payload": "e30="}},
    ],
)
def test_malformed_bundles_do_not_verify(broken) -> None:
    keys = KeyPair.generate("ed25519")
    assert not verify_bundle(broken, keys.public_key, b"\x00" * 32)
