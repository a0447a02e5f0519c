"""Multipart checksums as botocore's transfer helpers send them, for every algorithm:
composite (``ChecksumAlgorithm``) and full-object (a whole-file ``Checksum<ALG>``), a part
sent again with a new checksum, and the checks CompleteMultipartUpload takes.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
"""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from awscrt import checksums as crt
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

MiB = 1 << 20
PART = 5 * MiB
CONFIG = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=2)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def digest(algorithm: str, data: bytes) -> bytes:
    """The checksum as S3 carries it (big-endian), computed here independently."""
    if algorithm == "CRC32":
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == "CRC32C":
        return int(crt.crc32c(data)).to_bytes(4, "big")
    if algorithm == "CRC64NVME":
        return int(crt.crc64nvme(data)).to_bytes(8, "big")
    return hashlib.new(algorithm.lower(), data).digest()


def composite(algorithm: str, parts: list[bytes]) -> str:
    joined = b"".join(digest(algorithm, part) for part in parts)
    return f"{b64(digest(algorithm, joined))}-{len(parts)}"


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[bytes]]:
    parts = [os.urandom(PART), os.urandom(PART), os.urandom(1234)]
    path = tmp_path_factory.mktemp("checksums") / "payload.bin"
    path.write_bytes(b"".join(parts))
    return str(path), parts


def checksum_of(s3, bucket: str, key: str, algorithm: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return head[f"Checksum{algorithm}"], head["ChecksumType"]


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_upload_file_composite(s3, bucket, payload, algorithm):
    path, parts = payload
    s3.upload_file(path, bucket, "k", ExtraArgs={"ChecksumAlgorithm": algorithm}, Config=CONFIG)
    assert checksum_of(s3, bucket, "k", algorithm) == (composite(algorithm, parts), "COMPOSITE")
    assert s3.head_object(Bucket=bucket, Key="k")["ETag"].endswith('-3"')


def test_upload_file_crc64nvme_is_full_object(s3, bucket, payload):
    """S3 has no composite CRC64NVME: asking for the algorithm alone gets a full-object one."""
    path, parts = payload
    s3.upload_file(path, bucket, "k", ExtraArgs={"ChecksumAlgorithm": "CRC64NVME"}, Config=CONFIG)
    whole = b64(digest("CRC64NVME", b"".join(parts)))
    assert checksum_of(s3, bucket, "k", "CRC64NVME") == (whole, "FULL_OBJECT")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_upload_file_full_object(s3, bucket, payload, algorithm):
    """s3transfer turns a whole-file checksum into ChecksumType FULL_OBJECT, part checksums,
    and the value (with x-amz-mp-object-size) on CompleteMultipartUpload, which is checked."""
    path, parts = payload
    whole = b64(digest(algorithm, b"".join(parts)))
    s3.upload_file(path, bucket, "k", ExtraArgs={f"Checksum{algorithm}": whole}, Config=CONFIG)
    assert checksum_of(s3, bucket, "k", algorithm) == (whole, "FULL_OBJECT")
    wrong = b64(digest(algorithm, b"something else"))
    with pytest.raises(S3UploadFailedError, match="BadDigest"):
        s3.upload_file(
            path, bucket, "bad", ExtraArgs={f"Checksum{algorithm}": wrong}, Config=CONFIG
        )
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_upload_file_full_object_sha_is_refused(s3, bucket, payload, algorithm):
    path, parts = payload
    whole = b64(digest(algorithm, b"".join(parts)))
    with pytest.raises(S3UploadFailedError, match="InvalidRequest"):
        s3.upload_file(path, bucket, "k", ExtraArgs={f"Checksum{algorithm}": whole}, Config=CONFIG)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_a_part_sent_again_with_a_new_checksum_counts(s3, bucket, algorithm):
    first, second = b"first version of the part", b"second version"
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm=algorithm)
    upload_id = upload["UploadId"]
    sent = [
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=body,
            ChecksumAlgorithm=algorithm,
        )
        for body in (first, second)
    ]
    assert [r[f"Checksum{algorithm}"] for r in sent] == [
        b64(digest(algorithm, first)),
        b64(digest(algorithm, second)),
    ]
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [p[f"Checksum{algorithm}"] for p in listed] == [sent[1][f"Checksum{algorithm}"]]
    stale = {
        "PartNumber": 1,
        "ETag": sent[1]["ETag"],
        f"Checksum{algorithm}": sent[0][f"Checksum{algorithm}"],
    }
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": [stale]}
        )
    assert error_code(excinfo) == "InvalidPart"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    fresh = dict(stale, **{f"Checksum{algorithm}": sent[1][f"Checksum{algorithm}"]})
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": [fresh]}
    )
    assert done[f"Checksum{algorithm}"] == composite(algorithm, [second])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == second


def test_complete_checks_the_checksum_type_and_the_object_size(s3, bucket):
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    body = b"the only part"
    part = s3.upload_part(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=body,
        ChecksumAlgorithm="CRC32",
    )
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    for wrong in ({"ChecksumType": "COMPOSITE"}, {"MpuObjectSize": len(body) + 1}):
        with pytest.raises(ClientError) as excinfo:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload=parts, **wrong
            )
        assert error_code(excinfo) == "InvalidRequest", wrong
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload=parts,
        ChecksumType="FULL_OBJECT",
        MpuObjectSize=len(body),
    )
    assert done["ChecksumCRC32"] == b64(digest("CRC32", body))


@pytest.mark.parametrize(
    ("value", "code"),
    [
        pytest.param("not base64!", "InvalidRequest", id="malformed"),
        pytest.param(b64(b"\0\0\0"), "InvalidRequest", id="wrong-length"),
        pytest.param(b64(digest("CRC32", b"other")), "BadDigest", id="wrong-value"),
    ],
)
def test_a_full_object_checksum_on_complete_malformed_or_wrong(s3, bucket, value, code):
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    part = s3.upload_part(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"x",
        ChecksumAlgorithm="CRC32",
    )
    with pytest.raises(ClientError) as excinfo:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
            ChecksumCRC32=value,
        )
    assert error_code(excinfo) == code
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
