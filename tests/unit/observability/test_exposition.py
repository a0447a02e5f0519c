"""/metrics' body: this process's registry, or the sum of worker processes' files
(prometheus_client multiprocess mode), in the format the scraper asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.observability import exposition, metrics

ROOT = Path(__file__).resolve().parents[3]
WORKER = """
import os
from gateway.observability import metrics
metrics.observe_request("s3", "PutObject", 200, 0.1, 5, 0)
metrics.HTTP_IN_FLIGHT.labels("s3").inc()  # still in flight when the process ends
print(os.getpid())
"""


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def run_worker(directory: Path) -> int:
    """A process started after ``share``, as the supervisor starts a worker."""
    done = subprocess.run(
        [sys.executable, "-c", WORKER],
        env={**os.environ, exposition.ENVIRONMENT: str(directory)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_one_process_exposes_its_own_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(exposition.ENVIRONMENT, raising=False)
    metrics.observe_request("api", "ExpositionProbe", 200, 0.01, 0, 0)
    body, content_type = exposition.exposition("text/plain")
    assert content_type.startswith("text/plain; version=0.0.4")
    key = (
        "artifact_store_http_requests_total",
        (("operation", "ExpositionProbe"), ("protocol", "api"), ("status", "2xx")),
    )
    assert samples(body)[key] >= 1
    assert b"process_cpu_seconds_total" in body  # a single process reports its own


def test_openmetrics_when_asked() -> None:
    body, content_type = exposition.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


def test_worker_processes_add_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"an earlier run's")
    monkeypatch.setenv(exposition.ENVIRONMENT, "recorded, so that it is restored")
    exposition.share(directory)
    assert os.environ[exposition.ENVIRONMENT] == str(directory)
    assert list(directory.iterdir()) == []  # an earlier run's values do not count
    first, second = run_worker(directory), run_worker(directory)

    body, _ = exposition.exposition(None)
    found = samples(body)
    put = (("operation", "PutObject"), ("protocol", "s3"))
    assert found[("artifact_store_http_requests_total", (*put, ("status", "2xx")))] == 2
    assert found[("artifact_store_received_bytes_total", put)] == 10
    assert found[("artifact_store_http_request_duration_seconds_count", put)] == 2
    in_flight = ("artifact_store_http_requests_in_flight", (("protocol", "s3"),))
    assert found[in_flight] == 2
    assert b"process_cpu_seconds_total" not in body  # per-process collectors do not add up

    exposition.process_gone(first)  # its in-flight count goes, its counters stay
    after = samples(exposition.exposition(None)[0])
    assert after[in_flight] == 1
    assert after[("artifact_store_http_requests_total", (*put, ("status", "2xx")))] == 2
    exposition.process_gone(second)
    assert samples(exposition.exposition(None)[0]).get(in_flight, 0) == 0


def test_process_gone_without_workers_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(exposition.ENVIRONMENT, raising=False)
    exposition.process_gone(12345)
