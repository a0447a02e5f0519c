import base64
import email.header
import fcntl
import hashlib
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.fixtures.signing import send, sign


def error_code(exc):
    return exc.value.response["Error"]["Code"]


def test_etag_is_md5_and_headers_are_stored(s3, bucket):
    body = b"\x00\x01binary" * 4096
    put = s3.put_object(
        Bucket=bucket,
        Key="a/b/c.bin",
        Body=body,
        ContentType="application/x-tar",
        ContentEncoding="gzip",
        ContentDisposition='attachment; filename="c.bin"',
        ContentLanguage="en",
        CacheControl="max-age=60",
        Expires="Wed, 21 Oct 2037 07:28:00 GMT",
        Metadata={"Build-Id": "42", "commit": "abc"},
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    reference = put["ResponseMetadata"]["HTTPHeaders"]["x-artifact-store-oci-reference"]
    assert reference.startswith(f"s3/{bucket}/")
    assert ":o-" in reference
    head = s3.head_object(Bucket=bucket, Key="a/b/c.bin")
    assert head["ContentLength"] == len(body)
    assert head["ContentType"] == "application/x-tar"
    assert head["ContentEncoding"] == "gzip"
    assert head["ContentDisposition"] == 'attachment; filename="c.bin"'
    assert head["ContentLanguage"] == "en"
    assert head["CacheControl"] == "max-age=60"
    assert head["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    assert head["Metadata"] == {"build-id": "42", "commit": "abc"}
    assert head["ETag"] == put["ETag"]


def test_default_content_type_and_empty_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentLength"] == 0
    assert got["ContentType"] == "binary/octet-stream"
    assert got["ETag"] == f'"{hashlib.md5(b"").hexdigest()}"'


def test_overwrite_replaces_the_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"one", Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"two"
    assert got["Metadata"] == {}
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def test_content_md5_checked(s3, bucket):
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(Bucket=bucket, Key="ok", Body=b"data", ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ContentMD5=wrong)
    assert error_code(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"data", ContentMD5="not-base64!")
    assert error_code(exc) == "InvalidDigest"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["ok"]


def test_signed_payload_hash_mismatch_commits_nothing(gateway, s3, bucket):
    url = f"{gateway.url}/{bucket}/lie"
    headers = sign("PUT", url, b"declared body")
    response = httpx.put(url, content=b"another body!", headers=headers)
    assert response.status_code in (400, 403)
    assert (
        b"XAmzContentSHA256Mismatch" in response.content
        or b"SignatureDoesNotMatch" in response.content
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_unsigned_payload_is_accepted(gateway, s3, bucket):
    url = f"{gateway.url}/{bucket}/unsigned"
    response = send("PUT", url, b"unsigned bytes", unsigned_payload=True)
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == b"unsigned bytes"


def test_key_too_long(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="é" * 513, Body=b"x")
    assert error_code(exc) == "KeyTooLongError"
    s3.put_object(Bucket=bucket, Key="é" * 512, Body=b"x")


def test_unusual_keys_round_trip(s3, bucket):
    keys = [
        "sp ace",
        "plus+sign",
        "percent%20",
        "ütf-8/ключ/🙂",
        "a//b",
        "trailing/",
        "q?x=1&y",
        "~tilde*",
    ]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    for key in keys:
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def _raw_put(url: str, body: bytes, declared: int, *, expect: bool = False) -> bytes:
    """A PUT whose body is shorter than its Content-Length, over a raw socket."""
    parts = urlsplit(url)
    headers = sign("PUT", url, b"", {"Content-Length": str(declared)}, unsigned_payload=True)
    if expect:
        headers["Expect"] = "100-continue"
    lines = [f"PUT {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        interim = b""
        if expect:
            interim = sock.recv(4096)
        sock.sendall(body)
        if declared > len(body):
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
            if declared == len(body) and b"\r\n\r\n" in reply:
                break
        return interim + reply
    finally:
        sock.close()


def test_raw_put_is_signed_correctly(gateway, s3, bucket):
    reply = _raw_put(f"{gateway.url}/{bucket}/raw", b"z" * 10, 10)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    assert s3.get_object(Bucket=bucket, Key="raw")["Body"].read() == b"z" * 10


def test_incomplete_body_commits_nothing(gateway, s3, bucket):
    reply = _raw_put(f"{gateway.url}/{bucket}/short", b"x" * 1000, 5000)
    assert b"SignatureDoesNotMatch" not in reply
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="short")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_expect_100_continue(gateway, s3, bucket):
    reply = _raw_put(f"{gateway.url}/{bucket}/continued", b"y" * 100, 100, expect=True)
    assert reply.startswith(b"HTTP/1.1 100 Continue")
    assert b"HTTP/1.1 200" in reply
    assert s3.get_object(Bucket=bucket, Key="continued")["Body"].read() == b"y" * 100


def test_conditional_writes(s3, bucket):
    s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert error_code(exc) == "PreconditionFailed"
    etag = s3.head_object(Bucket=bucket, Key="once")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"third", IfMatch='"0000"')
    assert error_code(exc) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="once", Body=b"fourth", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"fourth"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="never", Body=b"x", IfMatch=etag)
    assert error_code(exc) == "NoSuchKey"


def test_if_none_match_star_is_atomic(gateway, bucket):
    from tests.conftest import s3_client

    results: list[str] = []

    def attempt(n: int) -> None:
        client = s3_client(gateway.url)
        try:
            client.put_object(
                Bucket=bucket, Key="race", Body=f"writer {n}".encode(), IfNoneMatch="*"
            )
            results.append("ok")
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One writer wins; each loser saw the winner committed (412) or still in flight (409).
    assert results.count("ok") == 1
    assert set(results) <= {"ok", "PreconditionFailed", "ConditionalRequestConflict"}


def test_concurrent_puts_of_one_key(gateway, s3, bucket):
    from tests.conftest import s3_client

    bodies = {n: (f"version {n} ".encode() * 50_000) for n in range(10)}

    def put(n: int) -> None:
        s3_client(gateway.url).put_object(Bucket=bucket, Key="contended", Body=bodies[n])

    threads = [threading.Thread(target=put, args=(n,)) for n in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = s3.get_object(Bucket=bucket, Key="contended")
    data = got["Body"].read()
    assert data in bodies.values()
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("contended", len(data))]


def _error(response: httpx.Response) -> dict[str, str]:
    from xml.etree import ElementTree

    return {child.tag: child.text or "" for child in ElementTree.fromstring(response.content)}


@pytest.mark.parametrize(
    ("headers", "condition"),
    [
        pytest.param({"If-None-Match": "*"}, "If-None-Match", id="if-none-match"),
        pytest.param({"If-Match": '"0000"'}, "If-Match", id="if-match"),
    ],
)
def test_a_failed_write_condition_names_its_header(gateway, s3, bucket, headers, condition):
    s3.put_object(Bucket=bucket, Key="k", Body=b"old")
    got = send("PUT", f"{gateway.url}/{bucket}/k", b"new", headers)
    assert got.status_code == 412
    error = _error(got)
    assert error["Code"] == "PreconditionFailed"
    assert error["Condition"] == condition
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"old"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"If-None-Match": '"5d41402abc4b2a76b9719d911017c592"'}, id="an-etag"),
        pytest.param({"If-None-Match": "W/*"}, id="not-a-star"),
        pytest.param({"If-None-Match": "*", "If-Match": "*"}, id="with-if-match"),
    ],
)
def test_if_none_match_takes_only_a_star(gateway, s3, bucket, headers):
    """S3 answers 501 NotImplemented to any other If-None-Match on a write, before anything."""
    got = send("PUT", f"{gateway.url}/{bucket}/k", b"new", headers)
    assert got.status_code == 501
    error = _error(got)
    assert error["Code"] == "NotImplemented"
    assert error["Header"] == "If-None-Match"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_if_match_on_a_missing_key_is_no_such_key(gateway, bucket):
    got = send("PUT", f"{gateway.url}/{bucket}/absent", b"x", {"If-Match": '"0000"'})
    assert got.status_code == 404
    assert _error(got)["Code"] == "NoSuchKey"


def test_conditional_put_with_aws_cli(aws_env, s3, bucket, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    source = tmp_path / "body"
    source.write_bytes(b"cli")
    aws = str(Path(sys.executable).with_name("aws"))
    put = [aws, "s3api", "put-object", "--bucket", bucket, "--key", "c", "--body", str(source)]
    first = subprocess.run([*put, "--if-none-match", "*"], env=aws_env, capture_output=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        [*put, "--if-none-match", "*"], env=aws_env, capture_output=True, text=True
    )
    assert again.returncode != 0
    assert "PreconditionFailed" in again.stderr


@pytest.fixture(scope="module")
def workers_gateway(registry, tmp_path_factory):
    """A gateway whose key locks are the file locks ``serve --workers N`` uses, so that the
    test can hold a key's lock as another worker process in the middle of a write would."""
    from tests.conftest import gateway_settings
    from tests.fixtures.servers import serve

    settings = gateway_settings(registry, tmp_path_factory.mktemp("workers"), workers=2)
    with serve(settings) as running:
        yield running


@contextmanager
def write_in_flight(gateway, bucket: str, key: str):
    """Hold ``key``'s lock as a writer between its manifest push and its index commit."""
    from gateway.domain.locks import _file_name

    path = gateway.settings.data_dir / "locks" / _file_name((bucket, key))
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.unlink(path)
        os.close(descriptor)


def test_a_conditional_write_meeting_a_write_in_flight_is_409(workers_gateway):
    from tests.conftest import s3_client

    s3 = s3_client(workers_gateway.url)
    name = f"inflight-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    etag = s3.put_object(Bucket=name, Key="old", Body=b"old")["ETag"]
    upload = s3.create_multipart_upload(Bucket=name, Key="new")["UploadId"]
    part = s3.upload_part(Bucket=name, Key="new", UploadId=upload, PartNumber=1, Body=b"p")
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    with write_in_flight(workers_gateway, name, "new"):
        for attempt in (
            lambda: s3.put_object(Bucket=name, Key="new", Body=b"x", IfNoneMatch="*"),
            lambda: s3.complete_multipart_upload(
                Bucket=name,
                Key="new",
                UploadId=upload,
                MultipartUpload=parts,
                IfNoneMatch="*",
            ),
        ):
            with pytest.raises(ClientError) as exc:
                attempt()
            assert error_code(exc) == "ConditionalRequestConflict"
            assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with write_in_flight(workers_gateway, name, "old"):
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=name, Key="old", Body=b"y", IfMatch=etag)
        assert error_code(exc) == "ConditionalRequestConflict"
        # An unconditional write waits for the one in flight instead.
        done = threading.Event()
        threading.Timer(0.5, done.set).start()
        waited = threading.Thread(
            target=lambda: s3_client(workers_gateway.url).put_object(
                Bucket=name, Key="old", Body=b"after"
            )
        )
        waited.start()
        done.wait()
        assert waited.is_alive()
    waited.join(timeout=30)
    assert s3.get_object(Bucket=name, Key="old")["Body"].read() == b"after"
    assert "new" not in {o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]}
    # Nothing was consumed: the upload completes once the other write is over.
    s3.complete_multipart_upload(
        Bucket=name, Key="new", UploadId=upload, MultipartUpload=parts, IfNoneMatch="*"
    )
    assert s3.get_object(Bucket=name, Key="new")["Body"].read() == b"p"
    for key in ("old", "new"):
        s3.delete_object(Bucket=name, Key=key)
    s3.delete_bucket(Bucket=name)


def test_metadata_is_stored_decoded_and_returned_mail_safe(gateway, s3, bucket):  # type: ignore[no-untyped-def]
    """RFC 2047 in and out, as S3 documents (UsingMetadata.html): boto3 sees the encoded
    words, a mail library reads them back to the text sent."""
    url = f"{gateway.url}/{bucket}/meta.bin"
    headers = {
        "x-amz-meta-word": "=?UTF-8?B?w6k=?=",  # é, as an encoded-word
        "x-amz-meta-ctl": "tab\there",  # a control character HTTP allows in a value
        "x-amz-meta-plain": "just ASCII",
    }
    sent = send("PUT", url, b"x", headers)
    assert sent.status_code == 200, sent.text
    head = s3.head_object(Bucket=bucket, Key="meta.bin")["Metadata"]
    assert head == {
        "word": "=?UTF-8?B?w6k=?=",
        "ctl": "=?UTF-8?Q?tab=09here?=",
        "plain": "just ASCII",
    }
    naive = "=?UTF-8?B?bmHDr3Zl?="  # naïve: botocore sends only ASCII metadata
    s3.put_object(Bucket=bucket, Key="boto.bin", Body=b"x", Metadata={"word": naive})
    got = s3.get_object(Bucket=bucket, Key="boto.bin")["Metadata"]["word"]
    assert got == "=?UTF-8?Q?na=C3=AFve?="  # mostly ASCII: Q, as mail encoders choose
    assert str(email.header.make_header(email.header.decode_header(got))) == "naïve"
    # Other control characters never reach S3: the HTTP parser refuses the request (400).
    refused = send("PUT", f"{gateway.url}/{bucket}/ctl.bin", b"x", {"x-amz-meta-c": "\x04m"})
    assert refused.status_code == 400
