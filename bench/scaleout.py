"""Scale-out throughput: 1 MiB PUT and GET through HAProxy with 1 or 2 gateways over 1 or 3
Zot members (S3 storage on versitygw, Redis cache, PostgreSQL index): the profile of
tests/fixtures/scale_out.py at each size, one after the other in one run, so that the ratios
compare like with like. CPU seconds per request for each component (psutil, per process),
and the machine's busy CPU that none of them used ("foreign": other jobs on this machine).
docs/performance.md ("Scale-out") reads the results and models N gateways x M members.

    .venv/bin/python -m bench.scaleout --out bench/results/<date>-scaleout.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from bench.clients import ACCESS_KEY, SECRET_KEY, gateway_get, s3_client
from bench.measure import Pool, summary
from tests.fixtures.postgres import create_database, postgres_server
from tests.fixtures.registries import free_port
from tests.fixtures.scale_out import ScaleOut, scale_out

SIZE = 1 << 20
SHAPES = [(1, 1), (2, 1), (1, 3), (2, 3)]  # (gateways, members)


def _busy() -> float:
    times = psutil.cpu_times()
    return float(sum(getattr(times, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq")))


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _postgres_cpu(postmaster: int) -> float:
    """The server's CPU so far: the postmaster's own, its ended (reaped) backends' and its
    live ones' (backends come and go with connections)."""
    try:
        main = psutil.Process(postmaster)
        times = main.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        return total + _cpu([child.pid for child in main.children()])
    except psutil.NoSuchProcess:
        return 0.0


def _postmaster(port: int) -> int:
    for connection in psutil.net_connections("tcp"):
        listening = connection.status == "LISTEN" and connection.pid is not None
        if listening and connection.laddr and connection.laddr.port == port:
            return int(connection.pid)  # type: ignore[arg-type]
    raise RuntimeError(f"no PostgreSQL listening on {port}")


def components(stack: ScaleOut) -> dict[str, list[int]]:
    extra = {Path(p.log_path).stem: [p.process.pid] for p in stack.cluster.extra}
    return {
        "gateways": [g.process.pid for g in stack.gateways if g is not None],
        "zot": [m.process.pid for m in stack.cluster.members if m is not None],
        "versitygw": extra.get("versitygw", []),
        "redis": extra.get("redis", []),
        "haproxy": [stack.haproxy.pid],
        "bench": [os.getpid()],
    }


def measure(
    stack: ScaleOut, name: str, operation: Callable[[Any, int], None], count: int, workers: int
) -> dict[str, Any]:
    pids = components(stack)
    postmaster = _postmaster(int(stack.database_url.rsplit(":", 1)[1].split("/")[0]))
    before = {part: _cpu(ids) for part, ids in pids.items()}
    before["postgres"] = _postgres_cpu(postmaster)
    busy = _busy()
    pool = Pool(workers, lambda: s3_client(stack.url, pool=workers))
    latencies, _finished, errors, wall = pool.run(operation, count)
    after = {part: _cpu(ids) for part, ids in pids.items()}
    after["postgres"] = _postgres_cpu(postmaster)
    used = {part: after[part] - before[part] for part in before}
    done = max(len(latencies), 1)
    record = summary(latencies, wall=wall, bytes_per_op=SIZE, errors=errors)
    record["cpu_ms_per_request"] = {part: round(1000 * s / done, 2) for part, s in used.items()}
    own = sum(used.values())
    # /proc/stat counts every CPU of the host, not only this machine's 2: "foreign" is the
    # host's other work too, a measure of how loaded the figures are, not a cost of ours
    record["foreign_cpu_ms_per_request"] = round(1000 * max(0.0, _busy() - busy - own) / done, 2)
    record["busy_cores"] = round((_busy() - busy) / wall, 2) if wall else None
    if pool.first_errors:
        record["first_errors"] = pool.first_errors
    print(f"  {name}: {json.dumps(record)}", flush=True)
    return record


def run_shape(
    postgres_url: str, gateways: int, members: int, count: int, workers: int
) -> dict[str, Any]:
    database = create_database(postgres_url, f"bench_{gateways}g{members}m_{int(time.time())}")
    with tempfile.TemporaryDirectory(prefix="scaleout-bench-") as directory:
        root = Path(directory)
        with scale_out(
            root,
            free_port(),
            (ACCESS_KEY, SECRET_KEY),
            database,
            gateways=gateways,
            members=members,
        ) as stack:
            client = s3_client(stack.url)
            bucket = "bench"
            client.create_bucket(Bucket=bucket)
            body = os.urandom(SIZE)

            def put(c: Any, index: int) -> None:
                c.put_object(Bucket=bucket, Key=f"o/{index}", Body=body)

            def get(c: Any, index: int) -> None:
                gateway_get(c, bucket, f"o/{index}", SIZE)

            print(f"{gateways} gateway(s) x {members} member(s)", flush=True)
            return {
                "gateways": gateways,
                "members": members,
                "put": measure(stack, "put", put, count, workers),
                "get": measure(stack, "get", get, count, workers),
            }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="operations per phase")
    parser.add_argument("--workers", type=int, default=8, help="concurrent clients")
    parser.add_argument("--out", type=Path, default=Path("bench/results/scaleout-latest.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": psutil.cpu_count(), "platform": platform.platform()},
        "size": SIZE,
        "count": args.count,
        "workers": args.workers,
        "load_before": os.getloadavg(),
        "shapes": [],
    }
    with postgres_server() as postgres_url:
        for gateways, members in SHAPES:
            results["shapes"].append(
                run_shape(postgres_url, gateways, members, args.count, args.workers)
            )
    results["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
