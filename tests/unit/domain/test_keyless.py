"""Offline keyless verification of sigstore bundles (domain/keyless.py), against a private
sigstore instance made at test time (tests/fixtures/sigstore_root.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigstore.models import Bundle

from gateway.domain.supply import keyless
from gateway.domain.supply.keyless import (
    Identity,
    KeylessResult,
    TrustedRoot,
    is_keyless,
    load_trusted_root,
    verify_keyless,
)
from tests.fixtures import supply_chain
from tests.fixtures.sigstore_root import (
    ISSUER,
    OIDC_ISSUER_V1,
    OIDC_ISSUER_V2,
    PKI,
    SUBJECT,
    SigstorePKI,
    sign_keyless,
)

ARTIFACT = b"release bytes"
DIGEST = hashlib.sha256(ARTIFACT).hexdigest()
TRUSTED = (Identity(issuer=ISSUER, subject=SUBJECT),)
ROOT = load_trusted_root(PKI.trusted_root_json())
OTHER = SigstorePKI.create("other")
WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0"
GITHUB = "https://token.actions.githubusercontent.com"


def verify(
    bundle: bytes,
    digest: str = DIGEST,
    identities: tuple[Identity, ...] = TRUSTED,
    root: TrustedRoot = ROOT,
) -> KeylessResult:
    return verify_keyless(bundle, digest, identities, root)


def edited(bundle: bytes, edit: Callable[[dict[str, Any]], object]) -> bytes:
    document = json.loads(bundle)
    edit(document)
    return json.dumps(document).encode()


def flip_b64(value: str, index: int = 10) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def entry(document: dict[str, Any]) -> dict[str, Any]:
    entries: list[dict[str, Any]] = document["verificationMaterial"]["tlogEntries"]
    return entries[0]


# -- what verifies -----------------------------------------------------------------------


def test_a_valid_bundle_verifies_and_names_the_signer() -> None:
    assert verify(sign_keyless(ARTIFACT)) == KeylessResult(True, ISSUER, SUBJECT, None)


def test_a_bundle_signed_over_the_digest_verifies_like_one_over_the_bytes() -> None:
    assert PKI.sign_keyless(DIGEST) == PKI.sign_keyless(ARTIFACT)
    assert verify(PKI.sign_keyless(DIGEST)).verified


def test_the_digest_may_be_given_in_upper_case() -> None:
    assert verify(sign_keyless(ARTIFACT), DIGEST.upper()).verified


def test_any_of_the_trusted_identities_will_do() -> None:
    identities = (Identity(issuer=GITHUB, subject=WORKFLOW), *TRUSTED)
    assert verify(sign_keyless(ARTIFACT), identities=identities).verified


@pytest.mark.parametrize(
    "extensions",
    [(OIDC_ISSUER_V1,), (OIDC_ISSUER_V2,), (OIDC_ISSUER_V2, OIDC_ISSUER_V1)],
    ids=["issuer-v1-only", "issuer-v2-only", "both"],
)
def test_the_issuer_is_read_from_either_fulcio_extension(extensions: tuple[Any, ...]) -> None:
    bundle = PKI.sign_keyless(ARTIFACT, issuer_extensions=extensions)
    assert verify(bundle) == KeylessResult(True, ISSUER, SUBJECT, None)


def test_a_certificate_without_an_issuer_extension_is_not_trusted() -> None:
    result = verify(PKI.sign_keyless(ARTIFACT, issuer_extensions=()))
    assert (result.verified, result.issuer, result.subject) == (False, None, SUBJECT)
    assert result.reason == f"signer {SUBJECT} (issuer unknown) is not a trusted identity"


def test_a_dsse_attestation_verifies_when_its_statement_names_the_object() -> None:
    bundle = PKI.sign_keyless(ARTIFACT, dsse=True)
    assert is_keyless(bundle)
    assert verify(bundle) == KeylessResult(True, ISSUER, SUBJECT, None)


def test_a_dsse_attestation_about_another_object_does_not_verify() -> None:
    bundle = PKI.sign_keyless(b"another object", dsse=True)
    result = verify(bundle)
    assert not result.verified
    assert result.reason == f"the in-toto statement's subjects do not include sha256:{DIGEST}"


def test_a_username_san_is_read_from_sigstores_other_name() -> None:
    identity = Identity(issuer=ISSUER, subject="builder")
    result = verify(PKI.sign_keyless(ARTIFACT, ISSUER, "builder"), identities=(identity,))
    assert result == KeylessResult(True, ISSUER, "builder", None)


def test_a_long_issuer_url_is_read_from_its_der_string() -> None:
    issuer = "https://issuer.example.test/" + "realms/" * 30
    bundle = PKI.sign_keyless(ARTIFACT, issuer, issuer_extensions=(OIDC_ISSUER_V2,))
    identity = Identity(issuer=issuer, subject=SUBJECT)
    assert verify(bundle, identities=(identity,)) == KeylessResult(True, issuer, SUBJECT, None)


# -- what does not ---------------------------------------------------------------------------


def test_a_dsse_envelope_of_something_else_than_in_toto_does_not_verify() -> None:
    bundle = PKI.signed(ARTIFACT, dsse=True, payload_type="text/plain").bundle
    result = verify(bundle)
    assert result.reason == "the DSSE payload is 'text/plain', not an in-toto statement"


@pytest.mark.parametrize(
    "statement",
    [
        b"not json",
        b"[]",
        b'{"subject": {}}',
        b'{"subject": ["x", {"digest": []}, {"digest": {"sha512": "00"}}]}',
    ],
    ids=["not-json", "array", "subject-not-a-list", "no-sha256-subject"],
)
def test_a_statement_that_does_not_name_the_digest_is_refused(statement: bytes) -> None:
    assert not keyless._statement_names(statement, DIGEST)
    assert keyless._statement_names(
        json.dumps({"subject": [{"digest": {"sha256": DIGEST.upper()}}]}).encode(), DIGEST
    )


@pytest.mark.parametrize(
    ("der", "text"),
    [
        (b"\x0c\x02ok", "ok"),
        (b"\x0c\x81\x02ok", "ok"),
        (b"\x0c\x03ok", None),  # length beyond the value
        (b"\x13\x02ok", None),  # a PrintableString, not UTF8String
        (b"\x0c\x85\x00\x00\x00\x00\x02ok", None),  # length of length out of range
        (b"\x0c\x02\xff\xfe", None),
        (b"\x0c", None),
    ],
    ids=["short", "long-form", "truncated", "other-tag", "huge-length", "not-utf8", "no-length"],
)
def test_der_utf8_strings_are_read_strictly(der: bytes, text: str | None) -> None:
    assert keyless._utf8_string(der) == text


def test_a_wrong_digest_does_not_verify_but_still_names_the_signer() -> None:
    result = verify(sign_keyless(ARTIFACT), hashlib.sha256(b"other").hexdigest())
    assert (result.verified, result.issuer, result.subject) == (False, ISSUER, SUBJECT)
    assert result.reason == "Bundle message digest mismatch"


def test_a_wrong_digest_without_message_digest_fails_on_the_signature() -> None:
    bundle = edited(sign_keyless(ARTIFACT), lambda d: d["messageSignature"].pop("messageDigest"))
    assert verify(bundle).verified
    result = verify(bundle, hashlib.sha256(b"other").hexdigest())
    assert result.reason == "Signature is invalid for input"


@pytest.mark.parametrize(
    ("issuer", "subject"),
    [(ISSUER, "mallory@example.test"), ("https://evil.test", SUBJECT)],
    ids=["wrong-subject", "wrong-issuer"],
)
def test_a_signer_who_is_not_trusted_does_not_verify(issuer: str, subject: str) -> None:
    result = verify(PKI.sign_keyless(ARTIFACT, issuer, subject))
    assert (result.verified, result.issuer, result.subject) == (False, issuer, subject)
    assert result.reason == f"signer {subject} (issuer {issuer}) is not a trusted identity"


@pytest.mark.parametrize(
    ("pattern", "verified"),
    [
        (r"https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*", True),
        (r"https://github\.com/acme/.*", True),
        (r"https://github\.com/acme/app", False),  # a prefix is not a match
        (r".*/other/.*", False),
    ],
    ids=["tag-pattern", "org-pattern", "prefix-only", "other-repo"],
)
def test_a_regex_subject_must_match_the_whole_san(pattern: str, verified: bool) -> None:
    bundle = PKI.sign_keyless(ARTIFACT, GITHUB, WORKFLOW)
    identity = Identity(issuer=GITHUB, subject=pattern, subject_regex=True)
    result = verify(bundle, identities=(identity,))
    assert (result.verified, result.subject) == (verified, WORKFLOW)


def test_a_regex_subject_still_needs_the_exact_issuer() -> None:
    identity = Identity(issuer="https://evil.test", subject=".*", subject_regex=True)
    assert not verify(sign_keyless(ARTIFACT), identities=(identity,)).verified


def test_a_regex_that_does_not_compile_is_refused_when_the_identity_is_made() -> None:
    with pytest.raises(ValueError, match="subject regex"):
        Identity(issuer=ISSUER, subject="(unclosed", subject_regex=True)


def test_no_trusted_identity_verifies_nothing() -> None:
    result = verify(sign_keyless(ARTIFACT), identities=())
    assert result.reason == "no trusted keyless identity is configured"


def test_a_certificate_from_another_ca_does_not_verify() -> None:
    result = verify(OTHER.sign_keyless(ARTIFACT))
    assert (result.verified, result.issuer, result.subject) == (False, ISSUER, SUBJECT)
    assert result.reason is not None
    assert result.reason.startswith("failed to build timestamp certificate chain")
    assert verify(OTHER.sign_keyless(ARTIFACT), root=load_trusted_root(OTHER.trusted_root_json()))


def test_a_certificate_issued_before_the_ca_existed_does_not_verify() -> None:
    bundle = PKI.sign_keyless(ARTIFACT, signed_at=datetime(2024, 6, 1, tzinfo=UTC))
    result = verify(bundle)
    assert result.reason is not None
    assert "certificate chain" in result.reason


def test_a_tampered_signature_does_not_verify() -> None:
    def tamper(document: dict[str, Any]) -> None:
        signature = document["messageSignature"]
        signature["signature"] = flip_b64(signature["signature"])

    result = verify(edited(sign_keyless(ARTIFACT), tamper))
    assert (result.verified, result.reason) == (False, "Signature is invalid for input")


def test_a_tampered_dsse_signature_does_not_verify() -> None:
    def tamper(document: dict[str, Any]) -> None:
        signature = document["dsseEnvelope"]["signatures"][0]
        signature["sig"] = flip_b64(signature["sig"])

    result = verify(edited(PKI.sign_keyless(ARTIFACT, dsse=True), tamper))
    assert (result.verified, result.reason) == (False, "DSSE: invalid signature")


def _other_body(document: dict[str, Any]) -> None:
    other = json.loads(PKI.sign_keyless(b"other"))
    entry(document)["canonicalizedBody"] = entry(other)["canonicalizedBody"]


def _other_entry(document: dict[str, Any]) -> None:
    other = json.loads(PKI.sign_keyless(b"other"))
    document["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"]["tlogEntries"]


def _later(document: dict[str, Any]) -> None:
    entry(document)["integratedTime"] = str(int(entry(document)["integratedTime"]) + 1)


def _root_hash(document: dict[str, Any]) -> None:
    proof = entry(document)["inclusionProof"]
    proof["rootHash"] = flip_b64(proof["rootHash"], 0)


def _checkpoint(document: dict[str, Any]) -> None:
    checkpoint = entry(document)["inclusionProof"]["checkpoint"]
    checkpoint["envelope"] = checkpoint["envelope"].replace("\n1\n", "\n2\n", 1)


def _promise(document: dict[str, Any]) -> None:
    promise = entry(document)["inclusionPromise"]
    promise["signedEntryTimestamp"] = flip_b64(promise["signedEntryTimestamp"])


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_other_body, "invalid log entry: inclusion proof contains invalid root hash"),
        (_root_hash, "invalid log entry: inclusion proof contains invalid root hash"),
        (_checkpoint, "invalid log entry: checkpoint: invalid signature"),
        (_promise, "invalid log entry: SET: invalid inclusion promise"),
        (_later, "invalid log entry: SET: invalid inclusion promise"),
        (_other_entry, "transparency log entry is inconsistent with other materials"),
    ],
    ids=[
        "body-of-another-entry",
        "root-hash",
        "checkpoint-text",
        "inclusion-promise",
        "integrated-time",
        "entry-of-another-signature",
    ],
)
def test_a_tampered_log_entry_does_not_verify(
    tamper: Callable[[dict[str, Any]], None], reason: str
) -> None:
    result = verify(edited(sign_keyless(ARTIFACT), tamper))
    assert (result.verified, result.issuer, result.subject) == (False, ISSUER, SUBJECT)
    assert result.reason is not None
    assert result.reason.startswith(reason)


def test_a_log_from_another_instance_does_not_verify() -> None:
    def foreign_log(document: dict[str, Any]) -> None:
        other = json.loads(OTHER.sign_keyless(ARTIFACT))
        document["verificationMaterial"]["tlogEntries"] = other["verificationMaterial"][
            "tlogEntries"
        ]

    assert not verify(edited(sign_keyless(ARTIFACT), foreign_log)).verified


@pytest.mark.parametrize(
    ("bundle", "reason"),
    [
        (b"not json", "malformed bundle: not a JSON object with verificationMaterial"),
        (b"[]", "malformed bundle: not a JSON object with verificationMaterial"),
        (b"\xff\xfe", "malformed bundle: not a JSON object with verificationMaterial"),
        (b"[" * 100_000, "malformed bundle: not a JSON object with verificationMaterial"),
        (b'{"verificationMaterial": {}}', "not a keyless bundle: it carries no certificate"),
        (
            b'{"verificationMaterial": {"certificate": {"rawBytes": "AAAA"}}}',
            "malformed bundle: the certificate does not parse",
        ),
    ],
    ids=["not-json", "array", "not-utf8", "deeply-nested", "no-certificate", "bad-der"],
)
def test_a_malformed_bundle_does_not_verify(bundle: bytes, reason: str) -> None:
    assert verify(bundle) == KeylessResult(False, None, None, reason)


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(mediaType="application/vnd.dev.sigstore.bundle.v9+json"),
        lambda d: d["verificationMaterial"].update(tlogEntries=[]),
        lambda d: entry(d).pop("inclusionPromise"),
        lambda d: entry(d).pop("inclusionProof"),
        lambda d: entry(d).update(logIndex=-1),
        lambda d: d.update(unexpected=True),
    ],
    ids=["media-type", "no-log-entry", "no-promise", "no-proof", "negative-index", "extra-field"],
)
def test_a_bundle_sigstore_refuses_to_read_is_malformed(
    edit: Callable[[dict[str, Any]], object],
) -> None:
    result = verify(edited(sign_keyless(ARTIFACT), edit))
    assert (result.verified, result.issuer, result.subject) == (False, ISSUER, SUBJECT)
    assert result.reason is not None
    assert result.reason.startswith("malformed bundle: ")


@pytest.mark.parametrize("digest", ["", "abc", "sha256:" + DIGEST, DIGEST[:-1] + "g"])
def test_a_digest_that_is_not_sha256_hex_does_not_verify(digest: str) -> None:
    result = verify(sign_keyless(ARTIFACT), digest)
    assert result.reason is not None
    assert result.reason.startswith("not a SHA-256 hex digest")


def test_a_key_based_bundle_is_not_keyless() -> None:
    bundle = supply_chain.dump(supply_chain.sigstore_bundle(ARTIFACT))
    assert not is_keyless(bundle)
    assert verify(bundle).reason == "not a keyless bundle: it carries no certificate"


def test_a_bundle_with_a_certificate_chain_is_keyless() -> None:
    def to_chain(document: dict[str, Any]) -> None:
        material = document["verificationMaterial"]
        material["x509CertificateChain"] = {"certificates": [material.pop("certificate")]}

    assert is_keyless(sign_keyless(ARTIFACT))
    assert is_keyless(edited(sign_keyless(ARTIFACT), to_chain))
    assert not is_keyless(b"not json")
    assert not is_keyless(b'{"verificationMaterial": {"certificate": {"rawBytes": "!"}}}')


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_byte_flips_never_raise_and_never_verify_a_changed_bundle(data: st.DataObject) -> None:
    original = sign_keyless(ARTIFACT)
    flips = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)),
            min_size=1,
            max_size=3,
        )
    )
    mutated = bytearray(original)
    for index, mask in flips:
        mutated[index] ^= mask
    result = verify(bytes(mutated))
    if result.verified:
        # Only a flip sigstore does not read may pass: JSON whitespace, base64 padding bits,
        # or the signer's name on a checkpoint's signature line (a signed note's signature is
        # matched by its key hash; the name is not signed).
        assert _read(bytes(mutated)) == _read(original)
    else:
        assert result.reason


def _read(bundle: bytes) -> dict[str, Any]:
    """The bundle as sigstore reads it, checkpoint signature names blanked."""
    document: dict[str, Any] = json.loads(Bundle.from_json(bundle).to_json())
    for entry in document.get("verificationMaterial", {}).get("tlogEntries", []):
        checkpoint = entry.get("inclusionProof", {}).get("checkpoint", {})
        if "envelope" in checkpoint:
            checkpoint["envelope"] = re.sub(
                r"^\u2014 \S+ ", "\u2014 <name> ", checkpoint["envelope"], flags=re.M
            )
    return document


def test_a_checkpoint_signature_line_is_matched_by_key_not_name() -> None:
    """The one flip outside JSON whitespace and base64 padding that verifies (found by the
    property above): the name on the checkpoint's signature line."""
    original = sign_keyless(ARTIFACT)
    envelope = json.loads(original)["verificationMaterial"]["tlogEntries"][0]["inclusionProof"][
        "checkpoint"
    ]["envelope"]
    line = next(text for text in envelope.split("\n") if text.startswith("\u2014 "))
    renamed = line.replace("\u2014 ", "\u2014 x", 1)
    changed = original.replace(json.dumps(line)[1:-1].encode(), json.dumps(renamed)[1:-1].encode())
    assert changed != original
    assert verify(changed).verified
    assert _read(changed) == _read(original)


# -- the trusted root -----------------------------------------------------------------------


def test_the_verifier_is_built_once_per_root() -> None:
    root = load_trusted_root(PKI.trusted_root_json())
    assert root.verifier is root.verifier
    assert verify(sign_keyless(ARTIFACT), root=root).verified


def _root(edit: Callable[[dict[str, Any]], object]) -> str:
    document = PKI.trusted_root()
    edit(document)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "trusted root: "),
        ("[]", "trusted root: "),
        (_root(lambda d: d.update(mediaType="application/json")), "trusted root: mediaType: "),
        (
            _root(
                lambda d: d.update(mediaType="application/vnd.dev.sigstore.trustedroot.v0.2+json")
            ),
            "unsupported trusted root format",
        ),
        (_root(lambda d: d.update(certificateAuthorities=[])), "Fulcio certificates not found"),
        (_root(lambda d: d.update(tlogs=[])), "trusted root: tlogs: no log"),
        (_root(lambda d: d.update(ctlogs=[])), "trusted root: ctlogs: no log"),
        (
            _root(lambda d: d["ctlogs"][0]["publicKey"].update(rawBytes="AAAA")),
            "trusted root: ctlogs[0].publicKey: unreadable",
        ),
        (
            _root(
                lambda d: d["certificateAuthorities"][0]["certChain"]["certificates"][0].update(
                    rawBytes="AAAA"
                )
            ),
            "trusted root: ",
        ),
    ],
    ids=[
        "not-json",
        "array",
        "media-type",
        "media-type-v0.2",
        "no-ca",
        "no-tlog",
        "no-ctlog",
        "bad-ct-key",
        "bad-ca-certificate",
    ],
)
def test_a_malformed_trusted_root_is_refused_with_a_reason(document: str, message: str) -> None:
    with pytest.raises(ValueError, match="trusted root") as error:
        load_trusted_root(document)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_root_without_the_signing_ca_does_not_verify() -> None:
    root = load_trusted_root(
        _root(
            lambda d: d.update(
                certificateAuthorities=OTHER.trusted_root()["certificateAuthorities"]
            )
        )
    )
    assert not verify(sign_keyless(ARTIFACT), root=root).verified
