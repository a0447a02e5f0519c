"""The HTTPS listener: boto3 sends aws-chunked bodies with trailing checksums only over TLS."""

import hashlib

from tests.fixtures.registries import free_port


def test_boto3_over_https_uses_trailing_checksums(s3_tls, gateway, bucket):
    body = b"over tls " * 100_000
    events = []
    s3_tls.meta.events.register(
        "before-send.s3.PutObject", lambda request, **_: events.append(request)
    )
    put = s3_tls.put_object(Bucket=bucket, Key="tls.bin", Body=body)
    sent = events[0].headers
    assert sent["x-amz-content-sha256"] == b"STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert b"x-amz-checksum-crc32" in sent["x-amz-trailer"]
    assert put["ChecksumCRC32"]
    got = s3_tls.get_object(Bucket=bucket, Key="tls.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    head = s3_tls.head_object(Bucket=bucket, Key="tls.bin")
    assert "aws-chunked" not in head.get("ContentEncoding", "")
    assert head["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'


def test_serve_with_tls_port_and_sigterm(registry, tmp_path):
    import os
    import signal
    import ssl
    import subprocess
    import sys
    import time

    import httpx

    from tests.fixtures.tls import self_signed

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed(cert, key)
    port, tls_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--data-dir",
            str(tmp_path),
            "serve",
            "--port",
            str(port),
            "--tls-port",
            str(tls_port),
            "--tls-cert-file",
            str(cert),
            "--tls-key-file",
            str(key),
        ],
        env={**os.environ, "ARTIFACT_STORE_LOG_LEVEL": "warning", **registry.env()},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                plain = httpx.get(f"http://127.0.0.1:{port}/_artifacts/livez", timeout=1)
                secure = httpx.get(
                    f"https://127.0.0.1:{tls_port}/_artifacts/livez",
                    timeout=1,
                    verify=ssl.create_default_context(cafile=str(cert)),
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert plain.json() == secure.json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        for url in (f"http://127.0.0.1:{port}/", f"https://127.0.0.1:{tls_port}/"):
            try:
                httpx.get(url, timeout=1, verify=False)
            except httpx.TransportError:
                continue
            raise AssertionError(f"{url} still answers")
    finally:
        if process.poll() is None:
            process.kill()
