"""Bucket policies, canned ACLs, anonymous access, narrow access keys, hidden keys and the
audit log, through boto3, curl-like httpx and the real registry. (Keycloak identities:
tests/integration/identity/.)"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY

BASIC = {
    "Authorization": "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
}


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def key_client(gateway, policy: dict | None = None):  # type: ignore[no-untyped-def]
    """boto3 with a fresh access key made by root (an administrator), maybe narrowed."""
    body: dict[str, object] = {"description": "test"}
    if policy is not None:
        body["policy"] = json.dumps(policy)
    made = httpx.post(f"{gateway.url}/_artifacts/keys", json=body, headers=BASIC)
    assert made.status_code == 201, made.text
    key = made.json()
    return boto3.client(
        "s3",
        endpoint_url=gateway.url,
        aws_access_key_id=key["access_key_id"],
        aws_secret_access_key=key["secret_access_key"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def public_read(bucket: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }


def test_policy_round_trip_status_and_errors(s3, bucket):
    with pytest.raises(ClientError) as none:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(none) == "NoSuchBucketPolicy"
    policy = json.dumps(public_read(bucket))
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == public_read(bucket)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    grants = s3.get_bucket_acl(Bucket=bucket)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_policy(Bucket=bucket)
    assert code(gone) == "NoSuchBucketPolicy"

    for bad in (
        "not json",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}),
        json.dumps(public_read("other-bucket")),
    ):
        with pytest.raises(ClientError) as malformed:
            s3.put_bucket_policy(Bucket=bucket, Policy=bad)
        assert code(malformed) == "MalformedPolicy"
        assert malformed.value.response["Error"]["Message"]


def test_anonymous_reads_a_public_bucket_and_nothing_else(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pub/file.txt", Body=b"hello")
    url = f"{gateway.url}/{bucket}/pub/file.txt"
    assert httpx.get(url).status_code == 403
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert httpx.get(url).content == b"hello"
    assert httpx.get(f"{gateway.url}/{bucket}?list-type=2").status_code == 200
    assert httpx.put(f"{gateway.url}/{bucket}/x", content=b"x").status_code == 403
    assert httpx.delete(url).status_code == 403
    assert httpx.get(f"{gateway.url}/").status_code == 403
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert httpx.get(url).status_code == 403
    # A bad signature never falls back to anonymous, even on a public bucket.
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    forged = {"Authorization": "AWS4-HMAC-SHA256 Credential=nobody/20260101/us-east-1/s3/"}
    assert httpx.get(url, headers=forged).status_code in (400, 403)
    s3.delete_bucket_policy(Bucket=bucket)


def test_create_bucket_with_a_canned_acl(gateway, s3):
    s3.create_bucket(Bucket="public-from-start", ACL="public-read")
    try:
        s3.put_object(Bucket="public-from-start", Key="k", Body=b"v")
        assert httpx.get(f"{gateway.url}/public-from-start/k").content == b"v"
        with pytest.raises(ClientError) as unsupported:
            s3.put_bucket_acl(Bucket="public-from-start", ACL="public-read-write")
        assert code(unsupported) == "NotImplemented"
    finally:
        s3.delete_object(Bucket="public-from-start", Key="k")
        s3.delete_bucket(Bucket="public-from-start")


def test_an_explicit_deny_wins_over_roles(gateway, s3, bucket):
    admin = key_client(gateway)  # artifact-admin by role
    admin.put_object(Bucket=bucket, Key="k", Body=b"v")
    deny_local = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoLoopback",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny_local))
    with pytest.raises(ClientError) as denied:
        admin.get_object(Bucket=bucket, Key="k")
    assert code(denied) == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"  # root is root
    s3.delete_bucket_policy(Bucket=bucket)
    assert admin.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_a_narrow_key_and_hidden_keys(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="reports/a.txt", Body=b"a")
    s3.put_object(Bucket=bucket, Key="secret/b.txt", Body=b"b")
    narrow = key_client(
        gateway,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/reports/*",
                }
            ],
        },
    )
    assert narrow.get_object(Bucket=bucket, Key="reports/a.txt")["Body"].read() == b"a"
    for call in (
        lambda: narrow.get_object(Bucket=bucket, Key="secret/b.txt"),
        lambda: narrow.put_object(Bucket=bucket, Key="reports/new", Body=b"x"),
        lambda: narrow.list_objects_v2(Bucket=bucket),
        # Without list rights a missing key is not revealed as missing.
        lambda: narrow.get_object(Bucket=bucket, Key="reports/missing"),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert code(denied) == "AccessDenied"
    admin = key_client(gateway)
    with pytest.raises(ClientError) as missing:
        admin.get_object(Bucket=bucket, Key="reports/missing")
    assert code(missing) == "NoSuchKey"
    # A narrowing policy without s3:ListAllMyBuckets refuses ListBuckets altogether; one
    # with it sees only the buckets it may list.
    with pytest.raises(ClientError) as no_listing:
        narrow.list_buckets()
    assert code(no_listing) == "AccessDenied"
    lister = key_client(
        gateway,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::zz-*"},
            ],
        },
    )
    assert bucket not in [b["Name"] for b in lister.list_buckets()["Buckets"]]
    assert bucket in [b["Name"] for b in admin.list_buckets()["Buckets"]]


def test_a_copy_needs_read_access_to_its_source(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="private/src", Body=b"secret")
    writer_only = key_client(
        gateway,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        },
    )
    writer_only.put_object(Bucket=bucket, Key="mine", Body=b"ok")
    with pytest.raises(ClientError) as denied:
        writer_only.copy_object(
            Bucket=bucket, Key="stolen", CopySource={"Bucket": bucket, "Key": "private/src"}
        )
    assert code(denied) == "AccessDenied"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="stolen")


def test_malformed_key_policies_are_refused(gateway):
    made = httpx.post(
        f"{gateway.url}/_artifacts/keys",
        json={"policy": json.dumps({"Statement": [{"Effect": "Maybe"}]})},
        headers=BASIC,
    )
    assert made.status_code == 400
    assert made.headers["content-type"] == "application/problem+json"


def test_the_audit_log_has_a_line_per_decision_and_no_secrets(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="audited", Body=b"12345")
    s3.get_object(Bucket=bucket, Key="audited")["Body"].read()
    assert httpx.get(f"{gateway.url}/{bucket}/audited").status_code == 403
    presigned = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "audited"}, ExpiresIn=60
    )
    assert httpx.get(presigned).status_code == 200
    lines = [json.loads(line) for line in gateway.audit_text().splitlines()]
    mine = [line for line in lines if line["resource"] == f"/{bucket}/audited"]
    put = next(line for line in mine if line["action"] == "s3:PutObject")
    assert put["decision"] == "allow"
    assert put["rule"] == "root"
    assert put["auth"] == "root"
    assert put["status"] == 200
    assert put["bytes_in"] == 5
    gets = [line for line in mine if line["action"] == "s3:GetObject"]
    assert any(g["decision"] == "allow" and g["bytes_out"] == 5 for g in gets)
    denied = [g for g in gets if g["decision"] == "deny"]
    assert denied
    assert denied[0]["principal"] == "anonymous"
    assert denied[0]["status"] == 403
    assert denied[0]["rule"] == "default-deny"
    assert denied[0]["source_ip"] == "127.0.0.1"
    text = gateway.audit_text()
    query = parse_qs(urlsplit(presigned).query)
    signature = (query.get("Signature") or query["X-Amz-Signature"])[0]
    for secret in (SECRET_KEY, signature, "X-Amz-", "Credential=", "AWS4-HMAC-SHA256"):
        assert secret not in text


def test_delete_objects_is_decided_per_key(gateway, s3, bucket):
    for key in ("tmp/a", "keep/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    cleaner = key_client(
        gateway,
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:DeleteObject",
                    "Resource": f"arn:aws:s3:::{bucket}/tmp/*",
                }
            ],
        },
    )
    result = cleaner.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "tmp/a"}, {"Key": "keep/b"}]}
    )
    assert [d["Key"] for d in result.get("Deleted", [])] == ["tmp/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("keep/b", "AccessDenied")]
    assert s3.get_object(Bucket=bucket, Key="keep/b")["Body"].read() == b"x"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="tmp/a")
    lines = [json.loads(line) for line in gateway.audit_text().splitlines()]
    per_key = {
        line["resource"]: line["decision"]
        for line in lines
        if line["action"] == "s3:DeleteObject" and line["auth"] == "access-key"
    }
    assert per_key[f"/{bucket}/tmp/a"] == "allow"
    assert per_key[f"/{bucket}/keep/b"] == "deny"
