import json
import subprocess
import sys
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest
from botocore.exceptions import ClientError

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.servers import serve
from tests.fixtures.signing import send

AWS = str(Path(sys.executable).with_name("aws"))
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_create_list_head_delete(s3):
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket=name).get("LocationConstraint") is None
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_delete_non_empty_bucket_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert code(exc) == "BucketNotEmpty"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_delete_bucket_is_refused_while_versions_or_delete_markers_are_left(s3):
    """S3's DeleteBucket keeps BucketNotEmpty however the JSON API deletes recursively: a
    versioned bucket whose listing is empty still holds a version and a delete marker."""
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.delete_object(Bucket=name, Key="k")
    assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    for entry in ("Versions", "DeleteMarkers"):
        with pytest.raises(ClientError) as exc:
            s3.delete_bucket(Bucket=name)
        assert code(exc) == "BucketNotEmpty"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        left = s3.list_object_versions(Bucket=name)[entry]
        s3.delete_object(Bucket=name, Key="k", VersionId=left[0]["VersionId"])
    s3.delete_bucket(Bucket=name)


@pytest.mark.parametrize(
    "name", ["ab", "a" * 64, "Upper", "a..b", "192.168.1.1", "-ab", "ab-", "xn--ab", "a_b"]
)
def test_invalid_bucket_names(s3, name):
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code(exc) == "InvalidBucketName"
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_missing_bucket(s3):
    for call in (
        lambda: s3.list_objects_v2(Bucket="no-such-bucket-x"),
        lambda: s3.put_object(Bucket="no-such-bucket-x", Key="k", Body=b"1"),
        lambda: s3.delete_bucket(Bucket="no-such-bucket-x"),
        lambda: s3.get_bucket_location(Bucket="no-such-bucket-x"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code(exc) == "NoSuchBucket"
        assert exc.value.response["Error"]["BucketName"] == "no-such-bucket-x"


def test_create_bucket_with_location_constraint(s3):
    name = f"b-{uuid.uuid4().hex[:10]}"
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert code(exc) == "InvalidArgument"
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    s3.delete_bucket(Bucket=name)


def test_bucket_versioning_is_empty(s3, bucket):
    response = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in response


def aws(env, *args: str) -> str:
    result = subprocess.run(
        [AWS, "--endpoint-url", env["AWS_ENDPOINT_URL"], *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_create_bucket_you_own_in_us_east_1_is_200(s3, aws_env):
    """S3's legacy answer in North Virginia (the gateway's region here): creating a bucket the
    caller already owns succeeds again, and leaves the bucket as it was."""
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    try:
        s3.put_object(Bucket=name, Key="k", Body=b"kept")
        again = s3.create_bucket(Bucket=name)
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert again["Location"] == f"/{name}"
        aws(aws_env, "s3api", "create-bucket", "--bucket", name)
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"kept"
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(name) == 1
    finally:
        s3.delete_object(Bucket=name, Key="k")
        s3.delete_bucket(Bucket=name)


def test_create_bucket_you_own_elsewhere_is_409(registry, tmp_path):
    """In every other region S3 answers 409 BucketAlreadyOwnedByYou."""
    settings = gateway_settings(registry, tmp_path, region="eu-west-1")
    with serve(settings) as running:
        client = s3_client(running.url)
        name = f"b-{uuid.uuid4().hex[:10]}"
        config = {"LocationConstraint": "eu-west-1"}
        client.create_bucket(Bucket=name, CreateBucketConfiguration=config)
        try:
            with pytest.raises(ClientError) as exc:
                client.create_bucket(Bucket=name, CreateBucketConfiguration=config)
            assert code(exc) == "BucketAlreadyOwnedByYou"
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
            assert exc.value.response["Error"]["BucketName"] == name
        finally:
            client.delete_bucket(Bucket=name)


@pytest.fixture
def many(s3):
    """Five buckets sharing a stem of their own, and one that only starts like it."""
    stem = f"lb-{uuid.uuid4().hex[:8]}-"
    names = [f"{stem}{tail}" for tail in ("a-b", "a.b", "a0", "ab", "b")]
    for name in names:
        s3.create_bucket(Bucket=name)
    yield stem, names
    for name in names:
        s3.delete_bucket(Bucket=name)


def test_list_buckets_pages(s3, many):
    stem, names = many
    seen, token, pages = [], None, 0
    while True:
        options = {"ContinuationToken": token} if token else {}
        page = s3.list_buckets(MaxBuckets=2, Prefix=stem, **options)
        pages += 1
        assert page["Prefix"] == stem
        assert len(page["Buckets"]) == (2 if "ContinuationToken" in page else 1)
        assert all(b["BucketRegion"] == "us-east-1" for b in page["Buckets"])
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if token is None:
            break
        assert stem not in token  # opaque
    assert (seen, pages) == (sorted(names), 3)
    paginated = s3.get_paginator("list_buckets").paginate(
        Prefix=stem, PaginationConfig={"PageSize": 4}
    )
    assert [b["Name"] for page in paginated for b in page["Buckets"]] == sorted(names)


def test_list_buckets_bucket_region_and_prefix(s3, many):
    stem, names = many
    here = s3.list_buckets(Prefix=stem, BucketRegion="us-east-1")
    assert [b["Name"] for b in here["Buckets"]] == sorted(names)
    assert "ContinuationToken" not in here
    assert s3.list_buckets(Prefix=stem, BucketRegion="eu-west-1")["Buckets"] == []
    assert [b["Name"] for b in s3.list_buckets(Prefix=stem + "a-")["Buckets"]] == [names[0]]
    everything = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert [n for n in everything if n.startswith(stem)] == sorted(names)
    assert "Prefix" not in s3.list_buckets()


def test_list_buckets_with_aws_cli(aws_env, many):
    """aws-cli v1 follows the tokens itself (``--page-size`` is ``max-buckets``)."""
    stem, names = many
    listed = json.loads(aws(aws_env, "s3api", "list-buckets", "--prefix", stem, "--page-size", "2"))
    assert [b["Name"] for b in listed["Buckets"]] == sorted(names)
    first = json.loads(aws(aws_env, "s3api", "list-buckets", "--prefix", stem, "--max-items", "2"))
    assert [b["Name"] for b in first["Buckets"]] == sorted(names)[:2]
    assert "NextToken" in first


@pytest.mark.parametrize(
    "query", ["continuation-token=", "continuation-token=&max-buckets=10000", "bucket-region="]
)
def test_list_buckets_empty_parameters_are_as_absent(gateway, many, query):
    """An empty token starts at the beginning and an empty region filters nothing."""
    stem, names = many
    response = send("GET", f"{gateway.url}/?{query}")
    assert response.status_code == 200, response.text
    document = ElementTree.fromstring(response.content)
    listed = [e.text for e in document.iter(f"{S3_NS}Name")]
    assert [n for n in listed if n and n.startswith(stem)] == sorted(names)
    assert document.find(f"{S3_NS}ContinuationToken") is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("max-buckets=0", "Argument max-buckets must be an integer between 1 and 10000"),
        ("max-buckets=10001", "Argument max-buckets must be an integer between 1 and 10000"),
        ("max-buckets=ten", "Argument max-buckets must be an integer between 1 and 10000"),
        ("max-buckets=", "Argument max-buckets must be an integer between 1 and 10000"),
        ("continuation-token=bm90IGEgdG9rZW4", "The continuation token provided is incorrect"),
        ("continuation-token=%21%21", "The continuation token provided is incorrect"),
    ],
)
def test_list_buckets_bad_parameters_are_invalid_argument(gateway, query, message):
    response = send("GET", f"{gateway.url}/?{query}")
    assert response.status_code == 400, response.text
    error = ElementTree.fromstring(response.content)
    assert (error.findtext("Code"), error.findtext("Message")) == ("InvalidArgument", message)
