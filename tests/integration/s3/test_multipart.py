"""Multipart uploads through boto3 against the real registry: the whole S3 surface."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.conftest import s3_client

MiB = 1 << 20
PART = 5 * MiB


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def multipart_etag(parts: list[bytes]) -> str:
    md5s = b"".join(hashlib.md5(p, usedforsecurity=False).digest() for p in parts)
    return f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def upload(s3, bucket: str, key: str, parts: list[bytes], **create: object) -> dict:  # type: ignore[no-untyped-def]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        response = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        done.append({"PartNumber": number, "ETag": response["ETag"]})
    return {"UploadId": upload_id, "MultipartUpload": {"Parts": done}}


@pytest.fixture(scope="module")
def three_parts() -> list[bytes]:
    return [os.urandom(PART), os.urandom(PART + 123), os.urandom(1000)]


def test_parts_in_parallel_and_any_order_make_one_object(s3, bucket, three_parts):
    key = "dir/model.bin"
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType="application/x-model", Metadata={"stage": "rc"}
    )["UploadId"]

    def send(number: int) -> dict:
        response = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=three_parts[number - 1],
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(send, [3, 1, 2]))
    done.sort(key=lambda part: part["PartNumber"])
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in three_parts]
    assert [p["ETag"] for p in listed["Parts"]] == [p["ETag"] for p in done]

    # Not visible before Complete.
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key=key)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    result = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    expected = b"".join(three_parts)
    assert result["ETag"] == multipart_etag(three_parts)
    assert result["Key"] == key
    assert result["Bucket"] == bucket
    assert result["Location"].endswith(f"/{bucket}/dir/model.bin")

    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == expected
    assert got["ETag"] == result["ETag"]
    assert got["ContentType"] == "application/x-model"
    assert got["Metadata"] == {"stage": "rc"}
    assert "PartsCount" not in got  # only with PartNumber, as S3

    # Ranges across part boundaries.
    for first, last in [(PART - 10, PART + 10), (0, len(expected) - 1), (2 * PART, 2 * PART + 200)]:
        ranged = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
        assert ranged["Body"].read() == expected[first : last + 1]
        assert ranged["ContentRange"] == f"bytes {first}-{last}/{len(expected)}"

    # partNumber: a ranged GET of one part, with the parts count.
    second = s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
    assert second["Body"].read() == three_parts[1]
    assert second["PartsCount"] == 3
    assert second["ContentRange"] == f"bytes {PART}-{2 * PART + 122}/{len(expected)}"
    head = s3.head_object(Bucket=bucket, Key=key, PartNumber=3)
    assert head["ContentLength"] == 1000
    assert head["PartsCount"] == 3
    with pytest.raises(ClientError) as beyond:
        s3.get_object(Bucket=bucket, Key=key, PartNumber=4)
    assert error_code(beyond) == "InvalidPartNumber"

    # The upload is gone: no parts to list, nothing in ListMultipartUploads.
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert error_code(gone) == "NoSuchUpload"
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)

    # Completing again answers the same (S3 is idempotent here).
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert again["ETag"] == result["ETag"]


def test_part_number_one_of_a_plain_object_is_the_whole_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="plain", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert got["Body"].read() == b"0123456789"
    assert "PartsCount" not in got
    with pytest.raises(ClientError) as both:
        s3.get_object(Bucket=bucket, Key="plain", PartNumber=1, Range="bytes=0-1")
    assert error_code(both) == "InvalidRequest"


def test_a_part_uploaded_twice_keeps_the_last(s3, bucket):
    key = "again"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"first")
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"second")[
        "ETag"
    ]
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, etag, 6)]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"second"


def test_completing_with_a_subset_of_parts(s3, bucket, three_parts):
    request = upload(s3, bucket, "subset", three_parts)
    chosen = [request["MultipartUpload"]["Parts"][i] for i in (0, 2)]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="subset", UploadId=request["UploadId"], MultipartUpload={"Parts": chosen}
    )
    body = s3.get_object(Bucket=bucket, Key="subset")["Body"].read()
    assert body == three_parts[0] + three_parts[2]


def test_complete_errors(s3, bucket, three_parts):
    key = "errors"
    request = upload(s3, bucket, key, [three_parts[2], three_parts[0], three_parts[2]])
    upload_id = request["UploadId"]
    parts = request["MultipartUpload"]["Parts"]

    def complete(chosen: list[dict]) -> str:
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": chosen}
            )
        return error_code(excinfo)

    assert complete([parts[1], parts[0]]) == "InvalidPartOrder"
    assert complete([{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]) == "InvalidPart"
    assert complete([{"PartNumber": 7, "ETag": parts[0]["ETag"]}]) == "InvalidPart"
    # Part 1 is 1000 bytes and not the last: too small.
    assert complete([parts[0], parts[1]]) == "EntityTooSmall"
    # Nothing was committed by any of these.
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key=key)
    # The upload is still live and can complete properly.
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts[1:]}
    )
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == three_parts[0] + three_parts[2]


@pytest.mark.parametrize("number", [0, 10001])
def test_part_numbers_out_of_range(s3, bucket, number):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="n")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="n", UploadId=upload_id, PartNumber=number, Body=b"x")
    assert error_code(excinfo) == "InvalidArgument"


def test_unknown_and_aborted_uploads(s3, bucket):
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(Bucket=bucket, Key="k", UploadId="nope", PartNumber=1, Body=b"x")
    assert error_code(excinfo) == "NoSuchUpload"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")[
        "ETag"
    ]
    with pytest.raises(ClientError) as wrong_key:
        s3.list_parts(Bucket=bucket, Key="other", UploadId=upload_id)
    assert error_code(wrong_key) == "NoSuchUpload"
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
    for call in (
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id),
        lambda: s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        ),
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=2, Body=b"y"),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "NoSuchUpload"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_complete_without_parts_is_malformed(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="empty")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="empty", UploadId=upload_id, MultipartUpload={"Parts": []}
        )
    assert error_code(excinfo) == "MalformedXML"


def test_list_parts_pages_with_the_part_number_marker(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="many")["UploadId"]
    for number in range(1, 8):
        s3.upload_part(
            Bucket=bucket, Key="many", UploadId=upload_id, PartNumber=number, Body=b"p" * number
        )
    seen, marker = [], 0
    while True:
        page = s3.list_parts(
            Bucket=bucket, Key="many", UploadId=upload_id, MaxParts=3, PartNumberMarker=marker
        )
        seen += [p["PartNumber"] for p in page["Parts"]]
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
        assert len(page["Parts"]) == 3
    assert seen == list(range(1, 8))
    paginator = s3.get_paginator("list_parts")
    listed = [
        p["Size"]
        for page in paginator.paginate(
            Bucket=bucket, Key="many", UploadId=upload_id, PaginationConfig={"PageSize": 2}
        )
        for p in page["Parts"]
    ]
    assert listed == list(range(1, 8))


def test_list_multipart_uploads_with_prefix_delimiter_and_markers(s3, bucket):
    keys = ["a/1", "a/2", "b", "b", "c/d/e", "c/x", "d"]
    ids = [s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in keys]
    everything = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["Key"] for u in everything["Uploads"]] == keys
    assert [u["UploadId"] for u in everything["Uploads"]][2:4] == ids[2:4]  # by start time
    assert everything["Uploads"][0]["StorageClass"] == "STANDARD"

    rolled = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in rolled["Uploads"]] == ["b", "b", "d"]
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/", "c/"]

    inside = s3.list_multipart_uploads(Bucket=bucket, Prefix="c/", Delimiter="/")
    assert [u["Key"] for u in inside["Uploads"]] == ["c/x"]
    assert [p["Prefix"] for p in inside["CommonPrefixes"]] == ["c/d/"]

    # Paging one at a time visits every upload (and every common prefix) exactly once.
    for delimiter in ("", "/"):
        seen: list[str] = []
        markers: dict[str, str] = {}
        while True:
            page = s3.list_multipart_uploads(
                Bucket=bucket, MaxUploads=1, Delimiter=delimiter, **markers
            )
            seen += [u["UploadId"] for u in page.get("Uploads", [])]
            seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            if not page["IsTruncated"]:
                break
            markers = {
                "KeyMarker": page["NextKeyMarker"],
                "UploadIdMarker": page["NextUploadIdMarker"],
            }
        expected = ids if not delimiter else ["a/", ids[2], ids[3], "c/", ids[6]]
        assert seen == expected
    for upload_id, key in zip(ids, keys, strict=True):
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_composite_crc32_checksum(s3, bucket, three_parts):
    key = "crc32"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    done = []
    for number, body in enumerate(three_parts, 1):
        response = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="CRC32",
        )
        crc = b64(zlib.crc32(body).to_bytes(4, "big"))
        assert response["ChecksumCRC32"] == crc
        done.append({"PartNumber": number, "ETag": response["ETag"], "ChecksumCRC32": crc})
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert listed["ChecksumAlgorithm"] == "CRC32"
    assert [p["ChecksumCRC32"] for p in listed["Parts"]] == [p["ChecksumCRC32"] for p in done]

    bad = [dict(done[0], ChecksumCRC32=b64(b"\0\0\0\0")), *done[1:]]
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": bad}
        )
    assert error_code(excinfo) == "InvalidPart"

    result = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    raw = b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in done)
    composite = f"{b64(zlib.crc32(raw).to_bytes(4, 'big'))}-3"
    assert result["ChecksumCRC32"] == composite
    assert result["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == composite
    assert head["ChecksumType"] == "COMPOSITE"
    body = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")["Body"].read()
    assert body == b"".join(three_parts)


def test_full_object_crc64nvme_checksum(s3, bucket, three_parts):
    key = "crc64"
    whole = b"".join(three_parts)
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm="CRC64NVME", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    done = []
    for number, body in enumerate(three_parts, 1):
        response = s3.upload_part(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="CRC64NVME",
        )
        done.append({"PartNumber": number, "ETag": response["ETag"]})
    expected = b64(crt.crc64nvme(whole, 0).to_bytes(8, "big"))
    wrong = b64(crt.crc64nvme(b"other", 0).to_bytes(8, "big"))
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": done},
            ChecksumCRC64NVME=wrong,
            ChecksumType="FULL_OBJECT",
        )
    assert error_code(excinfo) == "BadDigest"
    result = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": done},
        ChecksumCRC64NVME=expected,
        ChecksumType="FULL_OBJECT",
    )
    assert result["ChecksumCRC64NVME"] == expected
    assert result["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == expected
    assert head["ChecksumType"] == "FULL_OBJECT"


@pytest.mark.parametrize(
    ("algorithm", "kind"), [("SHA256", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE")]
)
def test_checksum_types_s3_refuses(s3, bucket, algorithm, kind):
    with pytest.raises(ClientError) as excinfo:
        s3.create_multipart_upload(
            Bucket=bucket, Key="k", ChecksumAlgorithm=algorithm, ChecksumType=kind
        )
    assert error_code(excinfo) == "InvalidRequest"


def test_a_part_checksum_of_another_algorithm_is_refused(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ChecksumAlgorithm="SHA1",
        )
    assert error_code(excinfo) == "InvalidRequest"


def test_upload_part_copy_with_ranges(s3, bucket, three_parts):
    source = b"".join(three_parts)
    s3.put_object(Bucket=bucket, Key="source", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="copied")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="copied",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"},
        CopySourceRange=f"bytes=100-{100 + PART - 1}",
    )["CopyPartResult"]
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="copied",
        UploadId=upload_id,
        PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "source"},
    )["CopyPartResult"]
    assert first["ETag"].strip('"') == hashlib.md5(source[100 : 100 + PART]).hexdigest()
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="copied",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": first["ETag"]},
                {"PartNumber": 2, "ETag": second["ETag"]},
            ]
        },
    )
    body = s3.get_object(Bucket=bucket, Key="copied")["Body"].read()
    assert body == source[100 : 100 + PART] + source
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="copied",
            UploadId="gone",
            PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "source"},
        )
    assert error_code(excinfo) == "NoSuchUpload"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="copied2")["UploadId"]
    with pytest.raises(ClientError) as excinfo:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="copied2",
            UploadId=upload_id,
            PartNumber=1,
            CopySource={"Bucket": bucket, "Key": "source"},
            CopySourceRange=f"bytes={len(source)}-{len(source) + 5}",
        )
    assert error_code(excinfo) == "InvalidRange"


def test_transfer_manager_with_8_threads(s3, bucket, tmp_path):
    data = os.urandom(41 * MiB + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    config = TransferConfig(
        multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB, max_concurrency=8
    )
    s3.upload_file(str(source), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-9"')
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target), Config=config)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_delete_bucket_with_a_live_upload(s3, bucket):
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"x")
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert error_code(excinfo) == "NoSuchBucket"
    s3.create_bucket(Bucket=bucket)  # the fixture deletes it again
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert error_code(excinfo) == "NoSuchUpload"


def test_identical_parts_at_once(gateway, bucket):
    """The same bytes in 300 parts, 8 at a time: each pushes the same blob into the same
    repository at once, and distribution answers some of the requests that read that blob's
    link while another rewrites it with 500 or DIGEST_INVALID (a zero-filled disk image does
    this). The client sees none of it: this boto3 client does not retry."""
    s3 = s3_client(gateway.url, retries={"total_max_attempts": 1})
    body = bytes(32 << 10)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="zeros.img")["UploadId"]

    def send(number: int) -> str:
        return str(
            s3.upload_part(
                Bucket=bucket, Key="zeros.img", UploadId=upload_id, PartNumber=number, Body=body
            )["ETag"]
        )

    with ThreadPoolExecutor(8) as pool:
        etags = set(pool.map(send, range(1, 301)))
    assert etags == {f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'}
    listed = [
        part["PartNumber"]
        for page in s3.get_paginator("list_parts").paginate(
            Bucket=bucket, Key="zeros.img", UploadId=upload_id
        )
        for part in page.get("Parts", [])
    ]
    assert listed == list(range(1, 301))
    s3.abort_multipart_upload(Bucket=bucket, Key="zeros.img", UploadId=upload_id)


def test_complete_conditions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"existing")
    done = upload(s3, bucket, "k", [b"new"])
    for conditions, condition in (
        ({"IfNoneMatch": "*"}, "If-None-Match"),
        ({"IfMatch": '"0000"'}, "If-Match"),
    ):
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(Bucket=bucket, Key="k", **done, **conditions)
        assert error_code(excinfo) == "PreconditionFailed"
        assert excinfo.value.response["Error"]["Condition"] == condition
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", **done, IfNoneMatch='"abc"')
    assert error_code(excinfo) == "NotImplemented"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"existing"
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="k", **done, IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"
