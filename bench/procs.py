"""The processes under test: the gateway (a separate process, as deployed) and a monitor
that samples its RSS every 50 ms and the CPU time of gateway, registry and benchmark."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from tests.fixtures.processes import GatewayProcess as Gateway
from tests.fixtures.processes import start_gateway as start_gateway_process
from tests.fixtures.registries import RunningRegistry

ACCESS_KEY = "bench-root"
SECRET_KEY = "bench-root-secret"  # a throwaway credential of the benchmark
MIB = 1 << 20


def start_gateway(
    registry: RunningRegistry,
    data_dir: Path,
    port: int,
    prefix: list[str] | None = None,
    env: dict[str, str] | None = None,
    ready_timeout: float = 60,
) -> Gateway:
    """``python -m gateway ... serve``; ``prefix`` wraps it (e.g. a profiler's command line)."""
    return start_gateway_process(
        registry,
        data_dir,
        port,
        (ACCESS_KEY, SECRET_KEY),
        prefix=prefix,
        env=env,
        ready_seconds=ready_timeout,
    )


class ProcessTree:
    """A process, with (``tree``) everything under it: the gateway's wrapper (a profiler)
    and its ``--workers`` processes. CPU is summed over the tree; RSS is the largest single
    process's, as each worker is bounded on its own."""

    def __init__(self, pid: int, tree: bool = True) -> None:
        self.root = psutil.Process(pid)
        self.tree = tree

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *(self.root.children(recursive=True) if self.tree else [])]
        except psutil.Error:
            return [self.root]

    def cpu(self) -> float:
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total

    def rss(self) -> int:
        largest = 0
        for process in self.processes():
            try:
                largest = max(largest, int(process.memory_info().rss))
            except psutil.Error:
                continue
        return largest


def _busy() -> float:
    """CPU seconds the whole machine spent busy so far (all CPUs)."""
    times = psutil.cpu_times()
    fields = ("user", "nice", "system", "irq", "softirq")
    return float(sum(getattr(times, name, 0.0) for name in fields))


class Monitor:
    """Peak RSS of the gateway per phase (sampled every 50 ms), CPU seconds per process."""

    def __init__(self, gateway_pid: int, registry_pid: int, interval: float = 0.05) -> None:
        self.gateway = ProcessTree(gateway_pid)
        self.registry = ProcessTree(registry_pid, tree=False)
        self.bench = ProcessTree(os.getpid(), tree=False)
        self.interval = interval
        self.phases: dict[str, dict[str, Any]] = {}
        self._peak = 0
        self._registry_peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self, process: ProcessTree) -> int:
        return process.rss()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss, registry_rss = self._sample(self.gateway), self._sample(self.registry)
            with self._lock:
                self._peak = max(self._peak, rss)
                self._registry_peak = max(self._registry_peak, registry_rss)

    def rss_now(self) -> int:
        return self._sample(self.gateway)

    @contextmanager
    def phase(self, name: str) -> Iterator[dict[str, Any]]:
        """Measure one phase; the yielded dict is the phase's record (callers may add to it)."""
        start_rss = self.rss_now()
        with self._lock:
            self._peak = start_rss
            self._registry_peak = self._sample(self.registry)
        cpu = [p.cpu() for p in (self.gateway, self.registry, self.bench)]
        busy = _busy()
        began = time.perf_counter()
        record: dict[str, Any] = {}
        self.phases[name] = record
        try:
            yield record
        finally:
            wall = time.perf_counter() - began
            after = [p.cpu() for p in (self.gateway, self.registry, self.bench)]
            ours = sum(after) - sum(cpu)
            other = max(0.0, _busy() - busy - ours)
            with self._lock:
                peak, registry_peak = max(self._peak, self.rss_now()), self._registry_peak
            record.update(
                wall_s=round(wall, 3),
                gateway_rss_start_mib=round(start_rss / MIB, 1),
                gateway_rss_peak_mib=round(peak / MIB, 1),
                registry_rss_peak_mib=round(registry_peak / MIB, 1),
                cpu_s={
                    "gateway": round(after[0] - cpu[0], 2),
                    "registry": round(after[1] - cpu[1], 2),
                    "bench": round(after[2] - cpu[2], 2),
                    # everything else on the machine (kernel work for our I/O included):
                    # a big value means the phase shared the CPUs with something else
                    "other": round(other, 2),
                },
            )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
