import pytest
from botocore.exceptions import ClientError


def test_copy_keeps_bytes_and_metadata(s3, bucket):
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"payload" * 1000,
        ContentType="text/x-src",
        Metadata={"origin": "src"},
    )
    result = s3.copy_object(
        Bucket=bucket, Key="dst/copy", CopySource={"Bucket": bucket, "Key": "src"}
    )
    source = s3.head_object(Bucket=bucket, Key="src")
    assert result["CopyObjectResult"]["ETag"] == source["ETag"]
    copy = s3.get_object(Bucket=bucket, Key="dst/copy")
    assert copy["Body"].read() == b"payload" * 1000
    assert copy["ContentType"] == "text/x-src"
    assert copy["Metadata"] == {"origin": "src"}


def test_copy_replace_metadata_and_across_buckets(s3, bucket):
    other = bucket + "-b"
    s3.create_bucket(Bucket=other)
    try:
        s3.put_object(Bucket=bucket, Key="src", Body=b"x" * 10, Metadata={"a": "1"})
        s3.copy_object(
            Bucket=other,
            Key="copied",
            CopySource=f"{bucket}/src",
            MetadataDirective="REPLACE",
            Metadata={"b": "2"},
            ContentType="text/plain",
        )
        copy = s3.head_object(Bucket=other, Key="copied")
        assert copy["Metadata"] == {"b": "2"}
        assert copy["ContentType"] == "text/plain"
        assert s3.get_object(Bucket=other, Key="copied")["Body"].read() == b"x" * 10
        s3.put_object(Bucket=bucket, Key="src", Body=b"changed")
        assert s3.get_object(Bucket=other, Key="copied")["Body"].read() == b"x" * 10
    finally:
        s3.delete_object(Bucket=other, Key="copied")
        s3.delete_bucket(Bucket=other)


def test_copy_onto_itself_needs_replace(s3, bucket):
    s3.put_object(Bucket=bucket, Key="self", Body=b"1", Metadata={"v": "1"})
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="self", CopySource=f"{bucket}/self")
    assert exc.value.response["Error"]["Code"] == "InvalidArgument"
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource=f"{bucket}/self",
        MetadataDirective="REPLACE",
        Metadata={"v": "2"},
    )
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"v": "2"}


def test_copy_conditions_and_missing_source(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"1")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="d", CopySource=f"{bucket}/src", CopySourceIfMatch='"x"')
    assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="d", CopySource=f"{bucket}/absent")
    assert exc.value.response["Error"]["Code"] == "NoSuchKey"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["src"]
