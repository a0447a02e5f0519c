"""What a long run does to the processes under test: RSS and open file descriptors of the
gateway's process tree (supervisor and workers) and of the registry, sampled every few seconds
with the machine's load average, and whether they stay flat (a least-squares slope over the
run's second half, where caches have filled and only a leak still grows)."""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
import time
from collections import Counter
from typing import Any

import psutil

MIB = 1 << 20


def _fd_kind(target: str) -> str:
    """What an fd is, coarsely: ``socket``, ``pipe``, ``anon_inode:[eventpoll]``, or for a
    file its name with digits and hex runs folded (``index.db-wal``, ``<hex>.lock``)."""
    if target.startswith(("socket:", "pipe:")):
        return target.split(":")[0]
    if target.startswith("anon_inode:"):
        return target
    name = os.path.basename(target)
    return re.sub(r"\d+", "N", re.sub(r"[0-9a-f]{16,}", "<hex>", name)) if name else target


def _fd_kinds(pid: int) -> Counter[str]:
    kinds: Counter[str] = Counter()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return kinds
    for name in names:
        try:
            kinds[_fd_kind(os.readlink(f"/proc/{pid}/fd/{name}"))] += 1
        except OSError:
            continue  # closed since the listing
    return kinds


def _memory_kinds(process: psutil.Process) -> dict[str, float]:
    """RSS (MiB) by mapping: ``[heap]`` (the main thread's malloc arena), ``[anon]`` (other
    threads' arenas, big allocations, the interpreter's own pools) and mapped ``files``."""
    kinds: Counter[str] = Counter()
    for mapping in process.memory_maps(grouped=True):
        path = mapping.path or "[anon]"
        kinds[path if path.startswith("[") else "files"] += mapping.rss
    return {k: round(v / MIB, 2) for k, v in kinds.items() if k in ("[heap]", "[anon]", "files")}


def _process_sample(process: psutil.Process) -> dict[str, Any] | None:
    try:
        with process.oneshot():
            times = process.cpu_times()
            states = Counter(c.status for c in process.net_connections(kind="tcp"))
            return {
                "pid": process.pid,
                "rss": int(process.memory_info().rss),
                "fds": process.num_fds(),
                "kinds": _fd_kinds(process.pid),
                "tcp": states,
                "threads": process.num_threads(),
                "cpu_s": times.user + times.system,
            }
    except psutil.Error:
        return None  # it exited between listing and sampling


def tree_sample(pid: int, tree: bool = True) -> dict[str, Any]:
    """RSS (MiB), fds (all, and those that are not sockets), TCP connections by state and
    CPU seconds so far, summed over ``pid`` and (``tree``) every process under it; and each
    process's own RSS and fds: a worker that grows shows as itself, not only in the sum."""
    try:
        root = psutil.Process(pid)
        processes = [root, *(root.children(recursive=True) if tree else [])]
    except psutil.Error:
        return {"rss_mib": 0.0, "fds": 0, "processes": []}
    found = [sample for p in processes if (sample := _process_sample(p)) is not None]
    states: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for sample in found:
        states.update(sample["tcp"])
        kinds.update(sample["kinds"])
    fds = sum(s["fds"] for s in found)
    memory: dict[int, dict[str, float]] = {}
    for process in processes:
        with contextlib.suppress(psutil.Error):
            memory[process.pid] = _memory_kinds(process)
    return {
        "rss_mib": round(sum(s["rss"] for s in found) / MIB, 2),
        "fds": fds,
        "fds_not_sockets": fds - kinds["socket"],
        "fd_kinds": dict(kinds.most_common()),
        "tcp": dict(sorted(states.items())),
        "threads": sum(s["threads"] for s in found),
        "cpu_s": round(sum(s["cpu_s"] for s in found), 2),
        "processes": [
            {
                "pid": s["pid"],
                "rss_mib": round(s["rss"] / MIB, 2),
                "fds": s["fds"],
                "memory_mib": memory.get(s["pid"], {}),
            }
            for s in found
        ],
    }


class Sampler:
    """A thread that records, every ``interval`` seconds from ``start()``, the gateway tree,
    the registry process and ``os.getloadavg()``; ``t`` is seconds since ``start()``."""

    def __init__(self, gateway_pid: int, registry_pid: int, interval: float) -> None:
        self.gateway_pid = gateway_pid
        self.registry_pid = registry_pid
        self.interval = interval
        self.samples: list[dict[str, Any]] = []
        self.began = 0.0
        self.wall_began = 0.0  # time.time() at start(), to place other clocks' events
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def sample(self) -> dict[str, Any]:
        entry = {
            "t": round(time.perf_counter() - self.began, 2),
            "loadavg": [round(v, 2) for v in os.getloadavg()],
            "gateway": tree_sample(self.gateway_pid),
            "registry": tree_sample(self.registry_pid, tree=False),
        }
        self.samples.append(entry)
        return entry

    def start(self) -> None:
        self.began, self.wall_began = time.perf_counter(), time.time()
        self.sample()
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def stop(self, idle: float = 0.0) -> None:
        """Stop sampling; the last sample is taken ``idle`` seconds later (after the server's
        keep-alive has closed the clients' connections): what the load left behind."""
        self._stop.set()
        self._thread.join(timeout=10)
        time.sleep(idle)
        self.sample()["idle"] = True


def slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of y over x and its standard error ((0, 0) for too few points):
    a slope within about two standard errors of 0 is noise, not growth."""
    if len(points) < 3:
        return 0.0, 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0, 0.0
    fitted = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    residuals = sum((y - mean_y - fitted * (x - mean_x)) ** 2 for x, y in points)
    return fitted, math.sqrt(residuals / (len(points) - 2) / spread)


def trend(
    samples: list[dict[str, Any]],
    process: str,
    field: str,
    since: float,
    until: float,
    limit_per_min: float,
) -> dict[str, Any]:
    """``field`` of ``process`` ("gateway"/"registry") up to ``until`` (the end of the load):
    first and last value, min/max, and the slope per minute fitted to the samples in
    [since, until]; ``flat`` when that slope's magnitude is at most ``limit_per_min``.
    ``after`` is the last sample, taken once the clients have finished and closed."""
    series = [(s["t"], float(s[process][field])) for s in samples]
    during = [(t, value) for t, value in series if t <= until]
    fitted = [(t, value) for t, value in during if t >= since]
    per_min, error = slope([(t / 60, value) for t, value in fitted])
    values = [value for _, value in during]
    return {
        "start": during[0][1] if during else None,
        "end": during[-1][1] if during else None,
        "after": series[-1][1] if series else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "fit_window_s": [round(since, 1), round(until, 1)],
        "fit_samples": len(fitted),
        "slope_per_min": round(per_min, 4),
        "slope_stderr_per_min": round(error, 4),
        "fitted_change_over_window": round(per_min * (until - since) / 60, 2),
        "flat_limit_per_min": limit_per_min,
        "flat": abs(per_min) <= limit_per_min,
    }
