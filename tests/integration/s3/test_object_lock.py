"""Object Lock: CreateBucket with Object Lock, Put/GetObjectLockConfiguration, retention and
legal hold on writes (PutObject, CopyObject, CreateMultipartUpload for the version Complete
makes) and after them (Put/GetObjectRetention, Put/GetObjectLegalHold), the lock headers of
GET/HEAD, and the refusal to delete a locked version (boto3, aws-cli v1 and raw signed
requests)."""

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
from tests.integration.s3.test_policies import key_client


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


def complete_one_part(s3, bucket: str, key: str, upload: str, body: bytes = b"x") -> str:  # type: ignore[no-untyped-def]
    """Upload one part and complete; returns the version id Complete made."""
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=body)["ETag"]
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]},
    )
    return str(done["VersionId"])


def test_lock_headers_on_create_multipart_upload_lock_the_version_complete_makes(s3, locked):
    until = later()
    upload = s3.create_multipart_upload(
        Bucket=locked,
        Key="mp",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
        ObjectLockLegalHoldStatus="ON",
    )["UploadId"]
    assert s3.list_objects_v2(Bucket=locked).get("KeyCount") == 0  # nothing until Complete
    version = complete_one_part(s3, locked, "mp", upload)

    retention = s3.get_object_retention(Bucket=locked, Key="mp", VersionId=version)["Retention"]
    assert retention == {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    hold = s3.get_object_legal_hold(Bucket=locked, Key="mp", VersionId=version)["LegalHold"]
    assert hold == {"Status": "ON"}
    head = s3.head_object(Bucket=locked, Key="mp", VersionId=version)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("GOVERNANCE", until)
    assert head["ObjectLockLegalHoldStatus"] == "ON"

    with pytest.raises(ClientError) as held:  # a legal hold: not even with the bypass
        s3.delete_object(Bucket=locked, Key="mp", VersionId=version, BypassGovernanceRetention=True)
    assert error_of(held) == ("AccessDenied", 403)
    s3.put_object_legal_hold(
        Bucket=locked, Key="mp", VersionId=version, LegalHold={"Status": "OFF"}
    )
    with pytest.raises(ClientError) as governed:  # GOVERNANCE: not without the bypass
        s3.delete_object(Bucket=locked, Key="mp", VersionId=version)
    assert error_of(governed) == ("AccessDenied", 403)
    assert s3.get_object(Bucket=locked, Key="mp", VersionId=version)["Body"].read() == b"x"
    s3.delete_object(Bucket=locked, Key="mp", VersionId=version, BypassGovernanceRetention=True)
    assert versions_of(s3, locked) == []


def test_a_compliance_upload_is_kept_from_everyone_until_its_date(s3, locked):
    until = later(4)
    upload = s3.create_multipart_upload(
        Bucket=locked, Key="mp", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until
    )["UploadId"]
    version = complete_one_part(s3, locked, "mp", upload)
    retention = s3.get_object_retention(Bucket=locked, Key="mp", VersionId=version)["Retention"]
    assert retention == {"Mode": "COMPLIANCE", "RetainUntilDate": until}
    assert s3.get_object_legal_hold(Bucket=locked, Key="mp", VersionId=version)["LegalHold"] == {
        "Status": "OFF"
    }
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=locked, Key="mp", VersionId=version, BypassGovernanceRetention=True)
    assert error_of(refused) == ("AccessDenied", 403)


def test_an_upload_without_lock_headers_takes_the_default_retention_at_complete(s3, locked):
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    plain = s3.create_multipart_upload(Bucket=locked, Key="plain")["UploadId"]
    version = complete_one_part(s3, locked, "plain", plain)
    head = s3.head_object(Bucket=locked, Key="plain", VersionId=version)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    remaining = head["ObjectLockRetainUntilDate"] - datetime.now(UTC)
    assert timedelta(hours=23) < remaining <= timedelta(days=1)
    # Headers win over the default, as on PutObject.
    until = later(7200)
    asked = s3.create_multipart_upload(
        Bucket=locked, Key="asked", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until
    )["UploadId"]
    version = complete_one_part(s3, locked, "asked", asked)
    retention = s3.get_object_retention(Bucket=locked, Key="asked", VersionId=version)
    assert retention["Retention"] == {"Mode": "GOVERNANCE", "RetainUntilDate": until}


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
        pytest.param(
            {
                "x-amz-object-lock-mode": "GOVERNANCE",
                "x-amz-object-lock-retain-until-date": "2001-01-01T00:00:00Z",
            },
            "InvalidArgument",
            id="past",
        ),
    ],
)
def test_wrong_lock_headers_on_create_multipart_upload_are_refused(
    gateway, s3, locked, headers, code
):
    answer = send("POST", f"{gateway.url}/{locked}/mp?uploads", b"", headers)
    assert answer.status_code == 400
    assert f"<Code>{code}</Code>" in answer.text
    assert s3.list_multipart_uploads(Bucket=locked).get("Uploads", []) == []


def test_lock_headers_on_create_multipart_upload_need_a_lock_bucket(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.create_multipart_upload(Bucket=bucket, Key="mp", ObjectLockLegalHoldStatus="ON")
    assert error_of(excinfo) == ("InvalidRequest", 400)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_lock_headers_on_create_multipart_upload_need_the_lock_permissions(gateway, locked):
    """As on PutObject: a retention needs s3:PutObjectRetention, a hold s3:PutObjectLegalHold."""

    def client(*actions: str):  # type: ignore[no-untyped-def]
        allowed = ["s3:AbortMultipartUpload", *actions]
        statement = {"Effect": "Allow", "Action": allowed, "Resource": "*"}
        return key_client(gateway, {"Version": "2012-10-17", "Statement": [statement]})

    retention = {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": later()}
    writer = client("s3:PutObject")
    for asked in (retention, {"ObjectLockLegalHoldStatus": "ON"}):
        with pytest.raises(ClientError) as refused:
            writer.create_multipart_upload(Bucket=locked, Key="mp", **asked)
        assert error_of(refused) == ("AccessDenied", 403)
    writer.abort_multipart_upload(
        Bucket=locked,
        Key="mp",
        UploadId=writer.create_multipart_upload(Bucket=locked, Key="mp")["UploadId"],
    )
    retainer = client("s3:PutObject", "s3:PutObjectRetention")
    upload = retainer.create_multipart_upload(Bucket=locked, Key="mp", **retention)["UploadId"]
    retainer.abort_multipart_upload(Bucket=locked, Key="mp", UploadId=upload)
    with pytest.raises(ClientError) as no_hold:
        retainer.create_multipart_upload(Bucket=locked, Key="mp", ObjectLockLegalHoldStatus="ON")
    assert error_of(no_hold) == ("AccessDenied", 403)
    holder = client("s3:PutObject", "s3:PutObjectLegalHold")
    upload = holder.create_multipart_upload(
        Bucket=locked, Key="mp", ObjectLockLegalHoldStatus="ON"
    )["UploadId"]
    holder.abort_multipart_upload(Bucket=locked, Key="mp", UploadId=upload)
