"""tus-js-client 4.3.1 on Node (``tusjs/``): a resumable upload through /_artifacts/uploads,
once straight and once through a proxy that kills the connection in the middle of a PATCH,
so that the client must ask the server's offset (HEAD) and resume from there."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY
from tests.integration.clients.conftest import MatrixGateway
from tests.integration.clients.matrix import installed

BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
SIZE = 3 * 1024 * 1024 + 7
CHUNK = 1024 * 1024


class CuttingProxy:
    """Forwards TCP to the gateway; the first connection that carries a PATCH is cut after
    ``cut_after`` bytes of it have gone upstream."""

    def __init__(self, upstream_port: int, cut_after: int) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cuts = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
        threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()
        self._pipe(client, upstream, True)

    def _pipe(self, source: socket.socket, target: socket.socket, upward: bool) -> None:
        sent, cutting = 0, False
        try:
            while data := source.recv(65536):
                if upward and not self.cuts and data.startswith(b"PATCH"):
                    cutting = True
                if cutting:
                    data = data[: max(0, self.cut_after - sent)]
                    sent += len(data)
                target.sendall(data)
                if cutting and sent >= self.cut_after:
                    self.cuts += 1
                    break
        except OSError:
            pass
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def tus_js() -> Path:
    return installed("tus-js")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "artifact.bin"
    path.write_bytes(bytes(range(256)) * (SIZE // 256) + b"x" * (SIZE % 256))
    return path


def upload(tus_js: Path, endpoint: str, source: Path, bucket: str, key: str) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        ["node", str(tus_js), endpoint, str(source), bucket, key, BASIC, str(CHUNK)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def check(matrix_s3, bucket: str, key: str, source: Path) -> None:  # type: ignore[no-untyped-def]
    got = matrix_s3.get_object(Bucket=bucket, Key=key)
    assert (
        hashlib.sha256(got["Body"].read()).digest() == hashlib.sha256(source.read_bytes()).digest()
    )
    assert got["ContentType"] == "application/x-tus-js"


def test_tus_js_client_uploads_in_chunks(tus_js, matrix_gateway: MatrixGateway, matrix_s3, source):
    matrix_s3.create_bucket(Bucket="tus-js")
    outcome = upload(tus_js, f"{matrix_gateway.url}/_artifacts/uploads", source, "tus-js", "a.bin")
    assert outcome["ok"]
    assert outcome["retries"] == 0
    assert outcome["url"].startswith(f"{matrix_gateway.url}/_artifacts/uploads/")
    check(matrix_s3, "tus-js", "a.bin", source)


def test_tus_js_client_resumes_after_the_connection_is_cut(
    tus_js, matrix_gateway: MatrixGateway, matrix_s3, source
):
    matrix_s3.create_bucket(Bucket="tus-js-cut")
    port = int(matrix_gateway.url.rsplit(":", 1)[1])
    proxy = CuttingProxy(port, cut_after=CHUNK // 2)
    try:
        endpoint = f"http://127.0.0.1:{proxy.port}/_artifacts/uploads"
        outcome = upload(tus_js, endpoint, source, "tus-js-cut", "b.bin")
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert outcome["ok"]
    assert outcome["retries"] >= 1  # it had to resume
    check(matrix_s3, "tus-js-cut", "b.bin", source)
