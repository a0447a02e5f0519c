from datetime import UTC, datetime

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


PAST = datetime(2001, 1, 1, tzinfo=UTC)
FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def _source_cases(etag: str) -> list[tuple[dict[str, object], str | None]]:
    """(copy-source conditions, the failed condition S3 names or None: the copy happens).
    The CopyObject page: every failure is 412, never 304."""
    return [
        ({"CopySourceIfMatch": etag}, None),
        ({"CopySourceIfMatch": '"nope"'}, "x-amz-copy-source-If-Match"),
        ({"CopySourceIfNoneMatch": etag}, "x-amz-copy-source-If-None-Match"),
        ({"CopySourceIfNoneMatch": '"nope"'}, None),
        ({"CopySourceIfModifiedSince": FUTURE}, "x-amz-copy-source-If-Modified-Since"),
        ({"CopySourceIfModifiedSince": PAST}, None),
        ({"CopySourceIfUnmodifiedSince": PAST}, "x-amz-copy-source-If-Unmodified-Since"),
        ({"CopySourceIfUnmodifiedSince": FUTURE}, None),
        # The page's two combinations:
        ({"CopySourceIfMatch": etag, "CopySourceIfUnmodifiedSince": PAST}, None),
        (
            {"CopySourceIfNoneMatch": etag, "CopySourceIfModifiedSince": PAST},
            "x-amz-copy-source-If-None-Match",
        ),
    ]


def test_copy_source_conditions(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
    for n, (conditions, failed) in enumerate(_source_cases(etag)):
        target = f"copy-{n}"
        if failed is None:
            s3.copy_object(Bucket=bucket, Key=target, CopySource=f"{bucket}/src", **conditions)
            assert s3.get_object(Bucket=bucket, Key=target)["Body"].read() == b"source"
            continue
        with pytest.raises(ClientError) as exc:
            s3.copy_object(Bucket=bucket, Key=target, CopySource=f"{bucket}/src", **conditions)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412, conditions
        assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
        assert exc.value.response["Error"]["Condition"] == failed
        assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=target)


def test_upload_part_copy_source_conditions(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"source")["ETag"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    try:
        for conditions, failed in _source_cases(etag):
            call = {
                "Bucket": bucket,
                "Key": "dst",
                "UploadId": upload,
                "PartNumber": 1,
                "CopySource": f"{bucket}/src",
                **conditions,
            }
            if failed is None:
                assert s3.upload_part_copy(**call)["CopyPartResult"]["ETag"] == etag
                continue
            with pytest.raises(ClientError) as exc:
                s3.upload_part_copy(**call)
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412, conditions
            assert exc.value.response["Error"]["Condition"] == failed
        # A failed condition wins over a range past the source's end.
        with pytest.raises(ClientError) as exc:
            s3.upload_part_copy(
                Bucket=bucket,
                Key="dst",
                UploadId=upload,
                PartNumber=2,
                CopySource=f"{bucket}/src",
                CopySourceRange="bytes=100-200",
                CopySourceIfMatch='"nope"',
            )
        assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key="dst", UploadId=upload)


def test_copy_destination_conditions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    s3.put_object(Bucket=bucket, Key="dst", Body=b"old")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", IfNoneMatch="*")
    assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
    assert exc.value.response["Error"]["Condition"] == "If-None-Match"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"{bucket}/src", IfMatch='"nope"')
    assert exc.value.response["Error"]["Condition"] == "If-Match"
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"old"
    s3.copy_object(Bucket=bucket, Key="new", CopySource=f"{bucket}/src", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="new")["Body"].read() == b"source"
