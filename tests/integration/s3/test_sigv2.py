"""SigV2 header auth end to end (older tools such as s3cmd still sign this way)."""

import hashlib

import pytest
from botocore.exceptions import ClientError

from tests.conftest import s3_client


def test_sigv2_client_round_trip(gateway, bucket):
    v2 = s3_client(gateway.url, signature_version="s3")
    body = b"signed with v2 " * 1000
    put = v2.put_object(Bucket=bucket, Key="dir/v2 file", Body=body, Metadata={"a": "b"})
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert v2.get_object(Bucket=bucket, Key="dir/v2 file")["Body"].read() == body
    assert v2.head_object(Bucket=bucket, Key="dir/v2 file")["Metadata"] == {"a": "b"}
    listed = v2.list_objects(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/v2 file"]
    v2.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "dir/v2 file"}]})
    assert "Contents" not in v2.list_objects_v2(Bucket=bucket)


def test_sigv2_wrong_secret(gateway, bucket):
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id="test-root",
        aws_secret_access_key="wrong",
        config=Config(signature_version="s3", retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as exc:
        client.list_objects(Bucket=bucket)
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
