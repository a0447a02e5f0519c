"""tus 1.0 resumable uploads under /_artifacts/uploads: the protocol by hand (httpx), a real
tus client (tuspy), and a resume after a connection killed mid-PATCH."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError

from gateway.domain.resumable import MAX_LENGTH
from tests.conftest import ACCESS_KEY, SECRET_KEY

TUS = {"Tus-Resumable": "1.0.0"}
BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
AUTH = {**TUS, "Authorization": BASIC}
LOGIN = {"Authorization": BASIC}


def metadata(**pairs: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def create(url: str, bucket: str, key: str, length: int, **extra: str) -> str:
    response = httpx.post(
        f"{url}/_artifacts/uploads",
        headers={
            **AUTH,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(bucket=bucket, key=key, **extra),
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    return response.headers["Location"]


def patch(location: str, offset: int, body: bytes, **headers: str) -> httpx.Response:
    return httpx.patch(
        location,
        content=body,
        headers={
            **AUTH,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )


def offset_of(location: str) -> int:
    response = httpx.head(location, headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Upload-Offset"])


def test_options_describe_the_server(gateway):
    response = httpx.options(f"{gateway.url}/_artifacts/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "termination",
        "checksum",
    }
    assert "sha1" in response.headers["Tus-Checksum-Algorithm"].split(",")


def test_upload_in_pieces_becomes_an_s3_object(gateway, s3, bucket):
    data = os.urandom(300_000)
    location = create(gateway.url, bucket, "dir/tus.bin", len(data), filetype="x/tus")
    assert offset_of(location) == 0
    sha1 = base64.b64encode(hashlib.sha1(data[:100_000]).digest()).decode()
    first = patch(location, 0, data[:100_000], **{"Upload-Checksum": f"sha1 {sha1}"})
    assert first.status_code == 204
    assert first.headers["Upload-Offset"] == "100000"
    # A PATCH at a stale offset is refused and changes nothing.
    stale = patch(location, 0, data[:10])
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert offset_of(location) == 100_000
    # Not an object yet.
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="dir/tus.bin")
    assert patch(location, 100_000, data[100_000:]).status_code == 204
    got = s3.get_object(Bucket=bucket, Key="dir/tus.bin")
    assert got["Body"].read() == data
    assert got["ContentType"] == "x/tus"
    assert offset_of(location) == len(data)  # a finished upload stands at its length


def test_a_checksum_mismatch_stores_nothing(gateway, bucket):
    location = create(gateway.url, bucket, "k", 10)
    wrong = base64.b64encode(hashlib.md5(b"other", usedforsecurity=False).digest()).decode()
    response = patch(location, 0, b"0123456789", **{"Upload-Checksum": f"md5 {wrong}"})
    assert response.status_code == 460
    assert offset_of(location) == 0
    unknown = patch(location, 0, b"0123456789", **{"Upload-Checksum": "whirlpool abc="})
    assert unknown.status_code == 400


def test_protocol_errors(gateway, bucket):
    url = f"{gateway.url}/_artifacts/uploads"
    assert httpx.post(url, headers={"Upload-Length": "1"}).status_code == 401
    wrong = "Basic " + base64.b64encode(f"{ACCESS_KEY}:nope".encode()).decode()
    assert httpx.post(url, headers={**TUS, "Authorization": wrong}).status_code == 403
    no_version = httpx.post(url, headers={"Authorization": BASIC, "Upload-Length": "1"})
    assert no_version.status_code == 412
    no_length = httpx.post(
        url, headers={**AUTH, "Upload-Metadata": metadata(bucket=bucket, key="k")}
    )
    assert no_length.status_code == 400
    no_bucket = httpx.post(url, headers={**AUTH, "Upload-Length": "1"})
    assert no_bucket.status_code == 400
    missing_bucket = httpx.post(
        url,
        headers={**AUTH, "Upload-Length": "1", "Upload-Metadata": metadata(bucket="nx-b", key="k")},
    )
    assert missing_bucket.status_code == 404
    location = create(gateway.url, bucket, "k", 5)
    too_long = patch(location, 0, b"0123456789")
    assert too_long.status_code == 400
    wrong_type = httpx.patch(
        location, content=b"x", headers={**AUTH, "Upload-Offset": "0", "Content-Type": "text/x"}
    )
    assert wrong_type.status_code == 415
    assert httpx.head(f"{url}/nope", headers=AUTH).status_code == 404


def test_an_upload_over_the_max_size_is_too_large(gateway, bucket):
    """tus: "the Server MUST respond with the 413 Request Entity Too Large status"."""
    response = httpx.post(
        f"{gateway.url}/_artifacts/uploads",
        headers={
            **AUTH,
            "Upload-Length": str(MAX_LENGTH + 1),
            "Upload-Metadata": metadata(bucket=bucket, key="k"),
        },
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "digit", [b"\xb2", b"1\xb9"], ids=["superscript-two", "one-superscript-one"]
)
def test_numbers_are_ascii_digits(gateway, bucket, digit):
    """Latin-1 superscripts pass ``str.isdigit`` but not ``int``: once a 500, now a 400."""
    url = f"{gateway.url}/_artifacts/uploads"
    made = httpx.post(
        url,
        headers=[
            *AUTH.items(),
            ("Upload-Metadata", metadata(bucket=bucket, key="k")),
            ("Upload-Length", digit),
        ],
    )
    assert made.status_code == 400, made.text
    location = create(gateway.url, bucket, "k", 5)
    appended = httpx.patch(
        location,
        content=b"x",
        headers=[
            *AUTH.items(),
            ("Content-Type", "application/offset+octet-stream"),
            ("Upload-Offset", digit),
        ],
    )
    assert appended.status_code == 400, appended.text


def test_termination(gateway, bucket):
    location = create(gateway.url, bucket, "k", 10)
    assert patch(location, 0, b"01234").status_code == 204
    assert httpx.delete(location, headers=AUTH).status_code == 204
    assert httpx.head(location, headers=AUTH).status_code == 404
    assert patch(location, 5, b"56789").status_code == 404


def test_an_empty_upload_is_an_empty_object_at_once(gateway, s3, bucket):
    location = create(gateway.url, bucket, "empty", 0)
    assert offset_of(location) == 0
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""


def test_tuspy_uploads_a_file_in_chunks(gateway, s3, bucket, tmp_path):
    data = os.urandom(2 * 1024 * 1024 + 11)
    source = tmp_path / "file.bin"
    source.write_bytes(data)
    client = tus_client.TusClient(
        f"{gateway.url}/_artifacts/uploads", headers={"Authorization": BASIC}
    )
    uploader = client.uploader(
        str(source),
        chunk_size=512 * 1024,
        metadata={"bucket": bucket, "key": "tuspy.bin", "filetype": "application/x-bin"},
        upload_checksum=True,
    )
    uploader.upload()
    got = s3.get_object(Bucket=bucket, Key="tuspy.bin")
    assert hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(data).digest()
    assert got["ContentType"] == "application/x-bin"


def test_tuspy_resumes_after_a_connection_killed_mid_patch(gateway, s3, bucket, tmp_path):
    data = os.urandom(1024 * 1024)
    source = tmp_path / "file.bin"
    source.write_bytes(data)
    location = create(gateway.url, bucket, "resumed.bin", len(data))
    # A client sends half of the bytes and its connection dies.
    parts = urlsplit(location)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        f"Authorization: {BASIC}\r\nUpload-Offset: 0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port)) as connection:
        connection.sendall(head.encode() + data[: len(data) // 2])
    assert offset_of(location) == 0  # nothing of the cut PATCH was stored
    # tuspy picks the upload up at the server's offset and finishes it.
    client = tus_client.TusClient(
        f"{gateway.url}/_artifacts/uploads", headers={"Authorization": BASIC}
    )
    uploader = client.uploader(str(source), url=location, chunk_size=256 * 1024)
    assert uploader.offset == 0
    uploader.upload_chunk()
    assert offset_of(location) == 256 * 1024
    uploader.upload()
    body = s3.get_object(Bucket=bucket, Key="resumed.bin")["Body"].read()
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    with pytest.raises(TusCommunicationError):
        tus_client.TusClient(
            f"{gateway.url}/_artifacts/uploads", headers={"Authorization": "Basic eDp5"}
        ).uploader(str(source), metadata={"bucket": bucket, "key": "x"}).upload()


def test_uploads_are_decided_like_s3_writes(gateway, bucket):
    """A key that may only read cannot start, resume or end an upload into the bucket."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    made = httpx.post(
        f"{gateway.url}/_artifacts/keys", json={"policy": json.dumps(policy)}, headers=AUTH
    ).json()
    reader = (
        "Basic "
        + base64.b64encode(f"{made['access_key_id']}:{made['secret_access_key']}".encode()).decode()
    )
    refused = httpx.post(
        f"{gateway.url}/_artifacts/uploads",
        headers={
            **TUS,
            "Authorization": reader,
            "Upload-Length": "3",
            "Upload-Metadata": metadata(bucket=bucket, key="k"),
        },
    )
    assert refused.status_code == 403
    location = create(gateway.url, bucket, "k", 3)  # root may
    theirs = {**TUS, "Authorization": reader}
    assert httpx.head(location, headers=theirs).status_code == 403
    assert httpx.delete(location, headers=theirs).status_code == 403
    assert offset_of(location) == 0
