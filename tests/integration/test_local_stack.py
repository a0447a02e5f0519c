"""``make run``'s stack (scripts/run_stack.py): works at once, and SIGINT stops both processes."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.registries import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "the stack exited early"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_stack_starts_serves_and_stops(tmp_path, stop):
    port, management = free_port(), free_port()
    env = {
        **os.environ,
        "ARTIFACT_STORE_ROOT_ACCESS_KEY": ACCESS_KEY,
        "ARTIFACT_STORE_ROOT_SECRET_KEY": SECRET_KEY,
        "ARTIFACT_STORE_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "scripts" / "run_stack.py"),
            "--port",
            str(port),
            "--management-port",
            str(management),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = process.stdout.readline()
        while first.startswith("[registry]"):
            first = process.stdout.readline()
        registry_url = re.search(r"on (http://\S+),", first).group(1)
        gateway_url = f"http://127.0.0.1:{port}"
        wait_for(gateway_url, process)
        client = s3_client(gateway_url)
        client.create_bucket(Bucket="demo")
        client.put_object(Bucket="demo", Key="file", Body=b"right after start")
        assert client.get_object(Bucket="demo", Key="file")["Body"].read() == b"right after start"
        assert (tmp_path / "data" / "index.db").exists()
        assert httpx.get(f"http://127.0.0.1:{management}/readyz").status_code == 200
        process.send_signal(stop)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert "stopped gateway and registry" in output
        assert f"metrics and probes: http://127.0.0.1:{management}/metrics" in output
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{registry_url}/v2/", timeout=2)
        with pytest.raises(httpx.TransportError):
            httpx.get(gateway_url, timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
