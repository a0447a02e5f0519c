"""``serve --workers 2``: two gateway processes on one port, one data directory, one index.

Both take connections; writers of one key in different processes take turns (file locks),
so after a race the index, the registry's tag and the bytes all name the same version; a
stop signal ends both gracefully.
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from gateway.domain import mapping
from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.processes import GatewayProcess, start_gateway
from tests.fixtures.registries import RunningRegistry, free_port

WORKERS = 2


@pytest.fixture
def workers(registry: RunningRegistry, tmp_path: Path) -> Iterator[GatewayProcess]:
    running = start_gateway(
        registry,
        tmp_path / "gateway",
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        env={"ARTIFACT_STORE_WORKERS": str(WORKERS), "ARTIFACT_STORE_REPOSITORY_PREFIX": "wk"},
    )
    yield running
    running.stop()


def cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def test_workers_share_the_port_and_take_turns_on_a_key(
    workers: GatewayProcess, registry: RunningRegistry
) -> None:
    supervisor = psutil.Process(workers.process.pid)
    # The workers (not multiprocessing's resource tracker).
    children = [p for p in supervisor.children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(children) == WORKERS
    before = {child.pid: cpu(child) for child in children}

    s3 = s3_client(workers.url, max_pool_connections=16)
    s3.create_bucket(Bucket="workers")
    bodies = [f"version {n} ".encode() * (100 + n) for n in range(24)]

    def put(body: bytes) -> None:
        client = s3_client(workers.url)  # a connection of its own: spread over the workers
        client.put_object(Bucket="workers", Key="raced", Body=body)

    for _ in range(3):
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, bodies))
        got = s3.get_object(Bucket="workers", Key="raced")
        data = got["Body"].read()
        assert data in bodies
        repository, tag = got["ResponseMetadata"]["HTTPHeaders"][
            "x-artifact-store-oci-reference"
        ].rsplit(":", 1)
        with registry.http() as direct:
            manifest = direct.get(
                f"/v2/{repository}/manifests/{tag}",
                headers={"Accept": mapping.MANIFEST_MEDIA_TYPE},
            )
        assert manifest.status_code == 200
        (layer,) = manifest.json()["layers"]
        # The tag names the version the index serves: no process moved it in between.
        assert layer["digest"] == "sha256:" + hashlib.sha256(data).hexdigest()
    busy = [child for child in children if cpu(child) - before.get(child.pid, 0) > 0.2]
    assert len(busy) >= WORKERS, "every worker should have served some of the requests"
    assert list((Path(workers.log_path).parent / "locks").iterdir()) == []


def test_a_signal_stops_every_worker(workers: GatewayProcess) -> None:
    supervisor = psutil.Process(workers.process.pid)
    children = supervisor.children(recursive=True)
    supervisor.send_signal(signal.SIGTERM)
    assert workers.process.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children):
        assert time.monotonic() < deadline, "a worker outlived the supervisor"
        time.sleep(0.1)
