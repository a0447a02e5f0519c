"""Timing helpers: latency summaries and a pool of client threads."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

MB = 1_000_000  # throughput is in MB/s (10^6 bytes per second)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted ``values``."""
    if not values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def summary(
    latencies: Iterable[float],
    *,
    wall: float | None = None,
    bytes_per_op: int | None = None,
    errors: int = 0,
) -> dict[str, Any]:
    """n, p50/p99/max in ms, ops/s and MB/s over ``wall`` (default: the sum of latencies,
    i.e. one client doing the operations back to back)."""
    ordered = sorted(latencies)
    total = wall if wall is not None else sum(ordered)
    result: dict[str, Any] = {
        "n": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else math.nan,
        "ops_per_s": round(len(ordered) / total, 1) if total else math.nan,
    }
    if bytes_per_op is not None and total:
        result["mb_per_s"] = round(len(ordered) * bytes_per_op / total / MB, 1)
    if errors:
        result["errors"] = errors
    return result


def sequential(operation: Callable[[int], None], count: int) -> list[float]:
    """Run ``operation(i)`` for i in range(count) back to back; return each latency."""
    latencies = []
    for index in range(count):
        began = time.perf_counter()
        operation(index)
        latencies.append(time.perf_counter() - began)
    return latencies


class Pool:
    """``workers`` threads, each with its own client from ``make_client``, share ``count``
    operations ``operation(client, i)``. Returns latencies, errors and the wall time from
    the moment all threads are ready to the last completion."""

    def __init__(self, workers: int, make_client: Callable[[], Any]) -> None:
        self.workers = workers
        self.make_client = make_client
        self.first_errors: list[str] = []

    def run(
        self, operation: Callable[[Any, int], None], count: int
    ) -> tuple[list[float], list[float], int, float]:
        """(latencies, completion times relative to start, errors, wall seconds)."""
        clients = [self.make_client() for _ in range(self.workers)]
        lock = threading.Lock()
        next_index = iter(range(count))
        latencies: list[float] = []
        finished: list[float] = []
        errors = 0
        ready = threading.Barrier(self.workers + 1)
        began = 0.0

        def worker(client: Any) -> None:
            nonlocal errors
            ready.wait()
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                start = time.perf_counter()
                try:
                    operation(client, index)
                except Exception as exc:
                    with lock:
                        errors += 1
                        if len(self.first_errors) < 5:
                            self.first_errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    continue
                end = time.perf_counter()
                with lock:
                    latencies.append(end - start)
                    finished.append(end)

        threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
        for thread in threads:
            thread.start()
        ready.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = (max(finished) if finished else time.perf_counter()) - began
        for client in clients:
            close = getattr(client, "close", None)
            if close is not None:
                close()
        return latencies, sorted(t - began for t in finished), errors, wall


def windows(completions: Sequence[float], parts: int = 10) -> list[float]:
    """Operations per second in each of ``parts`` equal slices of the operations, in order:
    a rate that falls from the first slice to the last grew slower as the data grew."""
    if len(completions) < parts * 2:
        return []
    size = len(completions) // parts
    rates, previous = [], 0.0
    for part in range(parts):
        end = completions[(part + 1) * size - 1]
        rates.append(round(size / (end - previous), 1) if end > previous else math.nan)
        previous = end
    return rates
