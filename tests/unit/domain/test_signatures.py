"""Key-based signature checks: ECDSA P-256/P-384, Ed25519 and RSA keys; message signatures
over the object or its manifest; DSSE envelopes; cosign simple-signing payloads; and random
corruption never verifying nor raising."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.supply import signatures, trust
from gateway.domain.supply.signatures import MANIFEST, OBJECT, Subject

CONTENT = b"release bytes\n" * 64
SHA = hashlib.sha256(CONTENT).hexdigest()
MANIFEST_BYTES = b'{"schemaVersion":2,"layers":[]}'
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST_BYTES).hexdigest()
SUBJECT = Subject(MANIFEST_DIGEST, SHA, MANIFEST_BYTES)

P256 = ec.generate_private_key(ec.SECP256R1())
P384 = ec.generate_private_key(ec.SECP384R1())
ED = ed25519.Ed25519PrivateKey.generate()
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PrivateKey = Any


def trusted(name: str, key: PrivateKey) -> trust.TrustedKey:
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return trust.TrustedKey(name, pem.decode(), trust.load_public_key(pem.decode(), "$"))


KEYS = [trusted("p256", P256), trusted("p384", P384), trusted("ed", ED), trusted("rsa", RSA)]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sign(key: PrivateKey, message: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        chosen = hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()
        return bytes(key.sign(message, ec.ECDSA(chosen)))
    if isinstance(key, rsa.RSAPrivateKey):
        return bytes(key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
    return bytes(key.sign(message))


def sign_digest(key: PrivateKey, digest: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return bytes(key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    return bytes(key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())))


def message_bundle(signature: bytes, digest: bytes | None = None) -> bytes:
    block: dict[str, Any] = {"signature": b64(signature)}
    if digest is not None:
        block["messageDigest"] = {"algorithm": "SHA2_256", "digest": b64(digest)}
    return json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {"publicKey": {"hint": "x"}},
            "messageSignature": block,
        }
    ).encode()


def envelope(key: PrivateKey, subjects: list[str], predicate: str = "https://slsa.dev/v1") -> dict:  # type: ignore[type-arg]
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "x", "digest": {"sha256": s}} for s in subjects],
        "predicateType": predicate,
        "predicate": {},
    }
    payload = json.dumps(statement).encode()
    message = signatures.pae(signatures.IN_TOTO_PAYLOAD, payload)
    return {
        "payloadType": signatures.IN_TOTO_PAYLOAD,
        "payload": b64(payload),
        "signatures": [{"keyid": "", "sig": b64(sign(key, message))}],
    }


@pytest.mark.parametrize(("name", "key"), [("p256", P256), ("rsa", RSA)])
def test_message_signatures_over_the_object_verify_without_reading_it(name, key):
    digest = bytes.fromhex(SHA)
    check = signatures.check_bundle(
        message_bundle(sign_digest(key, digest), digest), Subject(MANIFEST_DIGEST, SHA), KEYS
    )
    assert check == signatures.Check(True, OBJECT, "sha256:" + SHA, name)


def test_a_signature_made_over_the_whole_message_verifies_the_same_way():
    check = signatures.check_bundle(
        message_bundle(sign(P256, CONTENT), bytes.fromhex(SHA)), SUBJECT, KEYS
    )
    assert check.verified
    assert check.key == "p256"


def test_without_a_message_digest_both_subjects_are_tried():
    over_manifest = sign_digest(P256, bytes.fromhex(MANIFEST_DIGEST[7:]))
    check = signatures.check_bundle(message_bundle(over_manifest), SUBJECT, KEYS)
    assert (check.verified, check.covers) == (True, MANIFEST)
    over_object = sign_digest(RSA, bytes.fromhex(SHA))
    check = signatures.check_bundle(message_bundle(over_object), SUBJECT, KEYS)
    assert (check.verified, check.covers, check.key) == (True, OBJECT, "rsa")


def test_ed25519_signs_the_manifest_directly_and_the_object_through_dsse():
    check = signatures.check_bundle(message_bundle(sign(ED, MANIFEST_BYTES)), SUBJECT, KEYS)
    assert (check.verified, check.covers, check.key) == (True, MANIFEST, "ed")
    whole_object = message_bundle(sign(ED, CONTENT), bytes.fromhex(SHA))
    assert not signatures.check_bundle(whole_object, SUBJECT, KEYS).verified
    bundle = json.dumps({"dsseEnvelope": envelope(ED, [SHA])}).encode()
    check = signatures.check_bundle(bundle, SUBJECT, KEYS)
    assert (check.verified, check.covers, check.key) == (True, OBJECT, "ed")


@pytest.mark.parametrize(
    ("name", "key"), [("p256", P256), ("p384", P384), ("ed", ED), ("rsa", RSA)]
)
def test_dsse_envelopes_by_every_key_type(name, key):
    found = signatures.parse_envelope(envelope(key, ["00" * 32, SHA]))
    assert found.predicate_type() == "https://slsa.dev/v1"
    check = signatures.check_envelope(found, SUBJECT, KEYS)
    assert check == signatures.Check(True, OBJECT, "sha256:" + SHA, name)


def test_an_envelope_about_something_else_does_not_count():
    other = hashlib.sha256(b"other").hexdigest()
    check = signatures.check_envelope(
        signatures.parse_envelope(envelope(P256, [other])), SUBJECT, KEYS
    )
    assert not check.verified
    assert check.reason == f"the statement's subjects (sha256:{other}) are not this object"


def test_an_untrusted_key_does_not_verify():
    stranger = ec.generate_private_key(ec.SECP256R1())
    digest = bytes.fromhex(SHA)
    check = signatures.check_bundle(
        message_bundle(sign_digest(stranger, digest), digest), SUBJECT, KEYS
    )
    assert check == signatures.Check(
        False, OBJECT, "sha256:" + SHA, reason="no trusted key verifies the signature"
    )
    check = signatures.check_envelope(
        signatures.parse_envelope(envelope(stranger, [SHA])), SUBJECT, KEYS
    )
    assert check.reason == "no trusted key verifies the envelope"


def test_a_signature_of_other_bytes_names_what_it_signs():
    other = hashlib.sha256(b"other").digest()
    check = signatures.check_bundle(message_bundle(sign_digest(P256, other), other), SUBJECT, KEYS)
    assert check.reason == f"signs sha256:{other.hex()}, not this object"


def test_an_unknown_object_digest_only_counts_manifest_signatures():
    unknown = Subject(MANIFEST_DIGEST)
    digest = bytes.fromhex(SHA)
    check = signatures.check_bundle(
        message_bundle(sign_digest(P256, digest), digest), unknown, KEYS
    )
    assert not check.verified


def test_cosign_simple_signing_payloads():
    payload = json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": "registry/s3/b/k"},
                "image": {"docker-manifest-digest": MANIFEST_DIGEST},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()
    check = signatures.check_simple_signing(payload, b64(sign(P256, payload)), SUBJECT, KEYS)
    assert check == signatures.Check(True, MANIFEST, MANIFEST_DIGEST, "p256")
    wrong = signatures.check_simple_signing(payload, b64(sign(P256, b"x")), SUBJECT, KEYS)
    assert wrong.reason == "no trusted key verifies the signature"
    elsewhere = payload.replace(MANIFEST_DIGEST.encode(), b"sha256:" + b"1" * 64)
    other = signatures.check_simple_signing(elsewhere, b64(sign(P256, elsewhere)), SUBJECT, KEYS)
    assert other.reason == f"signs sha256:{'1' * 64}, not this object"
    broken = signatures.check_simple_signing(b"[]", "AA==", SUBJECT, KEYS)
    assert broken.reason is not None
    assert broken.reason.startswith("malformed simple-signing payload")


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"not json", "malformed bundle: $ is not JSON"),
        (b"[]", "malformed bundle: $ is not a JSON object"),
        (b"{}", "malformed bundle: neither messageSignature nor dsseEnvelope"),
        (
            b'{"messageSignature": {"signature": 5}}',
            "malformed bundle: messageSignature.signature is not a base64 string",
        ),
        (
            b'{"messageSignature": {"signature": "@@"}}',
            "malformed bundle: messageSignature.signature is not base64",
        ),
        (
            b'{"messageSignature": {"signature": "AA==", "messageDigest": {"algorithm": "MD5"}}}',
            "malformed bundle: messageSignature.messageDigest is not a SHA2_256 digest",
        ),
        (
            b'{"dsseEnvelope": {"payloadType": "x", "signatures": []}}',
            "malformed bundle: signatures is empty",
        ),
        (b'{"dsseEnvelope": {"signatures": []}}', "malformed bundle: payloadType is missing"),
    ],
)
def test_malformed_bundles_are_reasons_not_errors(document, reason):
    assert signatures.check_bundle(document, SUBJECT, KEYS) == signatures.Check(
        False, reason=reason
    )


def test_claimed_digests():
    digest = bytes.fromhex(SHA)
    assert signatures.claimed_digests(message_bundle(b"s", digest)) == ["sha256:" + SHA]
    assert signatures.claimed_digests(message_bundle(b"s")) == []
    bundle = json.dumps({"dsseEnvelope": envelope(P256, [SHA])}).encode()
    assert signatures.claimed_digests(bundle) == ["sha256:" + SHA]
    assert signatures.claimed_digests(b"nonsense") == []


GOOD = message_bundle(sign_digest(P256, bytes.fromhex(SHA)), bytes.fromhex(SHA))


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(GOOD) - 1), value=st.integers(0, 255))
def test_a_changed_byte_never_raises_and_verifies_only_if_meaning_is_unchanged(position, value):
    changed = GOOD[:position] + bytes([value]) + GOOD[position + 1 :]
    check = signatures.check_bundle(changed, SUBJECT, KEYS)
    if check.verified:  # a change that keeps the signature and what it is over, e.g. the hint
        signature = json.loads(GOOD)["messageSignature"]["signature"]
        # protobuf's JSON form takes standard and URL-safe base64 alike ('+' or '-', '/' or
        # '_'): the same signature bytes, spelt another way.
        assert _b64_bytes(json.loads(changed)["messageSignature"]["signature"]) == _b64_bytes(
            signature
        )
        assert check.over == "sha256:" + SHA


def _b64_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "==")


def test_a_url_safe_spelling_of_the_signature_still_verifies() -> None:
    """The one kind of changed byte that verifies (found by the property above)."""
    # ECDSA signatures are random: sign until the base64 has a character to respell.
    bundle, signature = GOOD, json.loads(GOOD)["messageSignature"]["signature"]
    while "+" not in signature and "/" not in signature:
        bundle = message_bundle(sign_digest(P256, bytes.fromhex(SHA)), bytes.fromhex(SHA))
        signature = json.loads(bundle)["messageSignature"]["signature"]
    spelt = signature.replace("+", "-").replace("/", "_")
    assert spelt != signature
    changed = bundle.replace(signature.encode(), spelt.encode())
    assert signatures.check_bundle(changed, SUBJECT, KEYS).verified
