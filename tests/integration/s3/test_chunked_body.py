"""Bodies in plain HTTP chunked framing (no Content-Length, not aws-chunked): curl -T -, SDK
streams of unknown length. The gateway takes them and streams them (as MinIO does), holding
them to the largest object or part while they arrive; whatever fails commits nothing."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import pytest
from botocore.exceptions import ClientError

from gateway.domain import multipart
from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings, s3_client
from tests.fixtures.servers import serve
from tests.fixtures.signing import sign

MiB = 1024 * 1024
SIZES = [0, 1, 8 * MiB + 3]


def _data(size: int) -> bytes:
    return (os.urandom(4096) * (size // 4096 + 1))[:size]


def _pieces(data: bytes, piece: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


def _chunked_put(
    url: str,
    data: bytes,
    headers: dict[str, str] | None = None,
    *,
    signed_as: bytes | None = None,
) -> httpx.Response:
    """PUT ``data`` with HTTP chunked framing; UNSIGNED-PAYLOAD unless ``signed_as`` gives
    the body whose SHA-256 goes into the signature."""
    signed = sign(
        "PUT", url, signed_as or b"", dict(headers or {}), unsigned_payload=signed_as is None
    )
    signed.pop("Content-Length", None)
    response = httpx.put(url, content=_pieces(data), headers=signed, timeout=60)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.request.headers
    return response


def _error(response: httpx.Response) -> ElementTree.Element:
    return ElementTree.fromstring(response.content)


def _stored_sha256(s3, bucket: str, key: str) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    got = s3.get_object(Bucket=bucket, Key=key)
    return hashlib.sha256(got["Body"].read()).hexdigest(), got["ContentLength"]


def _absent(s3, bucket: str, key: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key=key)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("size", SIZES, ids=["empty", "one-byte", "8MiB+3"])
def test_put_object_with_chunked_body_is_streamed(gateway, s3, bucket, size):
    data = _data(size)
    response = _chunked_put(f"{gateway.url}/{bucket}/k", data)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert _stored_sha256(s3, bucket, "k") == (hashlib.sha256(data).hexdigest(), size)
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(item["Key"], item["Size"]) for item in listed] == [("k", size)]


def test_chunked_body_with_signed_payload_hash(gateway, s3, bucket):
    """A signed x-amz-content-sha256 still holds: the registry proves it at the blob's end."""
    data = _data(3 * MiB + 5)
    url = f"{gateway.url}/{bucket}/signed"
    ok = _chunked_put(url, data, signed_as=data)
    assert ok.status_code == 200, ok.text
    assert _stored_sha256(s3, bucket, "signed") == (hashlib.sha256(data).hexdigest(), len(data))

    wrong = _chunked_put(f"{gateway.url}/{bucket}/wrong", data + b"!", signed_as=data)
    assert wrong.status_code == 400
    assert _error(wrong).findtext("Code") == "XAmzContentSHA256Mismatch"
    _absent(s3, bucket, "wrong")


def test_chunked_body_checks_content_md5(gateway, s3, bucket):
    data = _data(MiB + 7)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    ok = _chunked_put(f"{gateway.url}/{bucket}/md5", data, {"Content-MD5": md5})
    assert ok.status_code == 200, ok.text

    bad = _chunked_put(f"{gateway.url}/{bucket}/bad-md5", data + b"x", {"Content-MD5": md5})
    assert bad.status_code == 400
    assert _error(bad).findtext("Code") == "BadDigest"
    _absent(s3, bucket, "bad-md5")


def test_chunked_body_checks_a_flexible_checksum(gateway, s3, bucket):
    data = _data(2 * MiB + 1)
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    ok = _chunked_put(f"{gateway.url}/{bucket}/crc", data, {"x-amz-checksum-crc32": crc})
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-amz-checksum-crc32"] == crc
    head = s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc

    bad = _chunked_put(f"{gateway.url}/{bucket}/bad-crc", data[1:], {"x-amz-checksum-crc32": crc})
    assert bad.status_code == 400
    assert _error(bad).findtext("Code") == "BadDigest"
    _absent(s3, bucket, "bad-crc")


@pytest.fixture(scope="module")
def small_gateway(registry, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A gateway of its own (its own index) whose largest object is 1 MiB."""
    settings = gateway_settings(
        registry, tmp_path_factory.mktemp("small-gateway"), max_object_size=MiB
    )
    with serve(settings) as running:
        yield running


def test_chunked_body_over_the_largest_object_is_entity_too_large(small_gateway):
    """The limit holds while the body streams: at MaxSizeAllowed + 1 bytes the gateway stops
    and answers 400 EntityTooLarge; nothing is committed. Exactly the limit is fine."""
    s3 = s3_client(small_gateway.url)
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    exact = _data(MiB)
    ok = _chunked_put(f"{small_gateway.url}/{bucket}/exact", exact)
    assert ok.status_code == 200, ok.text
    assert _stored_sha256(s3, bucket, "exact") == (hashlib.sha256(exact).hexdigest(), MiB)

    for size in (MiB + 1, 8 * MiB + 3):  # one byte over, and far over
        over = _chunked_put(f"{small_gateway.url}/{bucket}/over", _data(size))
        assert over.status_code == 400
        error = _error(over)
        assert error.findtext("Code") == "EntityTooLarge"
        assert error.findtext("Message") == "Your proposed upload exceeds the maximum allowed size"
        assert error.findtext("MaxSizeAllowed") == str(MiB)
        assert error.findtext("ProposedSize") is None  # unknown: the body was not read to its end
        _absent(s3, bucket, "over")
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(item["Key"], item["Size"]) for item in listed] == [("exact", MiB)]


def test_client_hanging_up_mid_chunked_body_commits_nothing(gateway, s3, bucket):
    url = f"{gateway.url}/{bucket}/cut"
    parts = urlsplit(url)
    headers = sign("PUT", url, b"", {"Transfer-Encoding": "chunked"}, unsigned_payload=True)
    headers.pop("Content-Length", None)
    lines = [f"PUT {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    piece = b"c" * 65536
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for _ in range(4):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.shutdown(socket.SHUT_WR)  # no last chunk: the body never ends
        while sock.recv(65536):
            pass
    _absent(s3, bucket, "cut")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("size", SIZES, ids=["empty", "one-byte", "8MiB+3"])
def test_curl_upload_from_stdin(gateway, s3, bucket, size):
    """``curl -T -`` reads stdin, whose length it does not know: it sends chunked."""
    data = _data(size)
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "-v",
            "--fail-with-body",
            "-T",
            "-",
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
            "--user",
            f"{ACCESS_KEY}:{SECRET_KEY}",
            "-H",
            "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            f"{gateway.url}/{bucket}/from-curl",
        ],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    assert b"Transfer-Encoding: chunked" in done.stderr
    assert _stored_sha256(s3, bucket, "from-curl") == (hashlib.sha256(data).hexdigest(), size)


def _chunked_part(  # type: ignore[no-untyped-def]
    gateway, bucket: str, key: str, upload_id: str, number: int, data: bytes
) -> httpx.Response:
    url = f"{gateway.url}/{bucket}/{key}?partNumber={number}&uploadId={upload_id}"
    return _chunked_put(url, data)


@pytest.mark.parametrize("size", SIZES, ids=["empty", "one-byte", "8MiB+3"])
def test_upload_part_with_chunked_body_is_streamed(gateway, s3, bucket, size):
    data = _data(size)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    response = _chunked_part(gateway, bucket, "mp", upload_id, 1, data)
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag == f'"{hashlib.md5(data).hexdigest()}"'
    parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id)["Parts"]
    assert [(part["PartNumber"], part["Size"], part["ETag"]) for part in parts] == [(1, size, etag)]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert _stored_sha256(s3, bucket, "mp") == (hashlib.sha256(data).hexdigest(), size)


def test_chunked_parts_are_held_to_the_minimum_part_size_by_what_arrived(gateway, s3, bucket):
    """A part's size is the bytes it brought: a small first part is EntityTooSmall at
    completion, a large one with a small last part completes."""
    first, last = _data(5 * MiB + 3), _data(1)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="two")["UploadId"]
    etags = []
    for number, data in ((1, first), (2, last)):
        response = _chunked_part(gateway, bucket, "two", upload_id, number, data)
        assert response.status_code == 200, response.text
        etags.append(response.headers["etag"])
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="two",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]},
    )
    whole = first + last
    assert _stored_sha256(s3, bucket, "two") == (hashlib.sha256(whole).hexdigest(), len(whole))

    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    etags = []
    for number, data in ((1, last), (2, first)):
        response = _chunked_part(gateway, bucket, "small", upload_id, number, data)
        etags.append(response.headers["etag"])
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="small",
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]
            },
        )
    assert exc.value.response["Error"]["Code"] == "EntityTooSmall"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=upload_id)


@pytest.mark.single_stack(reason="patches MAX_PART_SIZE in this process's gateway")
def test_chunked_part_over_the_largest_part_is_entity_too_large(gateway, s3, bucket, monkeypatch):
    """The part limit (5 GiB) holds while a part streams; lowered here to 1 MiB so that the
    test need not send 5 GiB. The gateway runs in this process, so the patch reaches it."""
    monkeypatch.setattr(multipart, "MAX_PART_SIZE", MiB)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    exact = _chunked_part(gateway, bucket, "big", upload_id, 1, _data(MiB))
    assert exact.status_code == 200, exact.text
    over = _chunked_part(gateway, bucket, "big", upload_id, 2, _data(MiB + 1))
    assert over.status_code == 400
    error = _error(over)
    assert error.findtext("Code") == "EntityTooLarge"
    assert error.findtext("MaxSizeAllowed") == str(MiB)
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload_id)["Parts"]
    assert [part["PartNumber"] for part in parts] == [1]
    s3.abort_multipart_upload(Bucket=bucket, Key="big", UploadId=upload_id)
