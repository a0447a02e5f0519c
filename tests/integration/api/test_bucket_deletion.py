"""Recursive bucket deletion, ``DELETE /_artifacts/buckets/{bucket}?recursive=true``, against
the real registry: a bucket with objects, versions, delete markers, tags, signatures and an
upload in flight goes (200), and Zot's repositories of the bucket keep no tag; a bucket larger
than the wait answers 202 and its status resource reaches done; content the caller may not
delete, or a version Object Lock keeps, stops it (403) with the bucket intact; one audit line
per removal. Without ``recursive`` it answers as S3's DeleteBucket, which keeps its own
``BucketNotEmpty``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import gateway_settings, s3_client
from tests.fixtures import supply_chain as docs
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.api.test_access_keys import BASIC, basic

PREFIX = "s3"
EMPTY = {"objects": 0, "versions": 0, "delete_markers": 0, "uploads": 0}
PART = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def patient(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """A gateway that waits for its deletions (two minutes, whatever the machine's load)."""
    settings = gateway_settings(
        registry, tmp_path_factory.mktemp("patient"), bucket_deletion_wait_seconds=120
    )
    with serve(settings) as running:
        yield running


@pytest.fixture(scope="module")
def impatient(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """A gateway that never waits: every recursive deletion answers 202."""
    settings = gateway_settings(
        registry, tmp_path_factory.mktemp("impatient"), bucket_deletion_wait_seconds=0
    )
    with serve(settings) as running:
        yield running


def new_bucket(s3: Any, **create: Any) -> str:
    name = f"rm-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, **create)
    return name


def delete(gateway: RunningGateway, bucket: str, headers: dict[str, str] = BASIC, **query: str):  # type: ignore[no-untyped-def]
    return httpx.delete(
        f"{gateway.url}/_artifacts/buckets/{bucket}",
        params={"recursive": "true", **query},
        headers=headers,
        timeout=180,
    )


def status_of(gateway: RunningGateway, bucket: str) -> httpx.Response:
    return httpx.get(f"{gateway.url}/_artifacts/buckets/{bucket}/deletion", headers=BASIC)


def registry_tags(registry: RunningRegistry, bucket: str) -> dict[str, list[str]]:
    """The tags of each of the bucket's repositories, read from Zot itself."""
    catalog = httpx.get(
        f"{registry.url}/v2/_catalog", params={"n": "100000"}, auth=registry.auth, timeout=60
    )
    assert catalog.status_code == 200, catalog.text
    found = {}
    for repository in catalog.json()["repositories"] or []:
        if not repository.startswith(f"{PREFIX}/{bucket}/"):
            continue
        listed = httpx.get(f"{registry.url}/v2/{repository}/tags/list", auth=registry.auth)
        assert listed.status_code in (200, 404), listed.text
        found[repository] = (listed.json().get("tags") or []) if listed.status_code == 200 else []
    return found


def audit_lines(gateway: RunningGateway) -> list[dict[str, Any]]:
    log = Path(gateway.settings.audit_sink() or "")
    return [json.loads(line) for line in log.read_text().splitlines()]


def gone(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def fill(gateway: RunningGateway, s3: Any, bucket: str) -> None:
    """Objects written before versioning (null versions), versions, a delete marker, tags
    set after the write, a signature and an SBOM, and a multipart upload in flight."""
    for number in range(3):
        s3.put_object(Bucket=bucket, Key=f"old/{number}", Body=b"null version")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for round_ in range(2):
        s3.put_object(Bucket=bucket, Key="app.tar.gz", Body=f"release {round_}".encode())
    s3.put_object(Bucket=bucket, Key="gone.txt", Body=b"soon hidden")
    s3.delete_object(Bucket=bucket, Key="gone.txt")  # a delete marker over a version
    s3.put_object_tagging(
        Bucket=bucket, Key="old/0", Tagging={"TagSet": [{"Key": "env", "Value": "ci"}]}
    )
    for kind, media_type, document in (
        ("signature", "application/vnd.dev.sigstore.bundle.v0.3+json", docs.sigstore_bundle(b"x")),
        ("sbom", "application/spdx+json", docs.spdx()),
    ):
        attached = httpx.post(
            f"{gateway.url}/_artifacts/referrers/{bucket}",
            params={"key": "app.tar.gz", "kind": kind},
            content=docs.dump(document),
            headers={**BASIC, "Content-Type": media_type},
        )
        assert attached.status_code == 201, attached.text
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.iso")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="big.iso", UploadId=upload, PartNumber=1, Body=b"p" * PART)


def test_a_bucket_with_everything_in_it_goes_and_zot_keeps_no_tag(patient, registry):
    s3 = s3_client(patient.url)
    bucket = new_bucket(s3)
    fill(patient, s3, bucket)
    before = registry_tags(registry, bucket)
    assert sum(len(tags) for tags in before.values()) >= 8  # objects, versions, marker, upload

    answer = delete(patient, bucket)
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert (summary["bucket"], summary["state"], summary["step"]) == (bucket, "done", "done")
    # 3 null versions + 2 versions of app.tar.gz + gone.txt's version; its delete marker.
    assert summary["deleted"] == {"objects": 0, "versions": 6, "delete_markers": 1, "uploads": 1}
    assert "problem" not in summary
    assert gone(s3, bucket)
    assert registry_tags(registry, bucket).keys() == before.keys()  # what Zot still lists ...
    assert all(tags == [] for tags in registry_tags(registry, bucket).values())  # ... untagged

    lines = [
        line
        for line in audit_lines(patient)
        if line["resource"].startswith(f"/{bucket}") and line["operation"].startswith("S3.")
    ]
    removals = [
        (line["operation"], line["action"], line["decision"], line["status"]) for line in lines
    ]
    assert removals.count(("S3.DELETE.OBJECT", "s3:DeleteObjectVersion", "allow", 204)) == 7
    assert removals.count(("S3.DELETE.UPLOAD", "s3:AbortMultipartUpload", "allow", 204)) == 1
    assert removals[-1] == ("S3.DELETE.BUCKET", "s3:DeleteBucket", "allow", 204)
    assert len(removals) == 9
    assert len({line["request_id"] for line in lines}) == 1

    assert delete(patient, bucket).status_code == 404  # gone: nothing to resume
    finished = status_of(patient, bucket)
    assert finished.status_code == 200
    assert finished.json()["state"] == "done"


def test_a_plain_bucket_goes_too(patient, registry):
    s3 = s3_client(patient.url)
    bucket = new_bucket(s3)
    for number in range(4):
        s3.put_object(Bucket=bucket, Key=f"k/{number}", Body=b"x")
    answer = delete(patient, bucket)
    assert answer.status_code == 200, answer.text
    assert answer.json()["deleted"] == {**EMPTY, "objects": 4}
    assert gone(s3, bucket)
    assert all(tags == [] for tags in registry_tags(registry, bucket).values())


def wait_for(gateway: RunningGateway, bucket: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        answer = status_of(gateway, bucket)
        assert answer.status_code == 200, answer.text
        status: dict[str, Any] = answer.json()
        if status["state"] == state or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def test_a_bucket_larger_than_the_wait_answers_202_and_its_status_reaches_done(impatient, registry):
    s3 = s3_client(impatient.url)
    bucket = new_bucket(s3)
    count = 40
    for number in range(count):
        s3.put_object(Bucket=bucket, Key=f"many/{number:03}", Body=b"x")
    started = delete(impatient, bucket)
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"/_artifacts/buckets/{bucket}/deletion"
    assert started.json()["state"] == "running"
    again = delete(impatient, bucket)  # while it runs: the same job
    assert again.status_code == 202
    assert again.json()["started"] == started.json()["started"]

    done = wait_for(impatient, bucket, "done")
    assert done["state"] == "done", done
    assert done["deleted"] == {**EMPTY, "objects": count}
    assert done["found"] == {**EMPTY, "objects": count}
    assert "finished" in done
    assert gone(s3, bucket)
    assert all(tags == [] for tags in registry_tags(registry, bucket).values())


def test_the_status_of_an_unknown_deletion_is_404(impatient):
    answer = status_of(impatient, "no-deletion-here")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_content_the_caller_may_not_delete_stops_it_and_the_bucket_stays(patient):
    """An admin's access key, with a bucket policy that denies deleting `keep/*`."""
    s3 = s3_client(patient.url)
    bucket = new_bucket(s3)
    for key in ("tmp/a", "tmp/b", "keep/precious"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeepPrecious",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteObject",
                "Resource": f"arn:aws:s3:::{bucket}/keep/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    made = httpx.post(f"{patient.url}/_artifacts/keys", json={}, headers=BASIC).json()
    admin = basic(made["access_key_id"], made["secret_access_key"])
    try:
        refused = delete(patient, bucket, admin)
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert (problem["status"], problem["refused"], problem["locked"]) == (403, 1, 0)
        assert problem["keys"] == ["keep/precious"]
        assert problem["left"] == {**EMPTY, "objects": 3}
        listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
        assert sorted(item["Key"] for item in listed) == ["keep/precious", "tmp/a", "tmp/b"]
        denied = [
            line
            for line in audit_lines(patient)
            if line["resource"] == f"/{bucket}/keep/precious" and line["decision"] == "deny"
        ]
        assert [(line["action"], line["status"], line["rule"]) for line in denied[-1:]] == [
            ("s3:DeleteObject", 403, f"deny:bucket-policy:{bucket}:KeepPrecious")
        ]
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
        httpx.delete(f"{patient.url}/_artifacts/keys/{made['access_key_id']}", headers=BASIC)
    assert delete(patient, bucket).status_code == 200  # root, once the policy is gone


def test_a_caller_who_may_not_delete_the_bucket_deletes_nothing(patient):
    """A key narrowed to deleting objects: refused at once, without a survey."""
    s3 = s3_client(patient.url)
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    narrow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": "*"}],
    }
    made = httpx.post(
        f"{patient.url}/_artifacts/keys", json={"policy": json.dumps(narrow)}, headers=BASIC
    ).json()
    try:
        refused = delete(patient, bucket, basic(made["access_key_id"], made["secret_access_key"]))
        assert refused.status_code == 403, refused.text
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
        assert status_of(patient, bucket).status_code == 404  # no job was started
    finally:
        httpx.delete(f"{patient.url}/_artifacts/keys/{made['access_key_id']}", headers=BASIC)
    assert (
        httpx.delete(f"{patient.url}/_artifacts/buckets/{bucket}", headers=BASIC).status_code == 409
    )
    assert delete(patient, bucket).status_code == 200


def test_a_locked_version_stops_it_and_the_bucket_stays(patient):
    """As S3's DeleteObject of a locked version: 403 (AccessDenied there); nothing goes."""
    s3 = s3_client(patient.url)
    bucket = new_bucket(s3, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=bucket, Key="free", Body=b"x")
    held = s3.put_object(Bucket=bucket, Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON")
    refused = delete(patient, bucket)
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert (problem["refused"], problem["locked"], problem["keys"]) == (0, 1, ["held"])
    assert "1 kept by Object Lock" in problem["detail"]
    assert len(s3.list_object_versions(Bucket=bucket)["Versions"]) == 2
    failed = status_of(patient, bucket).json()
    assert (failed["state"], failed["problem"]["status"]) == ("failed", 403)

    s3.put_object_legal_hold(
        Bucket=bucket, Key="held", VersionId=held["VersionId"], LegalHold={"Status": "OFF"}
    )
    assert delete(patient, bucket).status_code == 200  # the same call, once the hold is off
    assert gone(s3, bucket)


def test_a_refusal_after_202_shows_in_the_status(impatient):
    s3 = s3_client(impatient.url)
    bucket = new_bucket(s3, ObjectLockEnabledForBucket=True)
    held = s3.put_object(Bucket=bucket, Key="held", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert delete(impatient, bucket).status_code == 202
    failed = wait_for(impatient, bucket, "failed")
    assert failed["state"] == "failed", failed
    assert (failed["problem"]["status"], failed["problem"]["locked"]) == (403, 1)
    s3.put_object_legal_hold(
        Bucket=bucket, Key="held", VersionId=held["VersionId"], LegalHold={"Status": "OFF"}
    )
    assert delete(impatient, bucket).status_code == 202  # a new job replaces the failed one
    assert wait_for(impatient, bucket, "done")["state"] == "done"


def test_without_recursive_it_is_s3s_delete_bucket(patient):
    s3 = s3_client(patient.url)
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = f"{patient.url}/_artifacts/buckets/{bucket}"
    full = httpx.delete(url, headers=BASIC)
    assert full.status_code == 409
    assert full.headers["content-type"] == "application/problem+json"
    assert "recursive=true" in full.json()["detail"]
    s3.delete_object(Bucket=bucket, Key="k")
    assert httpx.delete(url, headers=BASIC).status_code == 204
    assert gone(s3, bucket)
    assert httpx.delete(url, headers=BASIC).status_code == 404
    assert delete(patient, bucket).status_code == 404
    assert httpx.delete(url).status_code == 401
