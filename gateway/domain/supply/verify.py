"""The verdict on an object: which of its signatures verify, over which digest, by whom; its
SBOMs and whether they are valid; its attestations and their predicate types.

Trust is the bucket's (``trust.py``): a signature is *trusted* when a key or keyless identity
the bucket names verifies it over the object's SHA-256 or its manifest. Receipts (the
gateway's own key) are checked and reported, but count as trusted only if the bucket lists
that key. Verdicts are cached by manifest digest and trust fingerprint (``cache.py``), so the
``require-signature`` gate on GET costs a lookup after the first request.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Self

from opentelemetry import trace

from gateway.domain import mapping
from gateway.domain.buckets import get_bucket
from gateway.domain.errors import DomainError, NoSuchBucket, NoSuchImage, NoSuchKey, NotSigned
from gateway.domain.ports.registry import RegistryError, RegistryNotFound
from gateway.domain.store import Store
from gateway.domain.supply import digests, documents, keyless, referrers, signatures
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply.receipts import RECEIPT_KEY_NAME
from gateway.domain.supply.state import state_of
from gateway.domain.supply.trust import Trust, TrustedKey, settings_of
from gateway.domain.values import BucketRecord, ObjectRecord, ReferrerRecord
from gateway.domain.version_ids import named_version
from gateway.observability import metrics

COSIGN_SIGNATURE = "application/vnd.dev.cosign.artifact.sig.v1+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
KEY, KEYLESS, RECEIPT = "key", "keyless", "receipt"
tracer = trace.get_tracer(__name__)  # a no-op unless the process traces (observability/)


@dataclass(frozen=True)
class Signer:
    kind: str  # KEY, KEYLESS or RECEIPT
    name: str | None = None  # the trusted key's name
    issuer: str | None = None  # keyless: the OIDC issuer
    subject: str | None = None  # keyless: the certificate's identity


@dataclass(frozen=True)
class SignatureVerdict:
    digest: str  # the referrer manifest's
    artifact_type: str
    verified: bool
    trusted: bool
    covers: str | None = None  # "object" or "manifest"
    over: str | None = None  # the digest signed
    signer: Signer | None = None
    reason: str | None = None

    @classmethod
    def of(
        cls,
        record: ReferrerRecord,
        check: signatures.Check,
        signer: Signer | None,
        trusted: bool,
        **extra: Any,
    ) -> Self:
        return cls(
            record.digest,
            record.artifact_type,
            check.verified,
            trusted,
            check.covers,
            check.over,
            signer,
            check.reason,
            **extra,
        )


@dataclass(frozen=True)
class SbomVerdict:
    digest: str
    artifact_type: str
    valid: bool
    reason: str | None = None


@dataclass(frozen=True)
class AttestationVerdict(SignatureVerdict):
    """An attestation's envelope is checked like a signature; its statement says what of."""

    predicate_type: str | None = None


@dataclass(frozen=True)
class Verdict:
    bucket: str
    key: str
    manifest_digest: str
    sha256: str | None
    require_signature: bool
    signed: bool  # a signature by a key or identity the bucket trusts covers the object
    signatures: tuple[SignatureVerdict, ...] = ()
    sboms: tuple[SbomVerdict, ...] = ()
    attestations: tuple[AttestationVerdict, ...] = ()
    reason: str | None = None  # why not signed
    checked: datetime = field(default_factory=lambda: datetime.now(UTC))
    cached: bool = False

    @property
    def sbom_valid(self) -> bool:
        return any(sbom.valid for sbom in self.sboms)


@dataclass(frozen=True)
class _Context:
    trust: Trust
    subject: signatures.Subject
    keys: tuple[TrustedKey, ...]  # the bucket's, then the receipt key
    repository: str  # where the subject and its referrers are


async def _document(store: Store, ctx: _Context, record: ReferrerRecord) -> bytes:
    """A referrer's document, read from the subject's repository."""
    pieces: list[bytes] = []
    async with store.registry.open_blob(ctx.repository, record.blob_digest) as blob:
        async for chunk in blob:
            pieces.append(chunk)
    return b"".join(pieces)


def _signer(ctx: _Context, name: str | None) -> tuple[Signer | None, bool]:
    if name is None:
        return None, False
    trusted = any(key.name == name for key in ctx.trust.keys)
    return Signer(RECEIPT if name == RECEIPT_KEY_NAME else KEY, name=name), trusted


def _keyless(ctx: _Context, body: bytes) -> tuple[signatures.Check, Signer | None]:
    root = ctx.trust.root
    if root is None or not ctx.trust.identities:
        return signatures.Check(
            False, reason="keyless signature; the bucket trusts no keyless identity"
        ), None
    claimed = signatures.claimed_digests(body)
    subject = ctx.subject
    candidates = [d for d in claimed if subject.covers(d)] or [
        d for d in (f"sha256:{subject.sha256}" if subject.sha256 else None, subject.manifest) if d
    ]
    result: keyless.KeylessResult | None = None
    for digest in candidates:
        result = keyless.verify_keyless(
            body, digest.removeprefix("sha256:"), ctx.trust.identities, root
        )
        if result.verified:
            signer = Signer(KEYLESS, issuer=result.issuer, subject=result.subject)
            return signatures.Check(True, subject.covers(digest), digest), signer
    reason = result.reason if result else "signs neither the object nor its manifest"
    if claimed and not any(subject.covers(d) for d in claimed):
        reason = f"signs {', '.join(claimed)}, not this object"
    return signatures.Check(False, reason=reason), None


async def _cosign_payload(
    store: Store, ctx: _Context, record: ReferrerRecord
) -> tuple[bytes, str] | None:
    """cosign's older layout: the payload is the layer, its signature an annotation."""
    manifest = await store.registry.get_manifest(ctx.repository, record.digest)
    document = signatures.load_json(manifest.body)
    for layer in document.get("layers") or []:
        annotation = (layer.get("annotations") or {}).get(COSIGN_SIGNATURE_ANNOTATION)
        if isinstance(annotation, str):
            return await _document(store, ctx, record), annotation
    return None


async def _signature(store: Store, ctx: _Context, record: ReferrerRecord) -> SignatureVerdict:
    try:
        if record.artifact_type == COSIGN_SIGNATURE or record.media_type == SIMPLE_SIGNING:
            found = await _cosign_payload(store, ctx, record)
            if found is None:
                raise signatures.Malformed("no cosign signature annotation")
            check = signatures.check_simple_signing(*found, ctx.subject, ctx.keys)
            signer, trusted = _signer(ctx, check.key)
        else:
            body = await _document(store, ctx, record)
            if keyless.is_keyless(body):
                check, signer = _keyless(ctx, body)
                trusted = check.verified
            else:
                check = signatures.check_bundle(body, ctx.subject, ctx.keys)
                signer, trusted = _signer(ctx, check.key)
    except (signatures.Malformed, RegistryError) as exc:
        check, signer, trusted = signatures.Check(False, reason=str(exc)), None, False
    return SignatureVerdict.of(record, check, signer, trusted)


async def _sbom(store: Store, ctx: _Context, record: ReferrerRecord) -> SbomVerdict:
    try:
        body = await _document(store, ctx, record)
        document_type = types.document_type(types.SBOM, record.media_type)
        await asyncio.to_thread(documents.check, document_type, body)
    except DomainError as exc:  # an invalid document is part of the verdict
        return SbomVerdict(record.digest, record.artifact_type, False, exc.message)
    except RegistryError as exc:
        return SbomVerdict(record.digest, record.artifact_type, False, str(exc))
    return SbomVerdict(record.digest, record.artifact_type, True)


async def _attestation(store: Store, ctx: _Context, record: ReferrerRecord) -> AttestationVerdict:
    predicate = record.predicate_type
    try:
        body = await _document(store, ctx, record)
        document = signatures.load_json(body)
        envelope = signatures.parse_envelope(document.get("dsseEnvelope") or document)
        predicate = predicate or envelope.predicate_type()
        check = signatures.check_envelope(envelope, ctx.subject, ctx.keys)
    except (signatures.Malformed, RegistryError) as exc:
        check = signatures.Check(False, reason=str(exc))
    signer, trusted = _signer(ctx, check.key)
    return AttestationVerdict.of(record, check, signer, trusted, predicate_type=predicate)


async def _sha256(store: Store, record: ObjectRecord) -> str:
    known = digests.known_sha256(record) or state_of(store).verdicts.sha256(record.manifest_digest)
    if known is None:
        known = await digests.object_sha256(store, record)
        state_of(store).verdicts.remember_sha256(record.manifest_digest, known)
    return known


def _why_not(found: tuple[SignatureVerdict, ...]) -> str:
    if not found:
        return "the object has no signature"
    verified = [s for s in found if s.verified]
    if verified:
        return "no signature is by a key or identity this bucket trusts"
    reasons = "; ".join(sorted({s.reason or "not verified" for s in found}))
    return f"no signature verifies ({reasons})"


@dataclass(frozen=True)
class _Judged:
    signatures: tuple[SignatureVerdict, ...]
    sboms: tuple[SbomVerdict, ...]
    attestations: tuple[AttestationVerdict, ...]

    @property
    def signed(self) -> bool:
        return any(item.verified and item.trusted for item in self.signatures)


def _by_kind(found: list[ReferrerRecord]) -> dict[str, list[ReferrerRecord]]:
    by_kind: dict[str, list[ReferrerRecord]] = {kind: [] for kind in types.KINDS}
    for item in found:
        by_kind.setdefault(item.kind, []).append(item)
    return by_kind


def _keys(store: Store, trust: Trust) -> tuple[TrustedKey, ...]:
    """The bucket's trusted keys, and the receipt key (checked; trusted only if listed)."""
    keys = trust.keys
    signer = state_of(store).signer
    if signer is not None and all(k.key_id != signer.key_id for k in keys):
        keys = (*keys, signer.trusted_key())
    return keys


async def _judge(store: Store, ctx: _Context, by_kind: dict[str, list[ReferrerRecord]]) -> _Judged:
    return _Judged(
        tuple([await _signature(store, ctx, item) for item in by_kind[types.SIGNATURE]]),
        tuple([await _sbom(store, ctx, item) for item in by_kind[types.SBOM]]),
        tuple([await _attestation(store, ctx, item) for item in by_kind[types.ATTESTATION]]),
    )


async def _compute(store: Store, record: ObjectRecord, trust: Trust) -> Verdict:
    by_kind = _by_kind(await referrers.referrers_of(store, record))  # this version's own
    needs_digest = by_kind[types.SIGNATURE] or by_kind[types.ATTESTATION]
    sha256 = await _sha256(store, record) if needs_digest else digests.known_sha256(record)
    repository = mapping.locate(store.prefix, record.bucket, record.key).repository
    subject = signatures.Subject(record.manifest_digest, sha256)
    judged = await _judge(store, _Context(trust, subject, _keys(store, trust), repository), by_kind)
    return Verdict(
        bucket=record.bucket,
        key=record.key,
        manifest_digest=record.manifest_digest,
        sha256=sha256,
        require_signature=trust.require_signature,
        signed=judged.signed,
        signatures=judged.signatures,
        sboms=judged.sboms,
        attestations=judged.attestations,
        reason=None if judged.signed else _why_not(judged.signatures),
    )


async def verdict_of(
    store: Store, bucket: BucketRecord, record: ObjectRecord, *, fresh: bool = False
) -> Verdict:
    with tracer.start_as_current_span("verify") as span:
        trust = settings_of(bucket.settings, state_of(store).trusted_root)
        verdict = None
        if not fresh:
            cached = state_of(store).verdicts.get(record.manifest_digest, trust.fingerprint)
            if isinstance(cached, Verdict):
                verdict = replace(cached, cached=True)
        if verdict is None:
            verdict = await _compute(store, record, trust)
            verdicts = state_of(store).verdicts
            verdicts.put(record.manifest_digest, trust.fingerprint, verdict, admits=verdict.signed)
        _count("object", verdict.signed, cached=verdict.cached)
        _describe(span, verdict.cached, verdict.signed, len(verdict.signatures))
        return verdict


def _count(subject: str, signed: bool, *, cached: bool) -> None:
    outcome = "signed" if signed else "unsigned"
    metrics.VERIFY_VERDICTS.labels(subject, outcome, "true" if cached else "false").inc()


def _describe(span: trace.Span, cached: bool, signed: bool, signatures: int) -> None:
    """The verify span's outcome: from the cache or computed (the referrers read and each
    signature checked appear as its children), and the verdict."""
    if span.is_recording():
        span.set_attributes(
            {
                "artifact_store.verify.cached": cached,
                "artifact_store.verify.signed": signed,
                "artifact_store.verify.signatures": signatures,
            }
        )


async def verify(
    store: Store, bucket: str, key: str, *, version: str | None = None, fresh: bool = False
) -> Verdict:
    """The verdict on the object's current version, or on its version ``version`` (a
    ``versionId`` as sent)."""
    bucket_record = await get_bucket(store, bucket)
    if version is not None:
        record = await named_version(store, bucket, key, version)
    else:
        found = await store.index.get_object(bucket, key)
        if found is None:
            raise NoSuchKey()
        record = found
    return await verdict_of(store, bucket_record, record, fresh=fresh)


async def gate(store: Store, bucket: BucketRecord, record: ObjectRecord) -> None:
    """Refuse to hand out an object of a ``require-signature`` bucket without a trusted
    signature (GetObject, and the source of a copy)."""
    if not settings_of(bucket.settings, state_of(store).trusted_root).require_signature:
        return
    verdict = await verdict_of(store, bucket, record)
    if not verdict.signed:
        raise NotSigned(
            f"This bucket requires a signature by a key or identity it trusts: {verdict.reason}."
        )


@dataclass(frozen=True)
class ImageVerdict:
    """The verdict on an image (or any manifest pushed through ``/v2/``): its referrers, judged
    by the trust of the bucket its namespace is decided as (none: nothing is trusted)."""

    repository: str
    reference: str
    manifest_digest: str
    trust_bucket: str | None  # the bucket whose trust applied, if it exists
    signed: bool
    signatures: tuple[SignatureVerdict, ...] = ()
    sboms: tuple[SbomVerdict, ...] = ()
    attestations: tuple[AttestationVerdict, ...] = ()
    reason: str | None = None
    checked: datetime = field(default_factory=lambda: datetime.now(UTC))
    cached: bool = False

    @property
    def sbom_valid(self) -> bool:
        return any(sbom.valid for sbom in self.sboms)


async def _image_referrers(store: Store, repository: str, subject: str) -> list[ReferrerRecord]:
    found: list[ReferrerRecord] = []
    for digest in await referrers.listed(store, repository, subject):
        record = await referrers.read_referrer(
            store, "", repository, subject, digest, repository=repository
        )
        if record is not None:
            found.append(record)
    return sorted(found, key=lambda record: (record.created, record.digest))


async def verify_image(
    store: Store, repository: str, reference: str, trust_bucket: str, *, fresh: bool = False
) -> ImageVerdict:
    """The verdict on ``repository:reference`` (a tag or a digest). Image signatures cover the
    manifest (``cosign sign`` signs the manifest digest), so that is the subject."""
    with tracer.start_as_current_span("verify") as span:
        verdict = await _verify_image(store, repository, reference, trust_bucket, fresh=fresh)
        _describe(span, verdict.cached, verdict.signed, len(verdict.signatures))
        return verdict


async def _verify_image(
    store: Store, repository: str, reference: str, trust_bucket: str, *, fresh: bool
) -> ImageVerdict:
    try:
        settings = (await get_bucket(store, trust_bucket)).settings
        applied: str | None = trust_bucket
    except NoSuchBucket:
        settings, applied = {}, None
    trust = settings_of(settings, state_of(store).trusted_root)
    try:
        manifest = await store.registry.get_manifest(repository, reference)
    except RegistryNotFound:
        raise NoSuchImage(f"No manifest {repository}:{reference}.") from None
    digest = manifest.digest
    verdicts = state_of(store).verdicts
    if not fresh:
        cached = verdicts.get(digest, trust.fingerprint)
        if isinstance(cached, ImageVerdict) and cached.repository == repository:
            _count("image", cached.signed, cached=True)
            return replace(cached, reference=reference, cached=True)
    by_kind = _by_kind(await _image_referrers(store, repository, digest))
    subject = signatures.Subject(digest, None)
    judged = await _judge(store, _Context(trust, subject, _keys(store, trust), repository), by_kind)
    verdict = ImageVerdict(
        repository=repository,
        reference=reference,
        manifest_digest=digest,
        trust_bucket=applied,
        signed=judged.signed,
        signatures=judged.signatures,
        sboms=judged.sboms,
        attestations=judged.attestations,
        reason=None if judged.signed else _why_not(judged.signatures),
    )
    verdicts.put(digest, trust.fingerprint, verdict, admits=verdict.signed)
    _count("image", verdict.signed, cached=False)
    return verdict
