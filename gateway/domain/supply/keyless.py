"""Keyless verification of sigstore bundles, offline, over the object's SHA-256.

A keyless bundle carries a short-lived Fulcio certificate for an OIDC identity instead of
naming a public key. It verifies against a *trusted root* (the ``trusted_root.json`` of a
sigstore instance, from the bucket's trust settings) when, as sigstore-python checks it:

- the certificate chains to a certificate authority of the root at the time the log
  integrated the entry (the inclusion promise's time, or an RFC 3161 timestamp from a TSA of
  the root), and carries an SCT signed by a CT log of the root;
- the transparency log entry has a valid inclusion proof, a checkpoint and an inclusion
  promise signed by a log of the root, and agrees with the signature and certificate;
- the signature covers the object's digest (a message signature), or the DSSE envelope's
  in-toto statement names the digest among its subjects;
- the certificate's OIDC issuer and SAN match one of the trusted identities.

Nothing is fetched (no TUF refresh, no Fulcio, no Rekor), and the object is never read: the
caller passes the SHA-256 the gateway recorded when it stored the object. Every failure is a
``KeylessResult`` with ``verified=False`` and a one-line reason; bad input never raises.

What sigstore-python decides, not this module: the root's ``validFor`` windows are read
against the current clock (a CA or log key whose window starts in the future is ignored);
a bundle with RFC 3161 timestamps needs a timestamp authority in the root; Rekor v2 entries
(``hashedrekord`` 0.0.2, no inclusion promise) verify only through such a timestamp.

sigstore bundle: https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto
Fulcio certificate extensions: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

if TYPE_CHECKING:  # sigstore is imported on first use: ~20 MiB a gateway without keyless
    # signers never needs (docs/performance.md)
    from sigstore.models import Bundle
    from sigstore.models import TrustedRoot as SigstoreTrustedRoot
    from sigstore.verify import Verifier
    from sigstore_models.trustroot import v1 as trustroot_v1

__all__ = [
    "Identity",
    "KeylessResult",
    "TrustedRoot",
    "is_keyless",
    "load_trusted_root",
    "verify_keyless",
]

IN_TOTO = "application/vnd.in-toto+json"
OIDC_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
OIDC_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")
SIGSTORE_OTHER_NAME = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7")
MAX_REASON = 300
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Identity:
    """A trusted keyless signer: an OIDC issuer (exact) and a SAN (exact, or a regex).

    A regex must match the whole SAN (``re.fullmatch``), so ``.*@example\\.com`` does not
    accept ``eve@example.com.evil``. Raises ``ValueError`` when the regex does not compile, so
    a bad trust setting is refused when it is made rather than at each verification.
    """

    issuer: str
    subject: str
    subject_regex: bool = False

    def __post_init__(self) -> None:
        if self.subject_regex:
            try:
                re.compile(self.subject)
            except re.error as exc:
                raise ValueError(f"subject regex {self.subject!r}: {exc}") from exc

    def matches(self, issuer: str | None, sans: Sequence[str]) -> bool:
        if issuer != self.issuer:
            return False
        if self.subject_regex:
            return any(re.fullmatch(self.subject, san) for san in sans)
        return self.subject in sans


@dataclass(frozen=True)
class KeylessResult:
    """A verdict. ``issuer`` and ``subject`` are read from the certificate whenever it parses,
    also when the bundle does not verify (so a refusal can say who signed it)."""

    verified: bool
    issuer: str | None
    subject: str | None
    reason: str | None


class TrustedRoot:
    """A sigstore trusted root and its verifier, built once (use :func:`load_trusted_root`).

    Keep one per trust setting: building the verifier parses every CA certificate.
    """

    __slots__ = ("_verifier",)

    def __init__(self, root: SigstoreTrustedRoot) -> None:
        from sigstore.verify import Verifier

        self._verifier = Verifier(trusted_root=root)

    @property
    def verifier(self) -> Verifier:
        return self._verifier


def load_trusted_root(document: str) -> TrustedRoot:
    """Parse a ``trusted_root.json`` (protobuf-specs ``TrustedRoot``, media type
    ``application/vnd.dev.sigstore.trustedroot+json;version=0.1``).

    Raises ``ValueError`` naming what is wrong: not JSON, not the schema, another media type,
    no certificate authority, no transparency log or CT log, an unreadable certificate or key.
    """
    from sigstore.errors import Error as SigstoreError
    from sigstore.models import TrustedRoot as SigstoreTrustedRoot
    from sigstore_models.trustroot import v1 as trustroot_v1

    try:
        inner = trustroot_v1.TrustedRoot.from_json(document)
    except ValueError as exc:
        raise ValueError(f"trusted root: {_one_line(_describe(exc))}") from exc
    _check_keys("tlogs", inner.tlogs)
    _check_keys("ctlogs", inner.ctlogs)
    try:
        return TrustedRoot(SigstoreTrustedRoot(inner))
    except (SigstoreError, ValueError) as exc:
        raise ValueError(f"trusted root: {_one_line(_describe(exc))}") from exc


def _check_keys(field: str, logs: Sequence[trustroot_v1.TransparencyLogInstance]) -> None:
    # sigstore-python skips a log key it cannot load (with a log line) and then fails every
    # verification; refusing the root names the problem once, where it is.
    if not logs:
        raise ValueError(f"trusted root: {field}: no log")
    for index, log in enumerate(logs):
        try:
            serialization.load_der_public_key(log.public_key.raw_bytes or b"")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"trusted root: {field}[{index}].publicKey: unreadable") from exc


def is_keyless(bundle: bytes) -> bool:
    """Whether the bundle carries a certificate (or an X.509 chain) rather than a key hint."""
    material = _verification_material(_json_object(bundle))
    return material is not None and _leaf_der(material) is not None


def verify_keyless(
    bundle: bytes, sha256_hex: str, identities: Sequence[Identity], root: TrustedRoot
) -> KeylessResult:
    """Verify a keyless sigstore bundle over the object's SHA-256 (hex) against the trusted
    root and identities; see the module docstring for what is checked."""
    document = _json_object(bundle)
    material = _verification_material(document)
    leaf = _leaf_certificate(material) if material is not None else None
    issuer = _issuer(leaf) if leaf is not None else None
    sans = _sans(leaf) if leaf is not None else []
    subject = sans[0] if sans else None

    def refused(reason: str) -> KeylessResult:
        return KeylessResult(False, issuer, subject, _one_line(reason))

    if document is None or material is None:
        return refused("malformed bundle: not a JSON object with verificationMaterial")
    if leaf is None:
        if _leaf_der(material) is None:
            return refused("not a keyless bundle: it carries no certificate")
        return refused("malformed bundle: the certificate does not parse")
    if not _SHA256_HEX.fullmatch(sha256_hex):
        return refused(f"not a SHA-256 hex digest: {sha256_hex[:80]!r}")
    if not identities:
        return refused("no trusted keyless identity is configured")
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle
    from sigstore_models.common.v1 import HashAlgorithm

    try:
        parsed = Bundle.from_json(bundle)
    except Exception as exc:  # sigstore raises InvalidBundle, ValueError, ExtensionNotFound...
        return refused(f"malformed bundle: {_describe(exc)}")
    policy = _TrustedIdentities(identities)
    digest = bytes.fromhex(sha256_hex)
    try:
        if document.get("dsseEnvelope") is not None:
            _verify_attestation(root.verifier, parsed, policy, digest)
        else:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest)
            root.verifier.verify_artifact(hashed, parsed, policy)
    except Exception as exc:  # whatever sigstore or cryptography raise, the verdict is "no"
        return refused(_describe(exc))
    return KeylessResult(True, issuer, subject, None)


def _verify_attestation(
    verifier: Verifier, bundle: Bundle, policy: _TrustedIdentities, digest: bytes
) -> None:
    """A DSSE bundle signs a statement, not the object: the statement must name the object."""
    from sigstore.errors import VerificationError

    payload_type, payload = verifier.verify_dsse(bundle, policy)
    if payload_type != IN_TOTO:
        raise VerificationError(f"the DSSE payload is {payload_type!r}, not an in-toto statement")
    if not _statement_names(payload, digest.hex()):
        raise VerificationError(
            f"the in-toto statement's subjects do not include sha256:{digest.hex()}"
        )


def _statement_names(payload: bytes, sha256_hex: str) -> bool:
    try:
        statement = json.loads(payload)
    except (ValueError, RecursionError):
        return False
    subjects = statement.get("subject") if isinstance(statement, dict) else None
    if not isinstance(subjects, list):
        return False
    for entry in subjects:
        digests = entry.get("digest") if isinstance(entry, dict) else None
        value = digests.get("sha256") if isinstance(digests, dict) else None
        if isinstance(value, str) and value.lower() == sha256_hex.lower():
            return True
    return False


class _TrustedIdentities:
    """The identity policy (a sigstore ``VerificationPolicy``): any trusted identity matches.

    Not sigstore's ``AnyOf(Identity(...))``: its ``Identity`` reads only the issuer extension
    ``.1.1`` (Fulcio's deprecated one; ``.1.8`` supersedes it), it cannot match a regex, and
    ``AnyOf`` reduces a refusal to "0 of N policies succeeded"; this one names the signer.
    """

    def __init__(self, identities: Sequence[Identity]) -> None:
        self._identities = tuple(identities)

    def verify(self, cert: x509.Certificate) -> None:
        from sigstore.errors import VerificationError

        issuer = _issuer(cert)
        sans = _sans(cert)
        if any(identity.matches(issuer, sans) for identity in self._identities):
            return
        who = ", ".join(sans) or "no SAN"
        raise VerificationError(
            f"signer {who} (issuer {issuer or 'unknown'}) is not a trusted identity"
        )


# -- reading the bundle without trusting it ------------------------------------------------


def _json_object(bundle: bytes) -> dict[str, object] | None:
    try:
        document = json.loads(bundle)
    except (ValueError, RecursionError):  # also UnicodeDecodeError; RecursionError: [[[[...
        return None
    return document if isinstance(document, dict) else None


def _verification_material(document: dict[str, object] | None) -> dict[str, object] | None:
    material = document.get("verificationMaterial") if document is not None else None
    return material if isinstance(material, dict) else None


def _leaf_der(material: dict[str, object]) -> bytes | None:
    """The signing certificate's DER: ``certificate`` (v0.3) or the chain's first (v0.1/0.2)."""
    raw: object = None
    certificate = material.get("certificate")
    chain = material.get("x509CertificateChain")
    if isinstance(certificate, dict):
        raw = certificate.get("rawBytes")
    elif isinstance(chain, dict):
        certificates = chain.get("certificates")
        if isinstance(certificates, list) and certificates and isinstance(certificates[0], dict):
            raw = certificates[0].get("rawBytes")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None


def _leaf_certificate(material: dict[str, object]) -> x509.Certificate | None:
    der = _leaf_der(material)
    if der is None:
        return None
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def _issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer: extension ``.1.8`` (a DER UTF8String), else ``.1.1`` (raw bytes)."""
    v2 = _extension_bytes(cert, OIDC_ISSUER_V2)
    if v2 is not None and (text := _utf8_string(v2)) is not None:
        return text
    v1 = _extension_bytes(cert, OIDC_ISSUER_V1)
    if v1 is not None:
        try:
            return v1.decode()
        except UnicodeDecodeError:
            return None
    return None


def _sans(cert: x509.Certificate) -> list[str]:
    """Emails, URIs and sigstore's ``OtherName`` (``.1.7``, a username), in that order."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names: list[str] = list(san.get_values_for_type(x509.RFC822Name))
    names.extend(san.get_values_for_type(x509.UniformResourceIdentifier))
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == SIGSTORE_OTHER_NAME and (text := _utf8_string(other.value)):
            names.append(text)
    return names


def _extension_bytes(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_oid(oid).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _utf8_string(der: bytes) -> str | None:
    """Decode a DER UTF8String (tag 12) that is exactly ``der``; ``None`` otherwise."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length, start = der[1], 2
    if length & 0x80:
        width = length & 0x7F
        if not 1 <= width <= 4 or len(der) < 2 + width:
            return None
        length, start = int.from_bytes(der[2 : 2 + width]), 2 + width
    if len(der) != start + length:
        return None
    try:
        return der[start:].decode()
    except UnicodeDecodeError:
        return None


def _describe(exc: BaseException) -> str:
    """One human line for an exception from sigstore, pydantic or cryptography."""
    for cause in (exc, exc.__cause__, exc.__context__):
        if isinstance(cause, ValidationError):
            return _validation_reason(cause)
    # Some sigstore errors carry their message in several arguments.
    text = " ".join(str(arg) for arg in exc.args) if exc.args else ""
    return text or type(exc).__name__


def _validation_reason(error: ValidationError) -> str:
    """The first schema error as ``path: message`` (pydantic's own text spans many lines)."""
    first = error.errors(include_url=False)[0]
    path = ".".join(str(part) for part in first["loc"])
    return f"{path}: {first['msg']}" if path else str(first["msg"])


def _one_line(reason: object) -> str:
    text = " ".join(str(reason).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."
