"""Trust, verdicts, require-signature and receipts against the real registry: a bucket's trust
set through /_artifacts/trust, verdicts from /_artifacts/verify, GetObject refused (403 with
the reason) until a trusted signature is attached (of each version, attached by its
``versionId``), receipts signed by the gateway."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fixtures import sigstore_root
from tests.fixtures import supply_chain as docs
from tests.integration.api import test_referrers
from tests.integration.api.test_access_keys import BASIC
from tests.integration.api.test_referrers import BUNDLE, CDX, DSSE, url
from tests.integration.s3.test_versioning import versioned

__all__ = ["versioned"]  # the fixture, imported for this module's tests

KEY = "dist/tool-2.0.0.tar.gz"
CONTENT = b"a signed release\n" * 500


def pem(key: ec.EllipticCurvePrivateKey | Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def set_trust(gateway, bucket: str, document: dict[str, Any]) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.put(
        f"{gateway.url}/_artifacts/trust/{bucket}", json=document, headers=BASIC, timeout=30
    )


def verdict(gateway, bucket: str, key: str = KEY, **params: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = httpx.get(
        f"{gateway.url}/_artifacts/verify/{bucket}",
        params={"key": key, **params},
        headers=BASIC,
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def attach(gateway, bucket: str, kind: str, body: bytes, media_type: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    return test_referrers.attach(gateway, bucket, kind, body, media_type, key=KEY)


def put_in_parts(s3, bucket: str, parts: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    upload = s3.create_multipart_upload(Bucket=bucket, Key=KEY)["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key=KEY, UploadId=upload, PartNumber=n, Body=part)["ETag"]
        for n, part in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=KEY,
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]},
    )


def signed_bundle(content: bytes = CONTENT) -> bytes:
    return docs.dump(docs.sigstore_bundle(content))


@pytest.fixture
def trusted(gateway, bucket) -> str:  # type: ignore[no-untyped-def]
    answer = set_trust(
        gateway, bucket, {"keys": [{"name": "release", "public_key": pem(docs.KEY)}]}
    )
    assert answer.status_code == 200, answer.text
    return str(bucket)


def test_a_verdict_names_each_signature_sbom_and_attestation(gateway, s3, trusted):
    s3.put_object(Bucket=trusted, Key=KEY, Body=CONTENT)
    empty = verdict(gateway, trusted)
    assert (empty["signed"], empty["reason"]) == (False, "the object has no signature")
    assert empty["sha256"] == hashlib.sha256(CONTENT).hexdigest()

    stranger = ec.generate_private_key(ec.SECP256R1())
    foreign = docs.sigstore_bundle(CONTENT)
    foreign["messageSignature"]["signature"] = docs.b64(
        stranger.sign(CONTENT, ec.ECDSA(hashes.SHA256()))
    )
    for body in (docs.dump(foreign), signed_bundle(b"another file"), signed_bundle()):
        assert attach(gateway, trusted, "signature", body, BUNDLE).status_code == 201
    assert attach(gateway, trusted, "sbom", docs.dump(docs.cyclonedx()), CDX).status_code == 201
    envelope = docs.dump(docs.dsse_envelope(KEY, CONTENT))
    assert attach(gateway, trusted, "attestation", envelope, DSSE).status_code == 201

    found = verdict(gateway, trusted)
    assert found["signed"] is True
    assert found["reason"] is None
    assert found["cached"] is False
    by_reason = {item["reason"]: item for item in found["signatures"]}
    good = by_reason[None]
    assert good["verified"]
    assert good["trusted"]
    assert good["covers"] == "object"
    assert good["over"] == "sha256:" + hashlib.sha256(CONTENT).hexdigest()
    assert good["signer"] == {"kind": "key", "name": "release", "issuer": None, "subject": None}
    assert "no trusted key verifies the signature" in by_reason
    other = "sha256:" + hashlib.sha256(b"another file").hexdigest()
    assert f"signs {other}, not this object" in by_reason
    assert [(s["valid"], s["artifact_type"]) for s in found["sboms"]] == [(True, CDX)]
    assert found["sbom_valid"] is True
    (attested,) = found["attestations"]
    assert attested["predicate_type"] == "https://slsa.dev/provenance/v1"
    assert attested["verified"]
    assert attested["trusted"]
    assert attested["covers"] == "object"
    assert verdict(gateway, trusted)["cached"] is True
    assert verdict(gateway, trusted, fresh="true")["cached"] is False


def test_require_signature_refuses_unsigned_objects_until_signed(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    document = {
        "require_signature": True,
        "keys": [{"name": "release", "public_key": pem(docs.KEY)}],
    }
    assert set_trust(gateway, bucket, document).status_code == 200
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key=KEY)
    error = refused.value.response["Error"]
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDenied"
    assert "requires a signature" in error["Message"]
    assert "the object has no signature" in error["Message"]
    assert s3.head_object(Bucket=bucket, Key=KEY)["ContentLength"] == len(CONTENT)
    with pytest.raises(ClientError) as copied:
        s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": KEY})
    assert copied.value.response["Error"]["Code"] == "AccessDenied"

    attached = attach(gateway, bucket, "signature", signed_bundle(), BUNDLE)
    assert attached.status_code == 201
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == CONTENT
    ranged = s3.get_object(Bucket=bucket, Key=KEY, Range="bytes=0-9")["Body"].read()
    assert ranged == CONTENT[:10]

    removed = httpx.delete(
        url(gateway, bucket, attached.json()["digest"]), params={"key": KEY}, headers=BASIC
    )
    assert removed.status_code == 204
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key=KEY)

    assert (
        httpx.delete(f"{gateway.url}/_artifacts/trust/{bucket}", headers=BASIC).status_code == 204
    )
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == CONTENT


def test_an_overwritten_object_needs_a_signature_of_its_own(gateway, s3, bucket):
    document = {
        "require_signature": True,
        "keys": [{"name": "release", "public_key": pem(docs.KEY)}],
    }
    assert set_trust(gateway, bucket, document).status_code == 200
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    assert attach(gateway, bucket, "signature", signed_bundle(), BUNDLE).status_code == 201
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == CONTENT
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"replaced by someone")
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key=KEY)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_each_version_needs_a_signature_of_its_own_attached_by_its_version_id(
    gateway, s3, versioned
):
    document = {
        "require_signature": True,
        "keys": [{"name": "release", "public_key": pem(docs.KEY)}],
    }
    assert set_trust(gateway, versioned, document).status_code == 200
    older = s3.put_object(Bucket=versioned, Key=KEY, Body=CONTENT)["VersionId"]
    newer = b"the next release\n"
    current = s3.put_object(Bucket=versioned, Key=KEY, Body=newer)["VersionId"]
    signed = httpx.post(
        url(gateway, versioned),
        params={"key": KEY, "kind": "signature", "versionId": older},
        content=signed_bundle(),
        headers={"Content-Type": BUNDLE, **BASIC},
        timeout=60,
    )
    assert signed.status_code == 201, signed.text
    got = s3.get_object(Bucket=versioned, Key=KEY, VersionId=older)
    assert got["Body"].read() == CONTENT
    assert got["VersionId"] == older
    for named in ({}, {"VersionId": current}):  # the current version is not signed
        with pytest.raises(ClientError) as refused:
            s3.get_object(Bucket=versioned, Key=KEY, **named)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
        assert "the object has no signature" in refused.value.response["Error"]["Message"]
    found = verdict(gateway, versioned, versionId=older, fresh="true")
    assert found["signed"] is True
    assert found["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    assert verdict(gateway, versioned)["signed"] is False
    assert verdict(gateway, versioned, versionId=current)["signed"] is False

    # A delete marker on top: the older version is still handed out by its id.
    s3.delete_object(Bucket=versioned, Key=KEY)
    assert s3.get_object(Bucket=versioned, Key=KEY, VersionId=older)["Body"].read() == CONTENT
    # Signing the newer version by its id lets that one out too.
    assert (
        httpx.post(
            url(gateway, versioned),
            params={"key": KEY, "kind": "signature", "versionId": current},
            content=signed_bundle(newer),
            headers={"Content-Type": BUNDLE, **BASIC},
            timeout=60,
        ).status_code
        == 201
    )
    assert s3.get_object(Bucket=versioned, Key=KEY, VersionId=current)["Body"].read() == newer


def test_multipart_objects_are_verified_over_their_whole_sha256(gateway, s3, trusted):
    parts = [b"a" * (5 * 1024 * 1024), b"tail of the object"]
    content = b"".join(parts)
    put_in_parts(s3, trusted, parts)
    assert attach(gateway, trusted, "signature", signed_bundle(content), BUNDLE).status_code == 201
    found = verdict(gateway, trusted)
    assert found["sha256"] == hashlib.sha256(content).hexdigest()
    assert found["signed"] is True


def test_trust_documents_are_checked_and_nothing_is_stored_when_bad(gateway, bucket):
    cases = {
        "$.keys[0]: not a PEM public key": {"keys": [{"name": "k", "public_key": "nope"}]},
        "$.trusted_root: keyless identities need a trusted root": {
            "identities": [{"issuer": "https://idp", "subject": "me@example.com"}]
        },
        "$.keys[1].name: 'k' is named twice": {
            "keys": [{"name": "k", "public_key": pem(docs.KEY)}] * 2
        },
        "$.identities[0].subject: not a regular expression": {
            "identities": [{"issuer": "i", "subject": "(", "subject_regex": True}],
            "trusted_root": {},
        },
    }
    for detail, document in cases.items():
        answer = set_trust(gateway, bucket, document)
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"].startswith(detail), answer.json()
    assert set_trust(gateway, bucket, {"require_signature": "yes"}).status_code == 422
    assert set_trust(gateway, bucket, {"unknown": True}).status_code == 422
    missing = httpx.get(f"{gateway.url}/_artifacts/trust/{bucket}", headers=BASIC)
    assert missing.status_code == 404
    assert set_trust(gateway, "no-such-bucket-here", {}).status_code == 404


def test_receipts_are_signed_by_the_gateway(gateway, s3, bucket):
    assert set_trust(gateway, bucket, {"receipts": True}).status_code == 200
    stored = httpx.get(f"{gateway.url}/_artifacts/trust/{bucket}", headers=BASIC).json()
    assert stored["receipts"] is True
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    key_pem = httpx.get(f"{gateway.url}/_artifacts/receipts/key")
    assert key_pem.status_code == 200
    assert key_pem.text.startswith("-----BEGIN PUBLIC KEY-----")

    found = verdict(gateway, bucket)
    (receipt,) = found["signatures"]
    assert receipt["verified"] is True
    assert receipt["trusted"] is False
    assert receipt["signer"]["kind"] == "receipt"
    assert found["signed"] is False

    listed = httpx.get(url(gateway, bucket), params={"key": KEY}, headers=BASIC).json()
    fetched = httpx.get(
        url(gateway, bucket, listed[0]["digest"]), params={"key": KEY}, headers=BASIC
    )
    bundle = json.loads(fetched.content)
    public = serialization.load_pem_public_key(key_pem.text.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(
        docs.base64.b64decode(bundle["messageSignature"]["signature"]),
        CONTENT,
        ec.ECDSA(hashes.SHA256()),
    )

    trusting = {"receipts": True, "keys": [{"name": "store", "public_key": key_pem.text}]}
    assert set_trust(gateway, bucket, trusting).status_code == 200
    again = verdict(gateway, bucket)
    assert again["signed"] is True
    assert again["signatures"][0]["signer"]["kind"] == "key"


def test_multipart_objects_get_their_receipt_in_the_background(gateway, s3, bucket):
    assert set_trust(gateway, bucket, {"receipts": True}).status_code == 200
    parts = [b"b" * (5 * 1024 * 1024), b"end"]
    put_in_parts(s3, bucket, parts)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = verdict(gateway, bucket, fresh="true")
        if found["signatures"]:
            break
        time.sleep(0.2)
    (receipt,) = found["signatures"]
    assert receipt["verified"] is True
    assert receipt["over"] == "sha256:" + hashlib.sha256(b"".join(parts)).hexdigest()


def test_readers_see_verdicts_and_trust_but_only_admins_set_trust(gateway, s3, trusted):
    s3.put_object(Bucket=trusted, Key=KEY, Body=CONTENT)
    made = httpx.post(
        f"{gateway.url}/_artifacts/keys",
        json={
            "description": "reader",
            "policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}
                    ],
                }
            ),
        },
        headers=BASIC,
    )
    assert made.status_code == 201, made.text
    reader = docs.b64(f"{made.json()['access_key_id']}:{made.json()['secret_access_key']}".encode())
    headers = {"Authorization": f"Basic {reader}"}
    base = f"{gateway.url}/_artifacts"
    assert httpx.get(f"{base}/trust/{trusted}", headers=headers).status_code == 200
    assert (
        httpx.get(f"{base}/verify/{trusted}", params={"key": KEY}, headers=headers).status_code
        == 200
    )
    refused = httpx.put(f"{base}/trust/{trusted}", json={}, headers=headers)
    assert refused.status_code == 403
    assert httpx.get(f"{base}/verify/{trusted}", params={"key": KEY}).status_code == 401


def test_keyless_signatures_verify_offline_against_the_buckets_trusted_root(gateway, s3, bucket):
    issuer = "https://token.actions.githubusercontent.com"
    subject = "https://github.com/acme/tool/.github/workflows/release.yml@refs/tags/v2.0.0"
    document = {
        "require_signature": True,
        "identities": [
            {"issuer": issuer, "subject": r"https://github\.com/acme/.+", "subject_regex": True}
        ],
        "trusted_root": sigstore_root.PKI.trusted_root(),
    }
    assert set_trust(gateway, bucket, document).status_code == 200, "trust refused"
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    stranger = sigstore_root.sign_keyless(CONTENT, issuer, "https://github.com/evil/x/wf@main")
    other_ca = sigstore_root.SigstorePKI.create("elsewhere").sign_keyless(CONTENT, issuer, subject)
    for body in (stranger, other_ca):
        assert attach(gateway, bucket, "signature", body, BUNDLE).status_code == 201
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key=KEY)
    refused = verdict(gateway, bucket)
    assert [s["verified"] for s in refused["signatures"]] == [False, False]
    assert any("not a trusted identity" in (s["reason"] or "") for s in refused["signatures"])

    good = sigstore_root.sign_keyless(CONTENT, issuer, subject)
    assert attach(gateway, bucket, "signature", good, BUNDLE).status_code == 201
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == CONTENT
    found = verdict(gateway, bucket)
    signer = next(s["signer"] for s in found["signatures"] if s["verified"])
    assert signer == {"kind": "keyless", "name": None, "issuer": issuer, "subject": subject}


def test_anyone_may_check_a_public_buckets_objects_but_not_a_private_ones(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key=KEY, Body=CONTENT)
    bundle = signed_bundle()
    assert attach(gateway, bucket, "signature", bundle, BUNDLE).status_code == 201
    base = f"{gateway.url}/_artifacts"
    reads = {
        "list": (url(gateway, bucket), {"key": KEY}),
        "verify": (f"{base}/verify/{bucket}", {"key": KEY}),
        "trust": (f"{base}/trust/{bucket}", {}),
    }
    for name, (where, params) in reads.items():
        refused = httpx.get(where, params=params)
        assert refused.status_code == 401, name
        assert "Bearer" in refused.headers["www-authenticate"]
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert set_trust(gateway, bucket, {"require_signature": False}).status_code == 200
    for name, (where, params) in reads.items():
        assert httpx.get(where, params=params).status_code == 200, name
    [listed] = httpx.get(url(gateway, bucket), params={"key": KEY}).json()
    fetched = httpx.get(url(gateway, bucket, listed["digest"]), params={"key": KEY})
    assert fetched.content == bundle
    # Writing stays closed, and bad credentials never fall back to anonymous.
    posted = httpx.post(
        url(gateway, bucket),
        params={"key": KEY, "kind": "signature"},
        content=signed_bundle(),
        headers={"Content-Type": BUNDLE},
    )
    assert posted.status_code == 401
    wrong = httpx.get(
        url(gateway, bucket),
        params={"key": KEY},
        headers={"Authorization": "Basic " + docs.b64(b"nobody:wrong")},
    )
    assert wrong.status_code == 403


def test_trust_and_verdicts_are_in_the_openapi_document(gateway):
    document = httpx.get(f"{gateway.url}/_artifacts/openapi.json").json()
    paths = document["paths"]
    assert set(paths["/_artifacts/trust/{bucket}"]) == {"get", "put", "delete"}
    assert set(paths["/_artifacts/verify/{bucket}"]) == {"get"}
    assert set(paths["/_artifacts/receipts/key"]) == {"get"}
    schemas = document["components"]["schemas"]
    assert {"TrustModel", "VerdictInfo", "SignatureInfo", "AttestationInfo"} <= set(schemas)
    assert set(schemas["VerdictInfo"]["required"]) >= {"signed", "signatures", "sboms"}
