"""aws-chunked uploads in all three streaming modes and flexible checksums, end to end.

Chunk signatures are computed here from the AWS spec (independently of the gateway's code);
the seed signature comes from botocore.
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import zlib

import httpx
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY

EMPTY = hashlib.sha256(b"").hexdigest()
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


class _Streaming(S3SigV4Auth):
    def __init__(self, mode: str) -> None:
        super().__init__(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1")
        self.mode = mode

    def payload(self, request: AWSRequest) -> str:
        return self.mode


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def streaming_put(
    url: str,
    data: bytes,
    mode: str,
    *,
    chunk: int = 65536,
    trailer: str | None = None,
    tamper: str | None = None,
    upper_hex: bool = False,
) -> httpx.Response:
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
    }
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    request = AWSRequest(method="PUT", url=url, headers=headers)
    _Streaming(mode).add_auth(request)
    signed = dict(request.headers.items())
    amz_date = signed["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    previous = signed["Authorization"].rsplit("Signature=", 1)[1]
    key = _hmac(
        _hmac(_hmac(_hmac(("AWS4" + SECRET_KEY).encode(), amz_date[:8]), "us-east-1"), "s3"),
        "aws4_request",
    )
    body = bytearray()
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for index, piece in enumerate(pieces):
        size = format(len(piece), "X" if upper_hex else "x")
        if mode == UNSIGNED_TRAILER:
            body += f"{size}\r\n".encode()
        else:
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-PAYLOAD",
                    amz_date,
                    scope,
                    previous,
                    EMPTY,
                    hashlib.sha256(piece).hexdigest(),
                ]
            )
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            signature = previous
            if tamper == "signature" and index == 1:
                signature = "0" * 64
            body += f"{size};chunk-signature={signature}\r\n".encode()
        if tamper == "data" and index == 1:
            piece = b"X" + piece[1:]
        body += piece + (b"\r\n" if piece else b"")
    if trailer:
        line = f"x-amz-checksum-crc32:{trailer}\n"
        body += line.replace("\n", "\r\n").encode()
        if mode == SIGNED_TRAILER:
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    amz_date,
                    scope,
                    previous,
                    hashlib.sha256(line.encode()).hexdigest(),
                ]
            )
            trailer_signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            body += f"x-amz-trailer-signature:{trailer_signature}\r\n".encode()
    body += b"\r\n"
    signed["Content-Length"] = str(len(body))
    return httpx.put(url, content=bytes(body), headers=signed, timeout=60)


DATA = bytes(range(256)) * 1000  # 256000 bytes: four chunks of 64 KiB


@pytest.mark.parametrize("upper_hex", [False, True])
def test_signed_chunks(gateway, s3, bucket, upper_hex):
    response = streaming_put(f"{gateway.url}/{bucket}/signed", DATA, SIGNED, upper_hex=upper_hex)
    assert response.status_code == 200, response.text
    got = s3.get_object(Bucket=bucket, Key="signed")
    assert got["Body"].read() == DATA
    assert "ContentEncoding" not in got


@pytest.mark.parametrize("tamper", ["signature", "data"])
def test_one_bad_chunk_commits_nothing(gateway, s3, bucket, tamper):
    s3.put_object(Bucket=bucket, Key="k", Body=b"previous")
    response = streaming_put(f"{gateway.url}/{bucket}/k", DATA, SIGNED, tamper=tamper)
    assert response.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"previous"


@pytest.mark.parametrize("mode", [SIGNED_TRAILER, UNSIGNED_TRAILER])
def test_trailing_checksum(gateway, s3, bucket, mode):
    response = streaming_put(f"{gateway.url}/{bucket}/t", DATA, mode, trailer=_crc32(DATA))
    assert response.status_code == 200, response.text
    assert response.headers["x-amz-checksum-crc32"] == _crc32(DATA)
    head = s3.head_object(Bucket=bucket, Key="t", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == _crc32(DATA)


@pytest.mark.parametrize("mode", [SIGNED_TRAILER, UNSIGNED_TRAILER])
def test_wrong_trailing_checksum_commits_nothing(gateway, s3, bucket, mode):
    response = streaming_put(f"{gateway.url}/{bucket}/t", DATA, mode, trailer=_crc32(b"other"))
    assert response.status_code == 400
    assert b"<Code>BadDigest</Code>" in response.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_decoded_length_mismatch(gateway, s3, bucket):
    headers = {"x-amz-decoded-content-length": "10"}
    request = AWSRequest(method="PUT", url=f"{gateway.url}/{bucket}/d", headers=headers)
    _Streaming(UNSIGNED_TRAILER).add_auth(request)
    body = b"5\r\nhello\r\n0\r\n\r\n"
    response = httpx.put(
        f"{gateway.url}/{bucket}/d",
        content=body,
        headers={**dict(request.headers.items()), "Content-Length": str(len(body))},
    )
    assert response.status_code == 400
    assert b"<Code>IncompleteBody</Code>" in response.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksum_algorithms_over_http_and_https(s3, s3_tls, bucket, algorithm):
    body = b"checksummed " * 5000
    for client, key in ((s3, "plain"), (s3_tls, "tls")):
        put = client.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm=algorithm)
        assert put[f"Checksum{algorithm}"]
        got = client.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert got["Body"].read() == body  # botocore validates the checksum while reading
        assert got[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]
        others = {f"Checksum{name}" for name in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")}
        assert not (others - {f"Checksum{algorithm}"}) & set(got)
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"] for o in listed} == {"plain", "tls"}
    assert [o["ChecksumAlgorithm"] for o in listed] == [[algorithm], [algorithm]]


def test_wrong_checksum_header_commits_nothing(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumCRC32=_crc32(b"not data"))
    assert exc.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ChecksumSHA256="bm90IGJhc2U2NA")
    assert exc.value.response["Error"]["Code"] == "InvalidRequest"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_no_checksum_header_without_checksum_mode(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ChecksumAlgorithm="CRC32")
    head = s3.head_object(Bucket=bucket, Key="k")
    assert "ChecksumCRC32" not in head
    ranged = s3.get_object(Bucket=bucket, Key="k", Range="bytes=0-0", ChecksumMode="ENABLED")
    assert "ChecksumCRC32" not in ranged


# -- a malformed checksum (InvalidRequest) is not a mismatching one (BadDigest) --------------

DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def _values(algorithm: str) -> list[object]:
    """(value, code): malformed base64, valid base64 of the wrong length, a wrong digest."""
    size = DIGEST_SIZES[algorithm]
    return [
        pytest.param(algorithm, "%%not base64%%", "InvalidRequest", id=f"{algorithm}-malformed"),
        pytest.param(
            algorithm,
            base64.b64encode(b"\1" * (size - 1)).decode(),
            "InvalidRequest",
            id=f"{algorithm}-short",
        ),
        pytest.param(
            algorithm,
            base64.b64encode(b"\1" * (size + 1)).decode(),
            "InvalidRequest",
            id=f"{algorithm}-long",
        ),
        pytest.param(
            algorithm, base64.b64encode(b"\1" * size).decode(), "BadDigest", id=f"{algorithm}-wrong"
        ),
    ]


ALL_VALUES = [case for algorithm in DIGEST_SIZES for case in _values(algorithm)]


@pytest.mark.parametrize(("algorithm", "value", "code"), ALL_VALUES)
def test_checksum_header_malformed_or_wrong(s3, bucket, algorithm, value, code):
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"data", **{f"Checksum{algorithm}": value})
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload,
            PartNumber=1,
            Body=b"data",
            **{f"Checksum{algorithm}": value},
        )
    assert exc.value.response["Error"]["Code"] == code
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=upload).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("mode", [SIGNED_TRAILER, UNSIGNED_TRAILER], ids=["signed", "unsigned"])
@pytest.mark.parametrize(("algorithm", "value", "code"), _values("CRC32"))
def test_checksum_trailer_malformed_or_wrong(gateway, s3, bucket, mode, algorithm, value, code):
    response = streaming_put(f"{gateway.url}/{bucket}/t", DATA, mode, trailer=value)
    assert response.status_code == 400
    assert f"<Code>{code}</Code>".encode() in response.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
