"""Object Lock: CreateBucket with Object Lock, Put/GetObjectLockConfiguration, retention and
legal hold on writes and after them (Put/GetObjectRetention, Put/GetObjectLegalHold), the
lock headers of GET/HEAD, and the refusal to delete a locked version (boto3, aws-cli v1 and
raw signed requests)."""

import base64
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.signing import send
from tests.integration.s3.test_awscli import aws


def error_of(excinfo):
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def later(seconds: float = 3600) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)


def versions_of(s3, bucket):
    answer = s3.list_object_versions(Bucket=bucket)
    return answer.get("Versions", []) + answer.get("DeleteMarkers", [])


def empty(s3, bucket):
    """Lift every hold and GOVERNANCE retention (root may bypass) and delete every version;
    COMPLIANCE versions in these tests expire within seconds."""
    for entry in versions_of(s3, bucket):
        key, version = entry["Key"], entry["VersionId"]
        if "Size" in entry:
            s3.put_object_legal_hold(
                Bucket=bucket, Key=key, VersionId=version, LegalHold={"Status": "OFF"}
            )
        for _ in range(10):
            try:
                s3.delete_object(
                    Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
                )
                break
            except ClientError:
                time.sleep(1)


@pytest.fixture
def locked(s3):
    name = f"l-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    yield name
    empty(s3, name)
    s3.delete_bucket(Bucket=name)


def test_a_bucket_made_with_object_lock_is_versioned_and_enabled(s3, locked):
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}


def test_versioning_of_a_lock_bucket_cannot_be_suspended(s3, locked):
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert error_of(excinfo) == ("InvalidBucketState", 409)


def test_a_bucket_without_lock_has_no_configuration(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert error_of(excinfo) == ("ObjectLockConfigurationNotFoundError", 404)


def test_lock_needs_versioning_enabled_first(s3, bucket):
    config = {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=config)
    assert error_of(excinfo) == ("InvalidBucketState", 409)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=config)
    assert s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"] == config


def test_lock_headers_on_a_bucket_without_lock_are_refused(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(
            Bucket=bucket,
            Key="k",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=later(),
        )
    assert error_of(excinfo) == ("InvalidRequest", 400)


def test_default_retention_applies_to_new_versions(s3, locked):
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config["Rule"] == rule
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    remaining = head["ObjectLockRetainUntilDate"] - datetime.now(UTC)
    assert timedelta(hours=23) < remaining <= timedelta(days=1)
    assert head["ObjectLockLegalHoldStatus"] == "OFF"


@pytest.mark.parametrize(
    ("retention", "code"),
    [
        pytest.param({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, "MalformedXML", id="both"),
        pytest.param({"Mode": "GOVERNANCE"}, "MalformedXML", id="neither"),
        pytest.param({"Mode": "GOVERNANCE", "Days": 0}, "InvalidArgument", id="zero-days"),
    ],
)
def test_a_wrong_default_retention_is_refused(s3, locked, retention, code):
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_lock_configuration(
            Bucket=locked,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": retention},
            },
        )
    assert error_of(excinfo) == (code, 400)


def test_a_wrong_mode_in_the_configuration_is_malformed(gateway, locked):
    body = (
        b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
        b"<DefaultRetention><Mode>FOREVER</Mode><Days>1</Days></DefaultRetention></Rule>"
        b"</ObjectLockConfiguration>"
    )
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    answer = send("PUT", f"{gateway.url}/{locked}?object-lock", body, {"Content-MD5": md5})
    assert answer.status_code == 400
    assert "<Code>MalformedXML</Code>" in answer.text


def test_the_configuration_needs_an_integrity_header(gateway, locked):
    body = (
        b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        b"</ObjectLockConfiguration>"
    )
    answer = send("PUT", f"{gateway.url}/{locked}?object-lock", body)
    assert answer.status_code == 400
    assert "<Code>InvalidRequest</Code>" in answer.text


def test_a_governance_version_is_kept_from_delete_without_bypass(s3, locked):
    put = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(),
    )
    version = put["VersionId"]
    got = s3.get_object(Bucket=locked, Key="k")
    assert got["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version)
    assert error_of(excinfo) == ("AccessDenied", 403)
    # A plain DELETE adds a delete marker and leaves the locked version as it is.
    marker = s3.delete_object(Bucket=locked, Key="k")
    assert marker["DeleteMarker"] is True
    assert s3.get_object(Bucket=locked, Key="k", VersionId=version)["Body"].read() == b"x"
    s3.delete_object(Bucket=locked, Key="k", VersionId=marker["VersionId"])
    # With the bypass (root may), the version goes.
    s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert versions_of(s3, locked) == []


def test_an_overwrite_makes_a_new_version_and_keeps_the_locked_one(s3, locked):
    first = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"one",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(),
    )["VersionId"]
    s3.put_object(Bucket=locked, Key="k", Body=b"two")
    assert s3.get_object(Bucket=locked, Key="k")["Body"].read() == b"two"
    old = s3.get_object(Bucket=locked, Key="k", VersionId=first)
    assert old["Body"].read() == b"one"
    assert old["ObjectLockMode"] == "GOVERNANCE"


def test_compliance_can_be_lengthened_but_never_shortened_or_removed(s3, locked):
    until = later(4)
    version = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    answer = s3.get_object_retention(Bucket=locked, Key="k", VersionId=version)
    assert answer["Retention"]["Mode"] == "COMPLIANCE"
    assert answer["Retention"]["RetainUntilDate"] == until
    for change in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(seconds=1)},
        {"Mode": "GOVERNANCE", "RetainUntilDate": until + timedelta(seconds=1)},
    ):
        with pytest.raises(ClientError) as excinfo:
            s3.put_object_retention(
                Bucket=locked,
                Key="k",
                VersionId=version,
                Retention=change,
                BypassGovernanceRetention=True,
            )
        assert error_of(excinfo) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_retention(
            Bucket=locked, Key="k", VersionId=version, Retention={}, BypassGovernanceRetention=True
        )
    assert error_of(excinfo) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert error_of(excinfo) == ("AccessDenied", 403)
    longer = until + timedelta(seconds=1)
    s3.put_object_retention(
        Bucket=locked,
        Key="k",
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer},
    )
    head = s3.head_object(Bucket=locked, Key="k", VersionId=version)
    assert head["ObjectLockRetainUntilDate"] == longer
    # The manifest (which signatures name) is the same one: the ETag and the digest stay.
    assert head["ETag"] == s3.head_object(Bucket=locked, Key="k")["ETag"]


def test_governance_is_shortened_or_removed_only_with_the_bypass(s3, locked):
    version = s3.put_object(
        Bucket=locked,
        Key="k",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(7200),
    )["VersionId"]
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": later(3600)}
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_retention(Bucket=locked, Key="k", VersionId=version, Retention=shorter)
    assert error_of(excinfo) == ("AccessDenied", 403)
    s3.put_object_retention(
        Bucket=locked,
        Key="k",
        VersionId=version,
        Retention=shorter,
        BypassGovernanceRetention=True,
    )
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == shorter
    s3.put_object_retention(Bucket=locked, Key="k", Retention={}, BypassGovernanceRetention=True)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_retention(Bucket=locked, Key="k")
    assert error_of(excinfo) == ("NoSuchObjectLockConfiguration", 404)
    s3.delete_object(Bucket=locked, Key="k", VersionId=version)


def test_a_retention_date_in_the_past_is_refused(s3, locked):
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object_retention(
            Bucket=locked,
            Key="k",
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later(-60)},
        )
    assert error_of(excinfo) == ("InvalidArgument", 400)


def test_retention_of_a_missing_version_is_no_such_version(s3, locked):
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_retention(Bucket=locked, Key="k", VersionId="0" * 32)
    assert error_of(excinfo) == ("NoSuchVersion", 404)
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_retention(Bucket=locked, Key="missing")
    assert error_of(excinfo) == ("NoSuchKey", 404)


def test_retention_on_a_bucket_without_lock_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as excinfo:
        s3.get_object_retention(Bucket=bucket, Key="k")
    assert error_of(excinfo) == ("InvalidRequest", 400)


def test_a_legal_hold_keeps_a_version_from_everyone(s3, locked):
    version = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as excinfo:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert error_of(excinfo) == ("AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k")["LegalHold"] == {"Status": "OFF"}
    s3.put_object_legal_hold(Bucket=locked, Key="k", VersionId=version, LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="k", VersionId=version)["LegalHold"] == {
        "Status": "ON"
    }
    s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked, Key="k", VersionId=version)


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({"x-amz-object-lock-mode": "GOVERNANCE"}, "InvalidArgument", id="no-date"),
        pytest.param(
            {"x-amz-object-lock-mode": "FOREVER", "x-amz-object-lock-retain-until-date": "x"},
            "InvalidArgument",
            id="mode",
        ),
        pytest.param({"x-amz-object-lock-legal-hold": "MAYBE"}, "InvalidArgument", id="hold"),
        pytest.param({"x-amz-object-lock-legal-hold": "ON"}, "InvalidRequest", id="no-md5"),
    ],
)
def test_wrong_lock_headers_on_a_write_are_refused(gateway, locked, headers, code):
    answer = send("PUT", f"{gateway.url}/{locked}/k", b"x", headers)
    assert answer.status_code == 400
    assert f"<Code>{code}</Code>" in answer.text


def test_a_legal_hold_with_content_md5_is_taken(gateway, s3, locked):
    md5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    headers = {"x-amz-object-lock-legal-hold": "ON", "Content-MD5": md5}
    answer = send("PUT", f"{gateway.url}/{locked}/k", b"x", headers)
    assert answer.status_code == 200
    assert s3.head_object(Bucket=locked, Key="k")["ObjectLockLegalHoldStatus"] == "ON"


def test_delete_objects_leaves_a_locked_version(s3, locked):
    s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k"}]})
    kept = [v for v in versions_of(s3, locked) if "Size" in v]
    assert len(kept) == 1


def test_copy_takes_the_lock_of_its_headers(s3, locked):
    s3.put_object(Bucket=locked, Key="src", Body=b"x")
    s3.copy_object(
        Bucket=locked,
        Key="dst",
        CopySource={"Bucket": locked, "Key": "src"},
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=later(),
    )
    assert s3.head_object(Bucket=locked, Key="dst")["ObjectLockMode"] == "GOVERNANCE"
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="src")


def test_aws_cli_sets_retention_and_legal_hold(aws_env, s3, locked):
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    until = later().strftime("%Y-%m-%dT%H:%M:%SZ")
    aws(
        aws_env,
        "s3api",
        "put-object-retention",
        "--bucket",
        locked,
        "--key",
        "k",
        "--retention",
        json.dumps({"Mode": "GOVERNANCE", "RetainUntilDate": until}),
    )
    aws(
        aws_env,
        "s3api",
        "put-object-legal-hold",
        "--bucket",
        locked,
        "--key",
        "k",
        "--legal-hold",
        "Status=ON",
    )
    retention = json.loads(
        aws(aws_env, "s3api", "get-object-retention", "--bucket", locked, "--key", "k")
    )
    assert retention["Retention"]["Mode"] == "GOVERNANCE"
    hold = json.loads(
        aws(aws_env, "s3api", "get-object-legal-hold", "--bucket", locked, "--key", "k")
    )
    assert hold["LegalHold"]["Status"] == "ON"
    config = json.loads(aws(aws_env, "s3api", "get-object-lock-configuration", "--bucket", locked))
    assert config["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
