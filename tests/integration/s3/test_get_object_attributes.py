"""GetObjectAttributes: HeadObject and ListParts in one answer (boto3, aws-cli v1, raw httpx)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib

import httpx
import pytest
from botocore.exceptions import ClientError

from gateway.__main__ import main
from tests.conftest import gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import serve
from tests.fixtures.signing import send
from tests.integration.s3.test_awscli import aws

MiB = 1024 * 1024
BAD_ARG = "InvalidArgument"
EVERYTHING = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def multipart(s3, bucket: str, key: str, parts: list[bytes], algorithm: str | None) -> dict:  # type: ignore[no-untyped-def]
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        answer = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, **extra
        )
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if algorithm:
            part[f"Checksum{algorithm}"] = answer[f"Checksum{algorithm}"]
        done.append(part)
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )


@pytest.fixture(scope="module")
def parts() -> list[bytes]:
    return [os.urandom(5 * MiB), os.urandom(5 * MiB + 7), os.urandom(1000)]


def test_a_single_part_object(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="one", Body=b"hello", ChecksumAlgorithm="CRC32")
    got = s3.get_object_attributes(Bucket=bucket, Key="one", ObjectAttributes=EVERYTHING)
    head = s3.head_object(Bucket=bucket, Key="one")
    assert got["ETag"] == put["ETag"].strip('"')  # no quotes in the body
    assert got["LastModified"] == head["LastModified"]
    assert got["ObjectSize"] == 5
    assert got["StorageClass"] == "STANDARD"
    assert got["Checksum"] == {"ChecksumCRC32": crc32(b"hello"), "ChecksumType": "FULL_OBJECT"}
    assert "ObjectParts" not in got


def test_only_the_attributes_asked_for(gateway, s3, bucket):
    # A raw PUT with no flexible checksum (boto3 would add a CRC32).
    assert send("PUT", f"{gateway.url}/{bucket}/k", b"abc").status_code == 200
    got = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert got["ObjectSize"] == 3
    assert not {"ETag", "Checksum", "ObjectParts", "StorageClass"} & set(got)
    # Without a checksum of its own an object still carries its SHA-256 (the layer digest).
    checksum = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["Checksum"])
    sha256 = b64(hashlib.sha256(b"abc").digest())
    assert checksum["Checksum"] == {"ChecksumSHA256": sha256, "ChecksumType": "FULL_OBJECT"}


def test_multipart_with_composite_checksums_lists_its_parts_by_pages(s3, bucket, parts):
    done = multipart(s3, bucket, "mp", parts, "CRC32")
    got = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=EVERYTHING)
    assert got["ETag"] == done["ETag"].strip('"')
    assert got["ETag"].endswith("-3")
    assert got["ObjectSize"] == sum(map(len, parts))
    composite = done["ChecksumCRC32"]
    assert composite.endswith("-3")
    assert got["Checksum"] == {
        "ChecksumCRC32": composite.split("-")[0],
        "ChecksumType": "COMPOSITE",
    }
    listed = got["ObjectParts"]
    assert listed["TotalPartsCount"] == 3
    assert listed["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in listed["Parts"]] == [
        (n, len(body), crc32(body)) for n, body in enumerate(parts, 1)
    ]

    first = s3.get_object_attributes(
        Bucket=bucket, Key="mp", ObjectAttributes=["ObjectParts"], MaxParts=2
    )["ObjectParts"]
    assert (first["MaxParts"], first["IsTruncated"], first["NextPartNumberMarker"]) == (2, True, 2)
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    rest = s3.get_object_attributes(
        Bucket=bucket,
        Key="mp",
        ObjectAttributes=["ObjectParts"],
        MaxParts=2,
        PartNumberMarker=first["NextPartNumberMarker"],
    )["ObjectParts"]
    assert (rest["PartNumberMarker"], rest["IsTruncated"], rest["TotalPartsCount"]) == (2, False, 3)
    assert [(p["PartNumber"], p["Size"]) for p in rest["Parts"]] == [(3, 1000)]


def test_multipart_without_checksums_gives_the_parts_count_alone(s3, bucket, parts):
    multipart(s3, bucket, "plain-mp", parts[:2], None)
    got = s3.get_object_attributes(Bucket=bucket, Key="plain-mp", ObjectAttributes=EVERYTHING)
    assert got["ObjectParts"] == {"TotalPartsCount": 2}
    assert "Checksum" not in got
    assert got["ObjectSize"] == len(parts[0]) + len(parts[1])


def test_raw_answer(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="raw", Body=b"xyz")
    url = f"{gateway.url}/{bucket}/raw?attributes"
    answer = send("GET", url, headers={"x-amz-object-attributes": "ETag,ObjectSize"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/xml"
    assert answer.headers["last-modified"].endswith(" GMT")
    md5 = hashlib.md5(b"xyz", usedforsecurity=False).hexdigest()
    assert f"<ETag>{md5}</ETag>" in answer.text
    assert "<ObjectSize>3</ObjectSize>" in answer.text
    assert "<GetObjectAttributesResponse" in answer.text


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 400, "InvalidRequest"),
        ({"x-amz-object-attributes": ""}, 400, "InvalidRequest"),
        ({"x-amz-object-attributes": "ETag,Colour"}, 400, "InvalidArgument"),
        ({"x-amz-object-attributes": "etag"}, 400, "InvalidArgument"),
        ({"x-amz-object-attributes": "ETag", "x-amz-max-parts": "-1"}, 400, "InvalidArgument"),
        ({"x-amz-object-attributes": "ETag", "x-amz-part-number-marker": "x"}, 400, BAD_ARG),
    ],
    ids=["no-header", "empty", "unknown", "wrong-case", "negative-max-parts", "bad-marker"],
)
def test_refused_requests(gateway, s3, bucket, headers, status, code):
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    answer = send("GET", f"{gateway.url}/{bucket}/k?attributes", headers=headers)
    assert answer.status_code == status
    assert f"<Code>{code}</Code>" in answer.text


def test_missing_key_and_bucket(s3, bucket):
    with pytest.raises(ClientError) as missing:
        s3.get_object_attributes(Bucket=bucket, Key="nope", ObjectAttributes=["ETag"])
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as no_bucket:
        s3.get_object_attributes(Bucket="no-such-bucket-x", Key="k", ObjectAttributes=["ETag"])
    assert no_bucket.value.response["Error"]["Code"] == "NoSuchBucket"
    assert no_bucket.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_needs_get_object_and_get_object_attributes(gateway, s3, bucket):
    """AWS: "you need the s3:GetObject and s3:GetObjectAttributes permissions"."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    url = f"{gateway.url}/{bucket}/k?attributes"
    headers = {"x-amz-object-attributes": "ObjectSize"}

    def allow(*actions: str) -> None:
        statement = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": list(actions),
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
        policy = {"Version": "2012-10-17", "Statement": [statement]}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    allow("s3:GetObject")
    refused = httpx.get(url, headers=headers)
    assert (refused.status_code, "<Code>AccessDenied</Code>" in refused.text) == (403, True)
    allow("s3:GetObjectAttributes")
    refused = httpx.get(url, headers=headers)
    assert (refused.status_code, "<Code>AccessDenied</Code>" in refused.text) == (403, True)
    allow("s3:GetObject", "s3:GetObjectAttributes")
    assert httpx.get(url, headers=headers).status_code == 200
    s3.delete_bucket_policy(Bucket=bucket)


def test_aws_cli(aws_env, s3, bucket, parts):
    multipart(s3, bucket, "cli", parts[:2], "SHA256")
    out = json.loads(
        aws(
            aws_env,
            "s3api",
            "get-object-attributes",
            "--bucket",
            bucket,
            "--key",
            "cli",
            "--object-attributes",
            "ObjectParts",
            "Checksum",
            "ObjectSize",
        )
    )
    assert out["ObjectSize"] == len(parts[0]) + len(parts[1])
    assert out["Checksum"]["ChecksumType"] == "COMPOSITE"
    assert [p["ChecksumSHA256"] for p in out["ObjectParts"]["Parts"]] == [
        b64(hashlib.sha256(body).digest()) for body in parts[:2]
    ]


def test_part_checksums_survive_reindex(
    registry: RunningRegistry, tmp_path, monkeypatch, parts
) -> None:
    for name, value in registry.env().items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rxattr")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="attrs")
        multipart(client, "attrs", "mp", parts, "CRC32C")
        before = client.get_object_attributes(Bucket="attrs", Key="mp", ObjectAttributes=EVERYTHING)
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rxattr")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    with serve(settings) as running:
        client = s3_client(running.url)
        after = client.get_object_attributes(Bucket="attrs", Key="mp", ObjectAttributes=EVERYTHING)
    del before["ResponseMetadata"], after["ResponseMetadata"]
    assert after == before
    assert len(after["ObjectParts"]["Parts"]) == 3
    assert all("ChecksumCRC32C" in part for part in after["ObjectParts"]["Parts"])
