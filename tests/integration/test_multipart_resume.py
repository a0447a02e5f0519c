"""Interrupted transfers resume, with real processes: the client hangs up mid-part, the
gateway is killed with SIGKILL mid-part, the registry restarts between parts. Each time
ListParts shows what committed, the rest is uploaded, and the object's SHA-256 equals the
source's. Downloads resume with Range + If-Match."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.processes import GatewayProcess, start_gateway
from tests.fixtures.registries import RunningRegistry, free_port, start
from tests.fixtures.signing import sign

MiB = 1 << 20
PART = 5 * MiB


@pytest.fixture
def own_registry(tmp_path: Path) -> Iterator[RunningRegistry]:
    """A registry of this test's own, so that it can be restarted."""
    running = start(tmp_path / "registry")
    yield running
    running.stop()


def gateway_process(registry: RunningRegistry, data: Path, port: int) -> GatewayProcess:
    return start_gateway(
        registry,
        data,
        port,
        (ACCESS_KEY, SECRET_KEY),
        env={"ARTIFACT_STORE_REPOSITORY_PREFIX": "resume"},
    )


def half_sent_part(url: str, number: int, upload_id: str, body: bytes) -> socket.socket:
    """Send an UploadPart's head and half of its body, then stall: an interrupted client."""
    target = f"{url}/bkt/obj?partNumber={number}&uploadId={upload_id}"
    headers = sign("PUT", target, headers={"Content-Length": str(len(body))}, unsigned_payload=True)
    parts = urlsplit(target)
    connection = socket.create_connection((parts.hostname, parts.port))
    head = f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    connection.sendall(head.encode() + body[: len(body) // 2])
    return connection


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def complete(s3, upload_id: str, count: int) -> dict:  # type: ignore[no-untyped-def]
    parts = s3.list_parts(Bucket="bkt", Key="obj", UploadId=upload_id)["Parts"]
    assert [p["PartNumber"] for p in parts] == list(range(1, count + 1))
    chosen = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
    return s3.complete_multipart_upload(
        Bucket="bkt", Key="obj", UploadId=upload_id, MultipartUpload={"Parts": chosen}
    )


def test_resume_after_client_hangup_gateway_kill_and_registry_restart(
    own_registry: RunningRegistry, tmp_path: Path
) -> None:
    source = [os.urandom(PART), os.urandom(PART), os.urandom(PART), os.urandom(123_456)]
    data, port = tmp_path / "gateway", free_port()
    gateway = gateway_process(own_registry, data, port)
    try:
        s3 = s3_client(gateway.url)
        s3.create_bucket(Bucket="bkt")
        upload_id = s3.create_multipart_upload(Bucket="bkt", Key="obj")["UploadId"]
        s3.upload_part(Bucket="bkt", Key="obj", UploadId=upload_id, PartNumber=1, Body=source[0])

        # 1. The client hangs up in the middle of part 2: nothing of it commits.
        connection = half_sent_part(gateway.url, 2, upload_id, source[1])
        connection.close()
        time.sleep(0.5)
        parts = s3.list_parts(Bucket="bkt", Key="obj", UploadId=upload_id)["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]

        # 2. The gateway is killed (SIGKILL) in the middle of part 2, then started again.
        connection = half_sent_part(gateway.url, 2, upload_id, source[1])
        time.sleep(0.5)
        gateway.kill()
        connection.close()
        gateway = gateway_process(own_registry, data, port)
        parts = s3.list_parts(Bucket="bkt", Key="obj", UploadId=upload_id)["Parts"]
        assert [p["PartNumber"] for p in parts] == [1]
        s3.upload_part(Bucket="bkt", Key="obj", UploadId=upload_id, PartNumber=2, Body=source[1])

        # 3. The registry restarts between parts (same data, same port).
        own_registry.stop()
        with pytest.raises(ClientError) as unavailable:
            s3.upload_part(
                Bucket="bkt", Key="obj", UploadId=upload_id, PartNumber=3, Body=source[2]
            )
        assert unavailable.value.response["Error"]["Code"] == "ServiceUnavailable"
        restarted = start(Path(own_registry.log_path).parent, port=urlsplit(own_registry.url).port)
        own_registry.process = restarted.process
        s3.upload_part(Bucket="bkt", Key="obj", UploadId=upload_id, PartNumber=3, Body=source[2])
        s3.upload_part(Bucket="bkt", Key="obj", UploadId=upload_id, PartNumber=4, Body=source[3])

        result = complete(s3, upload_id, 4)
        assert result["ETag"].endswith('-4"')
        body = s3.get_object(Bucket="bkt", Key="obj")["Body"].read()
        assert sha256(body) == sha256(b"".join(source))
    finally:
        gateway.stop()


def test_a_download_resumes_with_range_and_if_match(s3, bucket: str) -> None:
    data = os.urandom(3 * MiB + 5)
    etag = s3.put_object(Bucket=bucket, Key="dl", Body=data)["ETag"]
    first = s3.get_object(Bucket=bucket, Key="dl", Range="bytes=0-1048575")["Body"].read()
    rest = s3.get_object(Bucket=bucket, Key="dl", Range=f"bytes={len(first)}-", IfMatch=etag)
    assert rest["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert sha256(first + rest["Body"].read()) == sha256(data)
    s3.put_object(Bucket=bucket, Key="dl", Body=b"changed")
    with pytest.raises(ClientError) as changed:
        s3.get_object(Bucket=bucket, Key="dl", Range=f"bytes={len(first)}-", IfMatch=etag)
    assert changed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


def test_parts_held_while_the_gateway_is_down_survive_in_parallel(
    own_registry: RunningRegistry, tmp_path: Path
) -> None:
    """Parts uploaded in parallel before a SIGKILL are all listed after the restart."""
    data, port = tmp_path / "gateway", free_port()
    gateway = gateway_process(own_registry, data, port)
    try:
        s3 = s3_client(gateway.url)
        s3.create_bucket(Bucket="bkt")
        upload_id = s3.create_multipart_upload(Bucket="bkt", Key="obj")["UploadId"]
        bodies = {n: os.urandom(PART) for n in range(1, 5)}

        def send(number: int) -> None:
            s3.upload_part(
                Bucket="bkt", Key="obj", UploadId=upload_id, PartNumber=number, Body=bodies[number]
            )

        threads = [threading.Thread(target=send, args=(n,)) for n in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        gateway.kill()
        gateway = gateway_process(own_registry, data, port)
        result = complete(s3, upload_id, 4)
        assert result["ETag"].endswith('-4"')
        body = s3.get_object(Bucket="bkt", Key="obj")["Body"].read()
        assert sha256(body) == sha256(b"".join(bodies[n] for n in sorted(bodies)))
    finally:
        gateway.stop()
