"""Trust documents: every failing place named, keys of the supported kinds only, a stable
fingerprint, parsed settings remembered; and the verdict cache's rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.errors import InvalidTrust
from gateway.domain.supply import trust
from gateway.domain.supply.state import VerdictCache


def pem(key: Any) -> str:
    return str(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


P256 = pem(ec.generate_private_key(ec.SECP256R1()))


def test_a_full_document_builds():
    built = trust.build(
        {
            "require_signature": True,
            "receipts": True,
            "keys": [
                {"name": "release", "public_key": P256},
                {"name": "ed", "public_key": pem(ed25519.Ed25519PrivateKey.generate())},
                {"name": "rsa", "public_key": pem(rsa.generate_private_key(65537, 2048))},
                {"name": "p384", "public_key": pem(ec.generate_private_key(ec.SECP384R1()))},
            ],
        }
    )
    assert built.require_signature
    assert built.receipts
    assert [key.name for key in built.keys] == ["release", "ed", "rsa", "p384"]
    assert len(built.keys[0].key_id) == 64
    assert not built.empty
    assert trust.NO_TRUST.empty


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([], "$: must be an object"),
        ({"x": 1}, "$.x: unknown setting"),
        ({"require_signature": "yes"}, "$.require_signature: must be true or false"),
        ({"keys": {}}, "$.keys: must be a list"),
        ({"keys": [1]}, "$.keys[0]: must be an object"),
        ({"keys": [{"public_key": P256}]}, "$.keys[0].name: must be a non-empty string"),
        ({"keys": [{"name": "a b", "public_key": P256}]}, "$.keys[0].name: letters"),
        ({"keys": [{"name": "k"}]}, "$.keys[0].public_key: must be a non-empty string"),
        ({"keys": [{"name": "k", "public_key": "x"}]}, "$.keys[0]: not a PEM public key"),
        (
            {"keys": [{"name": "k", "public_key": pem(ec.generate_private_key(ec.SECP521R1()))}]},
            "$.keys[0]: curve secp521r1",
        ),
        (
            {"keys": [{"name": "k", "public_key": pem(rsa.generate_private_key(65537, 1024))}]},
            "$.keys[0]: RSA keys have at least 2048 bits",
        ),
        (
            {"keys": [{"name": "k", "public_key": pem(dsa.generate_private_key(2048))}]},
            "$.keys[0]: only ECDSA, Ed25519 and RSA keys",
        ),
        ({"keys": [{"name": "k", "public_key": P256}] * 40}, "$.keys: at most 32 entries"),
        ({"identities": [{"issuer": "i", "subject": "s"}]}, "$.trusted_root: keyless identities"),
        ({"identities": [{"issuer": "i"}], "trusted_root": {}}, "$.identities[0].subject"),
        (
            {"identities": [{"issuer": "i", "subject": "s", "subject_regex": 1}]},
            "$.identities[0].subject_regex: must be true or false",
        ),
        ({"trusted_root": "text"}, "$.trusted_root: must be a sigstore trusted_root.json"),
    ],
)
def test_every_failure_names_its_place(document, reason):
    with pytest.raises(InvalidTrust) as failed:
        trust.build(document)
    assert failed.value.message.startswith(reason)


def test_the_fingerprint_follows_the_content_not_the_spelling():
    one = trust.build({"keys": [{"name": "k", "public_key": P256}], "require_signature": True})
    two = trust.build({"require_signature": True, "keys": [{"public_key": P256, "name": "k"}]})
    other = trust.build({"keys": [{"name": "k", "public_key": P256}]})
    assert one.fingerprint == two.fingerprint != other.fingerprint


def test_stored_settings_are_parsed_once():
    text = trust.dump_document({"require_signature": True})
    assert trust.settings_of({trust.TRUST_SETTING: text}) is trust.settings_of(
        {trust.TRUST_SETTING: text}
    )
    assert trust.settings_of({}) is trust.NO_TRUST


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=8,
    )
)
def test_arbitrary_json_is_either_trust_or_a_named_failure(document):
    try:
        outcome: object = trust.build(json.loads(json.dumps(document)))
    except InvalidTrust as failed:
        outcome = failed.message
    assert isinstance(outcome, trust.Trust) or str(outcome).startswith("$")


def test_refusals_expire_soon_and_admitting_verdicts_later(monkeypatch):
    cache = VerdictCache(size=2, negative_ttl=10, positive_ttl=100)
    now = [100.0]
    monkeypatch.setattr("gateway.domain.cache.time.monotonic", lambda: now[0])
    cache.put("m1", "f", "yes", admits=True)
    cache.put("m2", "f", "no", admits=False)
    now[0] += 11
    assert cache.get("m1", "f") == "yes"
    assert cache.get("m2", "f") is None
    assert cache.get("m1", "other trust") is None
    now[0] += 90
    assert cache.get("m1", "f") is None  # admitting verdicts expire too, later
    cache.put("m1", "f", "yes", admits=True)
    cache.put("m3", "f", "yes", admits=True)
    assert cache.get("m1", "f") == "yes"
    cache.put("m4", "f", "yes", admits=True)
    assert cache.get("m3", "f") is None  # least recently used goes first
    cache.forget("m4")
    assert cache.get("m4", "f") is None
    assert cache.get("m1", "f") == "yes"
    cache.remember_sha256("m3", "ab")
    assert cache.sha256("m3") == "ab"
    for n in range(3):
        cache.remember_sha256(f"x{n}", "cd")
    assert cache.sha256("m3") is None
