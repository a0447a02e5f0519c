"""An open-loop mix of S3 operations at a fixed rate, from a bounded pool of boto3 threads.

Operation i is *scheduled* at ``start + i / rate`` whatever happened to the ones before it;
its latency runs from that scheduled moment to its completion, so a slow gateway shows as
long latencies instead of fewer requests (no coordinated omission). A dispatched operation
waits in a queue when every thread is busy: that is counted (``saturated``) and its wait is
part of its latency. Objects are ``(seed, size)`` bodies of bench/data.py; a GET checks the
length and the seed stamped in the first bytes, so a wrong object is an error too.
"""

from __future__ import annotations

import math
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bench import data
from bench.measure import percentile

KIB = 1 << 10


def parse_weights(text: str, value: Callable[[str], Any] = str) -> dict[Any, float]:
    """``"get=50,put=25"`` -> ``{"get": 50.0, "put": 25.0}`` (keys through ``value``)."""
    weights: dict[Any, float] = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        weights[value(name.strip())] = float(weight)
    if not weights or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"bad weights {text!r}")
    return weights


def parse_size(text: str) -> int:
    units = {"KiB": KIB, "MiB": KIB * KIB, "B": 1}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(float(text.removesuffix(unit)) * factor)
    return int(text)


@dataclass
class Done:
    """One finished operation: times are seconds since the run's start."""

    op: str
    scheduled: float
    started: float
    ended: float
    error: str | None = None
    size: int = 0

    @property
    def latency(self) -> float:
        return self.ended - self.scheduled


class Keys:
    """The objects that exist (acknowledged PUT, no DELETE yet), for GETs and DELETEs to pick
    from. A key being read is not picked for deletion (its GET would fail for the benchmark's
    sake, not the gateway's); a key whose PUT or DELETE failed is ``uncertain``, one whose
    PUT or DELETE has not answered yet is ``in_flight``: either may or may not be listed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._order: list[str] = []
        self._where: dict[str, int] = {}
        self.meta: dict[str, tuple[int, int]] = {}  # key -> (seed, size)
        self._readers: Counter[str] = Counter()
        self.uncertain: set[str] = set()
        self.in_flight: set[str] = set()

    def __len__(self) -> int:
        return len(self._order)

    def add(self, key: str, seed: int, size: int) -> None:
        with self._lock:
            self._where[key] = len(self._order)
            self._order.append(key)
            self.meta[key] = (seed, size)

    def _remove(self, key: str) -> None:
        index = self._where.pop(key)
        last = self._order.pop()
        if last != key:
            self._order[index] = last
            self._where[last] = index
        del self.meta[key]

    def read(self, rng: random.Random) -> tuple[str, int, int] | None:
        with self._lock:
            if not self._order:
                return None
            key = rng.choice(self._order)
            self._readers[key] += 1
            return (key, *self.meta[key])

    def done_reading(self, key: str) -> None:
        with self._lock:
            self._readers[key] -= 1
            if self._readers[key] <= 0:
                del self._readers[key]

    def delete(self, rng: random.Random) -> str | None:
        """Take a key out for deletion: no GET will pick it from now on."""
        with self._lock:
            for _ in range(16):
                if not self._order:
                    return None
                key = rng.choice(self._order)
                if not self._readers[key]:
                    self._remove(key)
                    return key
            return None

    def snapshot(self) -> set[str]:
        with self._lock:
            return set(self._order)


class Workload:
    """The operations themselves, against one bucket; each raises on any failure."""

    def __init__(self, bucket: str, sizes: dict[int, float], keys: Keys) -> None:
        self.bucket = bucket
        self.sizes = list(sizes)
        self.size_weights = list(sizes.values())
        self.keys = keys
        self._next = 0
        self._lock = threading.Lock()

    def new_key(self) -> tuple[str, int]:
        with self._lock:
            self._next += 1
            number = self._next
        return f"obj/{number % 16:x}/{number:08d}", number

    def put(self, client: Any, rng: random.Random) -> int:
        key, seed = self.new_key()
        size = rng.choices(self.sizes, self.size_weights)[0]
        self.keys.in_flight.add(key)
        try:
            client.put_object(Bucket=self.bucket, Key=key, Body=data.whole(seed, size))
        except Exception:
            self.keys.uncertain.add(key)
            raise
        else:
            self.keys.add(key, seed, size)
        finally:
            self.keys.in_flight.discard(key)
        return size

    def get(self, client: Any, rng: random.Random) -> int:
        picked = self.keys.read(rng)
        if picked is None:
            raise LookupError("no object to read")
        key, seed, size = picked
        try:
            body = client.get_object(Bucket=self.bucket, Key=key)["Body"]
            head, received = b"", 0
            for piece in body.iter_chunks(1 << 20):
                if not head:
                    head = piece[:16]
                received += len(piece)
        finally:
            self.keys.done_reading(key)
        if received != size or head != data.whole(seed, min(size, 16)):
            raise ValueError(f"{key}: {received} bytes of {size}, or not its bytes")
        return size

    def list(self, client: Any, rng: random.Random) -> int:
        prefix = f"obj/{rng.randrange(16):x}/"
        page = client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1000)
        return int(page.get("KeyCount", 0))

    def delete(self, client: Any, rng: random.Random) -> int:
        key = self.keys.delete(rng)
        if key is None:
            raise LookupError("no object to delete")
        self.keys.in_flight.add(key)
        try:
            client.delete_object(Bucket=self.bucket, Key=key)
        except Exception:
            self.keys.uncertain.add(key)
            raise
        finally:
            self.keys.in_flight.discard(key)
        return 0


def error_kind(op: str, exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"{op}: {error.get('Code')} (HTTP {status})"
    return f"{op}: {type(exc).__name__}"


@dataclass
class Drive:
    """Run ``ops`` at ``rate`` per second for ``duration`` seconds with ``threads`` threads."""

    workload: Workload
    make_client: Callable[[], Any]
    rate: float
    duration: float
    mix: dict[str, float]
    threads: int
    seed: int = 1
    drain_timeout: float = 120.0  # then what is still queued is dropped (``abandoned``)
    on_start: Callable[[], None] | None = None  # called as the clock starts (the sampler)
    done: list[Done] = field(default_factory=list)
    saturated: int = 0
    dispatched: int = 0
    unfinished: int = 0
    abandoned: int = 0
    first_errors: dict[str, list[str]] = field(default_factory=dict)
    began: float = 0.0

    def run(self) -> None:
        work: queue.Queue[tuple[str, float] | None] = queue.Queue()
        lock = threading.Lock()
        idle = [0]
        operations = {
            "get": self.workload.get,
            "put": self.workload.put,
            "list": self.workload.list,
            "delete": self.workload.delete,
        }
        ready = threading.Barrier(self.threads + 1)
        stop = threading.Event()

        def worker(number: int) -> None:
            client = self.make_client()
            rng = random.Random(self.seed * 1000 + number)
            ready.wait()
            while True:
                with lock:
                    idle[0] += 1
                item = work.get()
                with lock:
                    idle[0] -= 1
                if item is None:
                    client.close()
                    return
                if stop.is_set():  # the drain timed out: the gateway never sees this one
                    with lock:
                        self.abandoned += 1
                    continue
                op, scheduled = item
                started = time.perf_counter() - self.began
                error, size = None, 0
                try:
                    size = operations[op](client, rng)
                except Exception as exc:
                    error = error_kind(op, exc)
                    with lock:
                        seen = self.first_errors.setdefault(error, [])
                        if len(seen) < 3:
                            seen.append(f"{exc}"[:300])
                ended = time.perf_counter() - self.began
                with lock:
                    self.done.append(Done(op, scheduled, started, ended, error, size))

        pool = [
            threading.Thread(target=worker, args=(n,), name=f"soak-{n}", daemon=True)
            for n in range(self.threads)
        ]
        for thread in pool:
            thread.start()
        ready.wait()
        names, weights = list(self.mix), list(self.mix.values())
        choose = random.Random(self.seed)
        total = int(self.rate * self.duration)
        if self.on_start is not None:
            self.on_start()
        self.began = time.perf_counter()
        for index in range(total):
            scheduled = index / self.rate
            delay = scheduled - (time.perf_counter() - self.began)
            if delay > 0:
                time.sleep(delay)
            with lock:
                if idle[0] - work.qsize() <= 0:
                    self.saturated += 1
            work.put((choose.choices(names, weights)[0], scheduled))
            self.dispatched += 1
        for _ in pool:
            work.put(None)
        deadline = time.perf_counter() + self.drain_timeout
        for thread in pool:
            thread.join(timeout=max(0.0, deadline - time.perf_counter()))
        stop.set()
        deadline = time.perf_counter() + 60  # the requests under way when the drain timed out
        for thread in pool:
            thread.join(timeout=max(0.0, deadline - time.perf_counter()))
        with lock:
            self.unfinished = self.dispatched - len(self.done) - self.abandoned


def _latency_summary(records: list[Done]) -> dict[str, Any]:
    good = sorted(r.latency for r in records if r.error is None)
    service = sorted(r.ended - r.started for r in records if r.error is None)
    waits = sorted(r.started - r.scheduled for r in records)
    errors = Counter(r.error for r in records if r.error is not None)

    def ms(values: list[float], fraction: float) -> float:
        value = percentile(values, fraction)
        return round(value * 1000, 2) if not math.isnan(value) else math.nan

    return {
        "n": len(records),
        "errors": sum(errors.values()),
        "p50_ms": ms(good, 0.50),
        "p99_ms": ms(good, 0.99),
        "max_ms": round(good[-1] * 1000, 2) if good else math.nan,
        "service_p50_ms": ms(service, 0.50),
        "service_p99_ms": ms(service, 0.99),
        "queue_wait_p99_ms": ms(waits, 0.99),
        "queue_wait_max_ms": round(waits[-1] * 1000, 2) if waits else math.nan,
    }


def summarize_records(done: list[Done], duration: float, window: float) -> dict[str, Any]:
    """Per operation overall and per ``window`` seconds (by scheduled time): n, errors,
    p50/p99/max latency from the scheduled time, service time, queue wait."""
    ops = sorted({r.op for r in done})
    overall = {op: _latency_summary([r for r in done if r.op == op]) for op in ops}
    overall["all"] = _latency_summary(done)
    windows = []
    for number in range(max(1, math.ceil(duration / window))):
        low, high = number * window, (number + 1) * window
        inside = [r for r in done if low <= r.scheduled < high]
        entry: dict[str, Any] = {"from_s": low, "to_s": min(high, duration)}
        for op in ops:
            entry[op] = _latency_summary([r for r in inside if r.op == op])
        entry["all"] = _latency_summary(inside)
        windows.append(entry)
    errors = Counter(r.error for r in done if r.error is not None)
    return {
        "completed": len(done),
        "completed_per_s": round(len(done) / duration, 2) if duration else math.nan,
        "bytes": {
            op: sum(r.size for r in done if r.op == op and r.error is None) for op in ("get", "put")
        },
        "errors_total": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "overall": overall,
        "windows": windows,
    }


def summarize(drive: Drive, window: float) -> dict[str, Any]:
    """The records' summary, with what the scheduler saw: dispatched, unfinished, saturated."""
    result = summarize_records(drive.done, drive.duration, window)
    result["errors_total"] += drive.unfinished + drive.abandoned
    return {
        "dispatched": drive.dispatched,
        "unfinished": drive.unfinished,
        "abandoned": drive.abandoned,
        "saturated_dispatches": drive.saturated,
        **result,
        "first_errors": drive.first_errors,
    }
