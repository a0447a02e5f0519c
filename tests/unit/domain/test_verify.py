"""Verdicts over referrers the gateway did not write: cosign's older simple-signing layout,
invalid SBOMs and malformed attestations attached by other tools, keyless bundles in a bucket
that trusts no identity, and multipart objects whose SHA-256 must be read from their parts.
Over the registry client with a fake registry and a real SQLite index (test_discovery's
world); the gateway's own documents are covered against the real registry."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.domain import mapping
from gateway.domain.store import Store
from gateway.domain.supply import referrers, trust, verify
from gateway.domain.values import BucketRecord, Layer
from tests.fixtures import sigstore_root
from tests.fixtures import supply_chain as docs
from tests.unit.domain.test_discovery import (
    BUCKET,
    KEY,
    MANIFEST,
    REPOSITORY,
    Registry,
    attach_outside,
    world,
)
from tests.unit.domain.test_listing import WHEN
from tests.unit.registry.test_client import Recorder
from tests.unit.registry.test_referrers import SUBJECT, digest

pytestmark = pytest.mark.anyio
__all__ = ["world"]  # the fixture, imported for this module's tests
CONTENT = KEY.encode()  # what test_listing.record stores under the key
SHA = hashlib.sha256(CONTENT).hexdigest()
World = tuple[Store, Registry, Recorder]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def trusting(store: Store, *keys: ec.EllipticCurvePrivateKey, **flags: bool) -> BucketRecord:
    """The bucket trusting ``keys`` (written to the index: the fake registry keeps no bucket
    manifests; ``set_trust`` is covered against the real registry)."""
    document = {"keys": [{"name": f"k{n}", "public_key": pem(k)} for n, k in enumerate(keys)]}
    text = trust.dump_document({**document, **flags})
    bucket = BucketRecord(name=BUCKET, created=WHEN, settings={trust.TRUST_SETTING: text})
    await store.index.update_bucket(bucket)
    store.buckets.forget(BUCKET)
    return bucket


async def attach_cosign_v2(
    store: Store, fake: Registry, payload: bytes, signature: bytes | None
) -> str:
    """cosign's older layout: simple-signing payload as the layer, the signature in the
    layer's annotation."""
    blob = digest(payload)
    fake.blobs[blob] = payload
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": verify.COSIGN_SIGNATURE,
        "config": {
            "mediaType": mapping.EMPTY_MEDIA_TYPE,
            "digest": mapping.EMPTY_DIGEST,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": verify.SIMPLE_SIGNING,
                "digest": blob,
                "size": len(payload),
                "annotations": {}
                if signature is None
                else {verify.COSIGN_SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()},
            }
        ],
        "subject": {"mediaType": MANIFEST, "digest": SUBJECT, "size": 977},
    }
    body = json.dumps(manifest).encode()
    await store.registry.push_referrer(REPOSITORY, body)
    return digest(body)


def simple_signing(subject: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": f"registry/{REPOSITORY}"},
                "image": {"docker-manifest-digest": subject},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    ).encode()


async def test_cosigns_older_simple_signing_layout_counts_over_the_manifest(world: World) -> None:
    store, fake, _ = world
    key = ec.generate_private_key(ec.SECP256R1())
    payload = simple_signing(SUBJECT)
    await attach_cosign_v2(store, fake, payload, key.sign(payload, ec.ECDSA(hashes.SHA256())))
    stranger = ec.generate_private_key(ec.SECP256R1())
    await attach_cosign_v2(
        store, fake, simple_signing(SUBJECT) + b" ", stranger.sign(b"x", ec.ECDSA(hashes.SHA256()))
    )
    bucket = await trusting(store, key, require_signature=True)
    found = await verify.verify(store, BUCKET, KEY)
    assert found.signed
    by_verified = {item.verified: item for item in found.signatures}
    assert by_verified[True].covers == "manifest"
    assert by_verified[True].over == SUBJECT
    assert by_verified[True].signer == verify.Signer("key", name="k0")
    assert by_verified[False].reason == "no trusted key verifies the signature"
    record = await store.index.get_object(BUCKET, KEY)
    assert record is not None
    await verify.gate(store, bucket, record)  # admitted


async def test_invalid_sboms_and_malformed_attestations_from_outside(world: World) -> None:
    store, fake, _ = world
    broken = docs.cyclonedx()
    broken["components"][0]["type"] = "thing"
    await attach_outside(store, fake, "application/vnd.cyclonedx+json", docs.dump(broken))
    await attach_outside(
        store,
        fake,
        "application/vnd.in-toto+json",
        b'{"payloadType": 5}',
        {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v1"},
        layer_type="application/vnd.dsse.envelope.v1+json",
    )
    found = await verify.verify(store, BUCKET, KEY)
    [sbom] = found.sboms
    assert not sbom.valid
    assert sbom.reason is not None
    assert sbom.reason.startswith("components[0].type")
    assert not found.sbom_valid
    [attestation] = found.attestations
    assert attestation.predicate_type == "https://slsa.dev/provenance/v1"
    assert (attestation.verified, attestation.reason) == (False, "payloadType is missing")
    assert (found.signed, found.reason) == (False, "the object has no signature")


async def test_keyless_bundles_need_a_trusted_identity(world: World) -> None:
    store, fake, _ = world
    bundle = sigstore_root.sign_keyless(CONTENT, "https://issuer", "me@example.com")
    await attach_outside(store, fake, verify.types.SIGSTORE_BUNDLE, bundle)
    await trusting(store, ec.generate_private_key(ec.SECP256R1()))
    [signature] = (await verify.verify(store, BUCKET, KEY)).signatures
    assert signature.reason == "keyless signature; the bucket trusts no keyless identity"


async def test_a_multipart_objects_sha256_is_read_from_its_parts_once(world: World) -> None:
    store, fake, recorder = world
    parts = [b"first part ", b"second part"]
    content = b"".join(parts)
    for part in parts:
        fake.blobs[digest(part)] = part
    record = await store.index.get_object(BUCKET, KEY)
    assert record is not None
    whole = dataclasses.replace(
        record,
        size=len(content),
        layers=tuple(Layer(digest=digest(part), size=len(part)) for part in parts),
        checksums={},
        last_modified=WHEN,
    )
    await store.index.put_object(whole)
    key = ec.generate_private_key(ec.SECP256R1())
    sha = hashlib.sha256(content).digest()
    bundle = docs.sigstore_bundle(content)
    bundle["messageSignature"]["signature"] = base64.b64encode(
        key.sign(content, ec.ECDSA(hashes.SHA256()))
    ).decode()
    await attach_outside(store, fake, verify.types.SIGSTORE_BUNDLE, docs.dump(bundle))
    await trusting(store, key)
    found = await verify.verify(store, BUCKET, KEY)
    assert found.sha256 == sha.hex()
    assert found.signed
    reads = sum(1 for method, path in recorder.sent() if "/blobs/sha256:" in path)
    again = await verify.verify(store, BUCKET, KEY, fresh=True)
    assert again.signed
    assert sum(1 for method, path in recorder.sent() if "/blobs/sha256:" in path) == reads + 1


async def test_discovering_a_new_referrer_retires_the_cached_verdict(world: World) -> None:
    store, fake, _ = world
    key = ec.generate_private_key(ec.SECP256R1())
    await trusting(store, key, require_signature=True)
    refused = await verify.verify(store, BUCKET, KEY)
    assert not refused.signed
    assert (await verify.verify(store, BUCKET, KEY)).cached  # a refusal, kept 10 s
    bundle = docs.sigstore_bundle(CONTENT)
    bundle["messageSignature"]["signature"] = base64.b64encode(
        key.sign(CONTENT, ec.ECDSA(hashes.SHA256()))
    ).decode()
    await attach_outside(store, fake, verify.types.SIGSTORE_BUNDLE, docs.dump(bundle))
    await referrers.list_referrers(store, BUCKET, KEY)  # e.g. someone lists them
    found = await verify.verify(store, BUCKET, KEY)
    assert not found.cached
    assert found.signed
