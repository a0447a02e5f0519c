"""Zot's GC and retention, as the product configures them, never take what the gateway still
references: object manifests, part manifests of live uploads, bucket records, referrers; and
in an Object Lock bucket, locked noncurrent versions (kept by their ``v-`` tags), their blobs,
their lock manifests and their referrers.

A Zot of this test's own collects every second (gcDelay 1 s, gcInterval 1 s); a blob no
manifest holds is the witness that collections ran. The product's delay is an hour
(tests/fixtures/registries.py ``zot_config``); only the pace differs here.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from gateway.domain import mapping
from tests.conftest import gateway_settings, s3_client
from tests.fixtures import supply_chain as docs
from tests.fixtures.registries import RunningRegistry, start
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.api.test_access_keys import BASIC
from tests.integration.api.test_referrers import (
    CONTENT,
    KEY,
    SPDX,
    attach,
    attach_version,
    documents,
    listed,
)

MiB = 1 << 20


@pytest.fixture
def collecting(tmp_path: Path) -> Iterator[RunningRegistry]:
    running = start(tmp_path / "registry", kind="zot", gc_delay="1s", gc_interval="1s")
    yield running
    running.stop()


@pytest.fixture
def gateway(collecting: RunningRegistry, tmp_path: Path) -> Iterator[RunningGateway]:
    with serve(gateway_settings(collecting, tmp_path / "gateway")) as running:
        yield running


def orphan_blob(registry: RunningRegistry, repository: str) -> str:
    """A blob that no manifest holds: what GC must take."""
    data = b"held by nothing " + str(time.time()).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with registry.http() as client:
        started = client.post(f"/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202
        location = started.headers["location"]
        done = client.put(
            location,
            params={"digest": digest},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201
    return digest


def collected(registry: RunningRegistry, repository: str, digest: str) -> None:
    """Wait until GC has taken ``digest`` (and so has run over ``repository``)."""
    deadline = time.monotonic() + 240
    with registry.http() as client:
        while client.head(f"/v2/{repository}/blobs/{digest}").status_code == 200:
            assert time.monotonic() < deadline, f"Zot's GC did not reach {repository} in 240 s"
            time.sleep(0.5)


def test_gc_keeps_everything_the_gateway_references(
    collecting: RunningRegistry, gateway: RunningGateway
) -> None:
    s3 = s3_client(gateway.url)
    s3.create_bucket(Bucket="kept")
    s3.put_object(Bucket="kept", Key=KEY, Body=CONTENT)
    for kind, body, media_type in documents().values():
        assert attach(gateway, "kept", kind, body, media_type).status_code == 201
    referrers = listed(gateway, "kept")
    s3.put_object(Bucket="kept", Key="overwritten", Body=b"first")
    s3.put_object(Bucket="kept", Key="overwritten", Body=b"second")
    s3.put_object(Bucket="kept", Key="deleted", Body=b"short-lived")
    s3.delete_object(Bucket="kept", Key="deleted")
    upload = s3.create_multipart_upload(Bucket="kept", Key="in-flight")["UploadId"]
    parts = [bytes([n]) * (5 * MiB) for n in (1, 2)]
    etag = s3.upload_part(
        Bucket="kept", Key="in-flight", UploadId=upload, PartNumber=1, Body=parts[0]
    )["ETag"]

    # A witness in every repository of the bucket; once all are gone, a whole sweep ran.
    # (Zot waits a random 0-30 s before each repository: about a minute for these four.)
    shards = {mapping.locate("s3", "kept", key).repository for key in (KEY, "deleted", "in-flight")}
    repositories = {*shards, mapping.bucket_location("s3", "kept").repository}
    assert len(repositories) == 4
    witnesses = {repository: orphan_blob(collecting, repository) for repository in repositories}
    for repository, digest in witnesses.items():
        collected(collecting, repository, digest)

    assert s3.get_object(Bucket="kept", Key=KEY)["Body"].read() == CONTENT
    assert listed(gateway, "kept") == referrers
    assert s3.get_object(Bucket="kept", Key="overwritten")["Body"].read() == b"second"
    assert s3.head_bucket(Bucket="kept")["ResponseMetadata"]["HTTPStatusCode"] == 200
    with collecting.http() as client:
        record = mapping.bucket_location("s3", "kept")
        bucket_record = client.get(
            f"/v2/{record.repository}/manifests/{record.tag}",
            headers={"Accept": mapping.MANIFEST_MEDIA_TYPE},
        )
        assert bucket_record.status_code == 200
    # The live upload's first part survived; the upload completes with both.
    second = s3.upload_part(
        Bucket="kept", Key="in-flight", UploadId=upload, PartNumber=2, Body=parts[1]
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket="kept",
        Key="in-flight",
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etag}, {"PartNumber": 2, "ETag": second}]
        },
    )
    assert s3.get_object(Bucket="kept", Key="in-flight")["Body"].read() == b"".join(parts)
    # The deleted key's shard lost everything, its empty config blob included: a new PUT
    # there still works (the gateway pushes the blob it remembered again).
    s3.put_object(Bucket="kept", Key="deleted", Body=b"back again")
    assert s3.get_object(Bucket="kept", Key="deleted")["Body"].read() == b"back again"


def test_gc_keeps_locked_noncurrent_versions(
    collecting: RunningRegistry, gateway: RunningGateway
) -> None:
    """Issue 14: a locked version cannot be collected. Two noncurrent versions of one key:
    one locked COMPLIANCE with the write (a multipart upload: two part blobs), one put under a
    legal hold afterwards (a lock manifest, a referrer of the version); the first also has an
    SBOM attached by its version id. After a full sweep all of it is still there."""
    s3 = s3_client(gateway.url)
    s3.create_bucket(Bucket="vault", ObjectLockEnabledForBucket=True)
    until = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    upload = s3.create_multipart_upload(
        Bucket="vault", Key=KEY, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until
    )["UploadId"]
    parts = [b"\x01" * (5 * MiB), b"the tail of the locked release"]
    etags = [
        s3.upload_part(Bucket="vault", Key=KEY, UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in enumerate(parts, 1)
    ]
    compliant = s3.complete_multipart_upload(
        Bucket="vault",
        Key=KEY,
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )["VersionId"]
    sbom = attach_version(gateway, "vault", compliant, "sbom", docs.dump(docs.spdx()), SPDX)
    assert sbom.status_code == 201, sbom.text
    held = s3.put_object(Bucket="vault", Key=KEY, Body=CONTENT)["VersionId"]
    s3.put_object_legal_hold(Bucket="vault", Key=KEY, VersionId=held, LegalHold={"Status": "ON"})
    s3.put_object(Bucket="vault", Key=KEY, Body=b"the current version")

    shard = mapping.locate("s3", "vault", KEY).repository
    repositories = {shard, mapping.bucket_location("s3", "vault").repository}
    witnesses = {repository: orphan_blob(collecting, repository) for repository in repositories}
    for repository, digest in witnesses.items():
        collected(collecting, repository, digest)

    got = s3.get_object(Bucket="vault", Key=KEY, VersionId=compliant)
    assert got["Body"].read() == b"".join(parts)
    assert (got["ObjectLockMode"], got["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", until)
    assert s3.get_object(Bucket="vault", Key=KEY, VersionId=held)["Body"].read() == CONTENT
    assert s3.get_object(Bucket="vault", Key=KEY)["Body"].read() == b"the current version"
    assert [item["digest"] for item in listed(gateway, "vault", versionId=compliant)] == [
        sbom.json()["digest"]
    ]
    for version in (compliant, held):  # still refused: GC changed nothing the lock protects
        with pytest.raises(ClientError) as refused:
            s3.delete_object(
                Bucket="vault", Key=KEY, VersionId=version, BypassGovernanceRetention=True
            )
        assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # What keeps them, in the registry itself: each version's v- tag, the legal hold's lock
    # manifest (a referrer of its version), the SBOM's referrer manifest.
    accept = {"Accept": f"{mapping.MANIFEST_MEDIA_TYPE}, application/vnd.oci.image.index.v1+json"}
    with collecting.http() as client:
        subjects = {}
        for version in (compliant, held):
            tag = mapping.version_tag(KEY, version)
            manifest = client.get(f"/v2/{shard}/manifests/{tag}", headers=accept)
            assert manifest.status_code == 200, tag
            subjects[version] = "sha256:" + hashlib.sha256(manifest.content).hexdigest()
        locks = client.get(
            f"/v2/{shard}/referrers/{subjects[held]}",
            params={"artifactType": mapping.LOCK_ARTIFACT_TYPE},
        )
        assert locks.status_code == 200
        [lock] = locks.json()["manifests"]
        assert client.get(f"/v2/{shard}/manifests/{lock['digest']}", headers=accept).is_success
        assert client.get(
            f"/v2/{shard}/manifests/{sbom.json()['digest']}", headers=accept
        ).is_success
        for part in parts:
            digest = "sha256:" + hashlib.sha256(part).hexdigest()
            assert client.head(f"/v2/{shard}/blobs/{digest}").status_code == 200
    assert httpx.get(
        f"{gateway.url}/_artifacts/verify/vault",
        params={"key": KEY, "versionId": compliant},
        headers=BASIC,
    ).json()["sbom_valid"]
