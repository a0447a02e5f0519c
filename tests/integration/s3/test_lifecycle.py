"""Bucket lifecycle: the configuration as S3 checks and returns it (boto3, aws-cli v1), and
the sweeper that expires objects and aborts incomplete uploads (a gateway whose lifecycle
'day' is one second), each action an audit line; in versioned buckets, delete markers over
expired current versions, noncurrent versions expired (NewerNoncurrentVersions kept, a
locked one never), and expired object delete markers removed."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


RULES = [
    {
        "ID": "ci-builds",
        "Filter": {"Prefix": "ci/"},
        "Status": "Enabled",
        "Expiration": {"Days": 7},
    },
    {
        "ID": "big-and-tagged",
        "Filter": {
            "And": {
                "Prefix": "rel/",
                "Tags": [{"Key": "keep", "Value": "no"}],
                "ObjectSizeGreaterThan": 1024,
            }
        },
        "Status": "Disabled",
        "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)},
    },
    {
        "ID": "uploads",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 3},
    },
    {
        "ID": "markers",
        "Filter": {"Prefix": "gone/"},
        "Status": "Enabled",
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    },
]


def test_configuration_round_trip(s3, bucket):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error(exc) == (404, "NoSuchLifecycleConfiguration")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": RULES})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [rule["ID"] for rule in got] == ["ci-builds", "big-and-tagged", "uploads", "markers"]
    assert got[0]["Filter"] == {"Prefix": "ci/"}
    assert got[0]["Expiration"] == {"Days": 7}
    assert got[1]["Filter"]["And"] == RULES[1]["Filter"]["And"]  # type: ignore[index]
    assert got[1]["Expiration"]["Date"] == datetime(2030, 1, 1, tzinfo=UTC)
    assert got[1]["Status"] == "Disabled"
    assert got[2]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert got[2]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30,
        "NewerNoncurrentVersions": 3,
    }
    assert got[3]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error(exc) == (404, "NoSuchLifecycleConfiguration")


@pytest.mark.parametrize(
    ("rule", "status", "code"),
    [
        ({"Filter": {"Prefix": ""}, "Status": "Enabled"}, 400, "InvalidRequest"),
        (
            {"Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 0}},
            400,
            "InvalidArgument",
        ),
        (
            {
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "Expiration": {"Date": datetime(2030, 1, 1, 12, tzinfo=UTC)},
            },
            400,
            "InvalidArgument",
        ),
        (
            {
                "Filter": {"Tag": {"Key": "a", "Value": "b"}},
                "Status": "Enabled",
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            },
            400,
            "InvalidRequest",
        ),
        (
            {
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}],
            },
            501,
            "NotImplemented",
        ),
        (  # ExpiredObjectDeleteMarker cannot go with Days or Date
            {
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True},
            },
            400,
            "MalformedXML",
        ),
        (
            {
                "Filter": {"Tag": {"Key": "a", "Value": "b"}},
                "Status": "Enabled",
                "Expiration": {"ExpiredObjectDeleteMarker": True},
            },
            400,
            "InvalidArgument",
        ),
        (
            {
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {
                    "NoncurrentDays": 1,
                    "NewerNoncurrentVersions": 101,
                },
            },
            400,
            "InvalidArgument",
        ),
        (
            {
                "ID": "x" * 256,
                "Filter": {"Prefix": ""},
                "Status": "Enabled",
                "Expiration": {"Days": 1},
            },
            400,
            "InvalidArgument",
        ),
    ],
)
def test_invalid_rules_are_refused(s3, bucket, rule, status, code):  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [rule]}
        )
    assert error(exc) == (status, code)
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error(missing) == (404, "NoSuchLifecycleConfiguration")  # nothing half-written


def test_rule_ids_must_be_unique(s3, bucket):  # type: ignore[no-untyped-def]
    rule = {"ID": "same", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 1}}
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [rule, rule]}
        )
    assert error(exc) == (400, "InvalidArgument")


def test_aws_cli_sets_and_reads_the_configuration(aws_env, s3, bucket, tmp_path):  # type: ignore[no-untyped-def]
    document = tmp_path / "lifecycle.json"
    document.write_text(json.dumps({"Rules": [RULES[0]]}))
    base = ["aws", "s3api", "--output", "json"]
    subprocess.run(
        [*base, "put-bucket-lifecycle-configuration", "--bucket", bucket,
         "--lifecycle-configuration", f"file://{document}"],
        env=aws_env, check=True, capture_output=True,
    )  # fmt: skip
    shown = subprocess.run(
        [*base, "get-bucket-lifecycle-configuration", "--bucket", bucket],
        env=aws_env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert json.loads(shown.stdout)["Rules"] == [RULES[0]]


@pytest.fixture(scope="module")
def quick(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningGateway, object, Path]]:
    """A lifecycle 'day' of one second, a sweep twice a second."""
    data = tmp_path_factory.mktemp("lifecycle")
    settings = gateway_settings(
        registry,
        data,
        repository_prefix="lc",
        min_part_size=1,
        lifecycle_day_seconds=1.0,
        lifecycle_sweep_seconds=0.5,
    )
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="aging")
        yield running, client, data / "audit.log"


EXPIRE_YES = {"Key": "expire", "Value": "yes"}


def audit_lines(path: Path, operation: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["operation"] == operation]


def wait_for(condition, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sweeper did not act in time"
        time.sleep(0.25)


def test_the_sweeper_expires_what_the_rules_select(quick):  # type: ignore[no-untyped-def]
    _, s3, audit = quick
    for key in ("ci/build-1.tar", "ci/build-2.tar", "releases/1.0.tar"):
        s3.put_object(Bucket="aging", Key=key, Body=b"artifact")
    s3.put_object(Bucket="aging", Key="tmp/tagged", Body=b"x", Tagging="expire=yes")
    s3.put_object(Bucket="aging", Key="tmp/untagged", Body=b"x", Tagging="expire=no")
    upload = s3.create_multipart_upload(Bucket="aging", Key="ci/unfinished")["UploadId"]
    s3.put_bucket_lifecycle_configuration(
        Bucket="aging",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "ci", "Filter": {"Prefix": "ci/"}, "Status": "Enabled",
                 "Expiration": {"Days": 2},
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
                {"ID": "tagged", "Status": "Enabled", "Expiration": {"Days": 1},
                 "Filter": {"And": {"Prefix": "tmp/", "Tags": [EXPIRE_YES]}}},
                {"ID": "off", "Filter": {"Prefix": "releases/"}, "Status": "Disabled",
                 "Expiration": {"Days": 1}},
            ]
        },
    )  # fmt: skip

    def keys() -> set[str]:
        listed = s3.list_objects_v2(Bucket="aging").get("Contents", [])
        return {item["Key"] for item in listed}

    wait_for(lambda: keys() == {"releases/1.0.tar", "tmp/untagged"})
    wait_for(lambda: not s3.list_multipart_uploads(Bucket="aging").get("Uploads"))
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket="aging", Key="ci/unfinished", UploadId=upload)
    assert error(exc) == (404, "NoSuchUpload")
    expired = audit_lines(audit, "S3.EXPIRE.OBJECT")
    assert sorted(str(line["resource"]) for line in expired) == [
        "/aging/ci/build-1.tar",
        "/aging/ci/build-2.tar",
        "/aging/tmp/tagged",
    ]
    assert {(line["principal"], line["rule"], line["action"]) for line in expired} == {
        ("lifecycle", "lifecycle:ci", "s3:DeleteObject"),
        ("lifecycle", "lifecycle:tagged", "s3:DeleteObject"),
    }
    aborted = audit_lines(audit, "S3.DELETE.UPLOAD")
    assert [line["resource"] for line in aborted] == ["/aging/ci/unfinished"]
    time.sleep(1.5)  # the disabled rule stays disabled
    assert keys() == {"releases/1.0.tar", "tmp/untagged"}
    s3.delete_bucket_lifecycle(Bucket="aging")


def versions_of(s3, bucket: str, key: str) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """The key's object versions and delete markers (version ids, newest first)."""
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key)
    found = [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]
    markers = [m["VersionId"] for m in listed.get("DeleteMarkers", []) if m["Key"] == key]
    return found, markers


def lines_for(path: Path, operation: str, bucket: str) -> list[dict[str, object]]:
    return [
        line
        for line in audit_lines(path, operation)
        if str(line["resource"]).startswith(f"/{bucket}/")
    ]


def test_expiry_in_a_versioned_bucket_adds_a_delete_marker(quick):  # type: ignore[no-untyped-def]
    _, s3, audit = quick
    s3.create_bucket(Bucket="lc-marker")
    s3.put_bucket_versioning(Bucket="lc-marker", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="lc-marker", Key="ci/a", Body=b"a")["VersionId"]
    s3.put_object(Bucket="lc-marker", Key="rel/a", Body=b"a")
    s3.put_bucket_lifecycle_configuration(
        Bucket="lc-marker",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "ci", "Filter": {"Prefix": "ci/"}, "Status": "Enabled",
                 "Expiration": {"Days": 1}},
            ]
        },
    )  # fmt: skip
    wait_for(lambda: versions_of(s3, "lc-marker", "ci/a")[1])
    time.sleep(1.5)  # later passes leave the marker alone: it is already the current version
    found, markers = versions_of(s3, "lc-marker", "ci/a")
    assert found == [version]  # the expired version stays, noncurrent
    assert len(markers) == 1
    listed = s3.list_object_versions(Bucket="lc-marker", Prefix="ci/a")
    assert listed["DeleteMarkers"][0]["IsLatest"] is True
    assert listed["Versions"][0]["IsLatest"] is False
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket="lc-marker", Key="ci/a")
    assert error(exc) == (404, "NoSuchKey")
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    assert s3.get_object(Bucket="lc-marker", Key="rel/a")["Body"].read() == b"a"
    created = lines_for(audit, "S3.CREATE.DELETEMARKER", "lc-marker")
    assert [(line["resource"], line["action"], line["rule"]) for line in created] == [
        ("/lc-marker/ci/a", "s3:DeleteObject", "lifecycle:ci")
    ]
    assert not lines_for(audit, "S3.EXPIRE.OBJECT", "lc-marker")  # nothing removed for good
    s3.delete_bucket_lifecycle(Bucket="lc-marker")


def test_noncurrent_versions_expire_and_the_newest_are_kept(quick):  # type: ignore[no-untyped-def]
    _, s3, audit = quick
    s3.create_bucket(Bucket="lc-noncurrent")
    s3.put_bucket_versioning(Bucket="lc-noncurrent", VersioningConfiguration={"Status": "Enabled"})
    written = [
        s3.put_object(Bucket="lc-noncurrent", Key="k", Body=bytes([n]))["VersionId"]
        for n in range(4)
    ]
    s3.put_bucket_lifecycle_configuration(
        Bucket="lc-noncurrent",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "keep-one", "Filter": {"Prefix": ""}, "Status": "Enabled",
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 1,
                                                 "NewerNoncurrentVersions": 1}},
            ]
        },
    )  # fmt: skip
    wait_for(lambda: versions_of(s3, "lc-noncurrent", "k")[0] == [written[3], written[2]])
    time.sleep(1.5)  # the newest noncurrent version stays, due or not
    assert versions_of(s3, "lc-noncurrent", "k") == ([written[3], written[2]], [])
    assert s3.get_object(Bucket="lc-noncurrent", Key="k")["Body"].read() == bytes([3])
    removed = lines_for(audit, "S3.EXPIRE.OBJECT", "lc-noncurrent")
    assert [(line["resource"], line["action"]) for line in removed] == [
        ("/lc-noncurrent/k", "s3:DeleteObjectVersion")
    ] * 2
    s3.delete_bucket_lifecycle(Bucket="lc-noncurrent")


def test_expired_object_delete_markers_are_removed(quick):  # type: ignore[no-untyped-def]
    _, s3, audit = quick
    s3.create_bucket(Bucket="lc-eodm")
    s3.put_bucket_versioning(Bucket="lc-eodm", VersioningConfiguration={"Status": "Enabled"})
    for key in ("gone/k", "kept/k"):
        s3.put_object(Bucket="lc-eodm", Key=key, Body=b"x")
        s3.delete_object(Bucket="lc-eodm", Key=key)  # a delete marker over the object
    s3.put_bucket_lifecycle_configuration(
        Bucket="lc-eodm",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "markers", "Filter": {"Prefix": ""}, "Status": "Enabled",
                 "Expiration": {"ExpiredObjectDeleteMarker": True}},
                {"ID": "old", "Filter": {"Prefix": "gone/"}, "Status": "Enabled",
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
            ]
        },
    )  # fmt: skip
    wait_for(lambda: versions_of(s3, "lc-eodm", "gone/k") == ([], []))
    time.sleep(1.0)
    found, markers = versions_of(s3, "lc-eodm", "kept/k")  # its marker still hides a version
    assert (len(found), len(markers)) == (1, 1)
    removed = lines_for(audit, "S3.EXPIRE.OBJECT", "lc-eodm")
    assert sorted((line["rule"], line["resource"]) for line in removed) == [
        ("lifecycle:markers", "/lc-eodm/gone/k"),  # the marker, once alone
        ("lifecycle:old", "/lc-eodm/gone/k"),  # the noncurrent object
    ]
    s3.delete_bucket_lifecycle(Bucket="lc-eodm")


def test_a_locked_noncurrent_version_survives(quick):  # type: ignore[no-untyped-def]
    _, s3, _ = quick
    s3.create_bucket(Bucket="lc-lock", ObjectLockEnabledForBucket=True)
    held = s3.put_object(Bucket="lc-lock", Key="k", Body=b"0", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    middle = s3.put_object(Bucket="lc-lock", Key="k", Body=b"1")["VersionId"]
    current = s3.put_object(Bucket="lc-lock", Key="k", Body=b"2")["VersionId"]
    s3.put_bucket_lifecycle_configuration(
        Bucket="lc-lock",
        LifecycleConfiguration={
            "Rules": [
                {"ID": "old", "Filter": {"Prefix": ""}, "Status": "Enabled",
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
            ]
        },
    )  # fmt: skip
    wait_for(lambda: middle not in versions_of(s3, "lc-lock", "k")[0])
    time.sleep(1.5)  # due many times over, and still there
    assert versions_of(s3, "lc-lock", "k") == ([current, held], [])
    s3.delete_bucket_lifecycle(Bucket="lc-lock")
    s3.put_object_legal_hold(Bucket="lc-lock", Key="k", VersionId=held, LegalHold={"Status": "OFF"})
