"""MinIO warp v1.6.1 (built by scripts/clients/install.sh from scripts/clients/warp/: minio-go
v7.2.1, madmin-go v4.6.0), short benchmarks with no errors allowed. Over HTTP warp signs every
chunk of every upload (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``). Without ``--noclear`` warp
empties its bucket before and after each run (ListObjects + DeleteObjects), checked here too.
``warp multipart`` uploads the parts of one object, completes it, then benchmarks GETs of its
parts by ``partNumber``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.matrix import (
    Endpoint,
    GatewayRequests,
    assert_multipart_upload,
    clean_env,
    installed,
    keys_in,
    query_names,
)


def warp(exe: Path, endpoint: Endpoint, home: Path, *args: str) -> dict[str, Any]:
    tls = ["--tls"] if endpoint.https else []
    env = clean_env(home)
    if endpoint.https:
        env["SSL_CERT_FILE"] = str(endpoint.ca_file)  # Go's roots on Linux
    # fmt: off
    command = [
        str(exe), *args, *tls, "--host", endpoint.host,
        "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
        "--concurrent", "4", "--no-color", "--json",
        "--benchdata", str(home / f"bench-{args[0]}"),
    ]
    # fmt: on
    result = subprocess.run(
        command, env=env, cwd=home, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["total"]["total_errors"] == 0, report["total"]["first_errors"]
    return report


@pytest.fixture(scope="module")
def warp_exe() -> Path:
    return installed("warp")


@pytest.mark.parametrize("transport", ["http", "https"])
def test_put_benchmark(
    warp_exe: Path, matrix_gateway: Any, matrix_s3: Any, transport: str, tmp_path: Path
) -> None:
    endpoint = matrix_gateway.endpoint(transport)
    duration = "10s" if transport == "http" else "5s"
    bucket = f"warp-put-{transport}"
    report = warp(
        warp_exe,
        endpoint,
        tmp_path,
        "put",
        "--obj.size",
        "64KiB",
        "--duration",
        duration,
        "--bucket",
        bucket,
    )
    put = report["by_op_type"]["PUT"]
    assert put["total_requests"] > 0
    assert put["total_errors"] == 0
    assert keys_in(matrix_s3, bucket) == set()  # warp cleaned up after itself


def test_mixed_benchmark(
    warp_exe: Path, matrix_gateway: Any, matrix_s3: Any, tmp_path: Path
) -> None:
    endpoint = matrix_gateway.endpoint("http")
    report = warp(
        warp_exe,
        endpoint,
        tmp_path,
        "mixed",
        "--obj.size",
        "64KiB",
        "--duration",
        "10s",
        "--objects",
        "50",
        "--bucket",
        "warp-mixed",
    )
    assert set(report["by_op_type"]) == {"DELETE", "GET", "PUT", "STAT"}
    for operation in report["by_op_type"].values():
        assert operation["total_requests"] > 0
        assert operation["total_errors"] == 0
    assert keys_in(matrix_s3, "warp-mixed") == set()


def test_multipart_benchmark(
    warp_exe: Path, matrix_gateway: Any, matrix_s3: Any, tmp_path: Path
) -> None:
    endpoint = matrix_gateway.endpoint("http")
    bucket, key = "warp-multipart", "warp-multipart.bin"
    with GatewayRequests(endpoint) as requests:
        report = warp(
            warp_exe,
            endpoint,
            tmp_path,
            "multipart",
            "--parts",
            "8",
            "--part.size",
            "5MiB",
            "--duration",
            "5s",
            "--bucket",
            bucket,
            "--obj.name",
            key,
        )
    assert set(report["by_op_type"]) == {"GET"}
    assert report["by_op_type"]["GET"]["total_requests"] > 0
    seen = requests.on(bucket, key)
    uploads = [r for r in seen if r.method != "GET"]
    assert_multipart_upload(uploads, 8, requests.notes)
    gets = [r for r in seen if r.method == "GET"]
    assert gets
    assert all("partNumber" in query_names(r.query) and r.status == 206 for r in gets)
    assert keys_in(matrix_s3, bucket) == set()
