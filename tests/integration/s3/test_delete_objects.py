import pytest
from botocore.exceptions import ClientError

from tests.fixtures.signing import send


def test_delete_object_is_idempotent(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects(s3, bucket):
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"1")
    result = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "missing"}]}
    )
    assert sorted(d["Key"] for d in result["Deleted"]) == ["a", "b", "missing"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects_without_content_md5(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="x", Body=b"1")
    body = b"<Delete><Object><Key>x</Key></Object></Delete>"
    response = send("POST", f"{gateway.url}/{bucket}?delete", body)
    assert response.status_code == 200, response.text
    assert b"<Deleted><Key>x</Key></Deleted>" in response.content


@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>x</Key></Object>",
        b"<Delete></Delete>",
        b"not xml",
        b"<Other><Object><Key>x</Key></Object></Other>",
    ],
)
def test_malformed_delete(gateway, s3, bucket, body):
    s3.put_object(Bucket=bucket, Key="x", Body=b"1")
    response = send("POST", f"{gateway.url}/{bucket}?delete", body)
    assert response.status_code == 400
    assert b"<Code>MalformedXML</Code>" in response.content
    assert s3.head_object(Bucket=bucket, Key="x")["ContentLength"] == 1


def test_delete_objects_on_missing_bucket(s3):
    with pytest.raises(ClientError) as exc:
        s3.delete_objects(Bucket="missing-bucket-q", Delete={"Objects": [{"Key": "a"}]})
    assert exc.value.response["Error"]["Code"] == "NoSuchBucket"
