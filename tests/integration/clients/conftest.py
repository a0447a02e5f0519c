"""The client matrix's gateway: ``python -m gateway serve`` with its HTTPS listener, as users
run it, in front of the session's registry.

Not the session's ``gateway`` fixture: that one serves HTTPS from a second thread with its own
event loop on the same app, and the app's registry connections (httpx) and index belong to one
loop. A request on one listener that reuses a registry connection opened by the other fails
with "RuntimeError: ... is bound to a different event loop" (a 500 InternalError), which
boto3's retry hides and a client without retries does not. ``gateway serve`` runs both
listeners on one loop, as here.

With ``ARTIFACT_STORE_TEST_STACK=scale-out`` the matrix runs against the scale-out stack's
HAProxy instead (HTTP and HTTPS frontends over two gateway processes), reading both gateways'
logs.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ACCESS_KEY, SCALE_OUT, SECRET_KEY, s3_client
from tests.fixtures.registries import RunningRegistry, free_port
from tests.fixtures.scale_out import ScaleOut
from tests.fixtures.tls import self_signed
from tests.integration.clients.matrix import (
    LARGE_SIZE,
    ROOT,
    SMALL_SIZE,
    Endpoint,
    Payload,
    Payloads,
)


@dataclass
class MatrixGateway:
    url: str
    tls_url: str
    ca_file: Path
    logs: tuple[Path, ...]

    def endpoint(self, transport: str) -> Endpoint:
        url = {"http": self.url, "https": self.tls_url}[transport]
        return Endpoint(transport, url, self.ca_file, self.logs)


def _answers(url: str, ca_file: Path) -> bool:
    try:
        httpx.get(url, verify=ssl.create_default_context(cafile=ca_file), timeout=1)
    except httpx.TransportError:
        return False
    return True


@pytest.fixture(scope="session")
def matrix_gateway(
    request: pytest.FixtureRequest,
    registry: RunningRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MatrixGateway]:
    if SCALE_OUT:
        stack: ScaleOut = request.getfixturevalue("scale_out_stack")
        assert stack.tls_url is not None
        assert stack.ca_file is not None
        logs = tuple(stack.gateway(n).log_path for n in range(len(stack.gateways)))
        yield MatrixGateway(stack.url, stack.tls_url, stack.ca_file, logs)
        return
    root = tmp_path_factory.mktemp("matrix-gateway")
    cert, key = root / "cert.pem", root / "key.pem"
    self_signed(cert, key)
    port, tls_port = free_port(), free_port()
    env = {
        **os.environ,
        "ARTIFACT_STORE_ROOT_ACCESS_KEY": ACCESS_KEY,
        "ARTIFACT_STORE_ROOT_SECRET_KEY": SECRET_KEY,
        **registry.env(),
    }
    log = root / "gateway.log"
    # fmt: off
    command = [
        sys.executable, "-m", "gateway",
        "--data-dir", str(root / "data"),
        "serve", "--port", str(port), "--tls-port", str(tls_port),
        "--tls-cert-file", str(cert), "--tls-key-file", str(key),
    ]
    # fmt: on
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    running = MatrixGateway(
        f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls_port}", cert, (log,)
    )
    try:
        deadline = time.monotonic() + 60
        while not (_answers(running.url, cert) and _answers(running.tls_url, cert)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def matrix_s3(matrix_gateway: MatrixGateway) -> Any:
    """boto3 on the matrix gateway: the independent check of what each client did."""
    return s3_client(matrix_gateway.url)


@pytest.fixture(scope="session")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> Payloads:
    folder = tmp_path_factory.mktemp("payloads")
    return Payloads(
        small=Payload.write(folder / "small.txt", SMALL_SIZE),
        large=Payload.write(folder / "large.bin", LARGE_SIZE),
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``transport``: every scenario class runs once per transport it lists, in order."""
    transports = getattr(metafunc.cls, "transports", None)
    if transports and "transport" in metafunc.fixturenames:
        metafunc.parametrize("transport", transports, scope="class")
