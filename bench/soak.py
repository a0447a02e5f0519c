"""The soak run (issue 15, item 7): Zot and the gateway started as ``bench.run`` starts them,
then a fixed-rate mix of GET, PUT, LIST and DELETE for minutes, open loop, while the gateway's
and Zot's RSS and open file descriptors are sampled. Not a test: it writes
``bench/results/<date>-soak-<label>.json`` for docs/performance.md ("Soak") to cite.

    .venv/bin/python -m bench.soak --minutes 10 --rate 10          # boto3 threads, open loop
    .venv/bin/python -m bench.soak --minutes 1 --rate 10 --label trial
    .venv/bin/python -m bench.soak --driver warp --minutes 10 --rate 10  # warp mixed, closed loop

Verdicts in the file: errors (must be 0), every acknowledged object listed and no deleted one
(``consistency``), and gateway RSS and fds flat (|slope| over the second half within limits).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import clients, soak_trace
from bench import soak_warp as warp_driver
from bench.measure import Pool
from bench.procs import start_gateway
from bench.resources import Sampler, trend
from bench.run import RESULTS, log, log_problems, machine
from bench.soak_load import Drive, Keys, Workload, parse_size, parse_weights, summarize
from tests.fixtures.processes import ROOT
from tests.fixtures.registries import free_port, start

BUCKET = "soak"
ACCESS_LOGGER = "gateway.request"  # the logger of the gateway's JSON access line
EXCEPTION = re.compile(r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception)): (?P<message>.*)$")


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The gateway's JSON log lines (its log is a file, so ``log_format=auto`` writes JSON)."""
    with contextlib.suppress(OSError), path.open(errors="replace") as lines:
        for line in lines:
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if isinstance(record, dict):
                        yield record


def exceptions(path: Path) -> dict[str, int]:
    """The last line of each logged traceback (``sqlite3.OperationalError: database is
    locked``), counted: what the 5xx answers were."""
    counts: Counter[str] = Counter()
    for record in _records(path):
        lines = str(record.get("exc_info") or "").strip().splitlines()
        match = EXCEPTION.match(lines[-1]) if lines else None
        if match:
            counts[f"{match['name']}: {match['message'][:200]}"] += 1
    return dict(counts.most_common(20))


def access_statuses(path: Path) -> dict[str, int]:
    """``METHOD status`` -> count, from the gateway's access lines."""
    counts: Counter[str] = Counter(
        f"{record.get('method')} {record.get('status')}"
        for record in _records(path)
        if record.get("logger") == ACCESS_LOGGER
    )
    return dict(sorted(counts.items()))


def consistency(client: Any, keys: Keys) -> dict[str, Any]:
    """Every acknowledged object is listed, and nothing deleted or never written is; keys
    whose PUT or DELETE failed, or had not answered yet, may be either."""
    under_way = set(keys.in_flight)  # requests still running after a drain that timed out
    listed: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        listed.update(item["Key"] for item in page.get("Contents", []))
    expected = keys.snapshot()
    unsure = keys.uncertain | under_way | keys.in_flight
    missing = sorted(expected - listed - unsure)
    unexpected = sorted(listed - expected - unsure)
    return {
        "expected": len(expected),
        "listed": len(listed),
        "uncertain": len(keys.uncertain),
        "in_flight": len(under_way | keys.in_flight),
        "missing": len(missing),
        "unexpected": len(unexpected),
        "first_missing": missing[:5],
        "first_unexpected": unexpected[:5],
        "ok": not missing and not unexpected,
    }


def resource_trends(
    samples: list[dict[str, Any]], since: float, until: float, args: argparse.Namespace
) -> dict[str, Any]:
    loads = [s["loadavg"][0] for s in samples]
    during = [s for s in samples if s["t"] <= until]

    def cores(process: str) -> float:
        spent = during[-1][process]["cpu_s"] - during[0][process]["cpu_s"]
        return round(spent / (during[-1]["t"] - during[0]["t"]), 3)

    return {
        "gateway_rss_mib": trend(samples, "gateway", "rss_mib", since, until, args.flat_rss),
        "gateway_fds": trend(samples, "gateway", "fds", since, until, args.flat_fds),
        "gateway_fds_not_sockets": trend(
            samples, "gateway", "fds_not_sockets", since, until, args.flat_fds
        ),
        "registry_rss_mib": trend(samples, "registry", "rss_mib", since, until, args.flat_rss),
        "registry_fds": trend(samples, "registry", "fds", since, until, args.flat_fds),
        "cpu_cores_used": {"gateway": cores("gateway"), "registry": cores("registry")},
        "loadavg_1m": {
            "start": loads[0],
            "end": loads[-1],
            "min": min(loads),
            "max": max(loads),
            "mean": round(sum(loads) / len(loads), 2),
        },
    }


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Indented JSON, but one line per resource sample (hundreds of them)."""
    rest = {k: v for k, v in report.items() if k != "samples"}
    samples = ",\n  ".join(json.dumps(s, separators=(",", ":")) for s in report["samples"])
    text = json.dumps(rest, indent=1)
    path.write_text(f'{text[:-2]},\n "samples": [\n  {samples}\n ]\n}}\n')


def preload(workload: Workload, url: str, count: int) -> None:
    """Objects for the first GETs and DELETEs, before the clock starts."""
    pool = Pool(4, lambda: clients.s3_client(url, attempts=1))

    def put(client: Any, index: int) -> None:
        workload.put(client, random.Random(index))

    _, _, errors, _ = pool.run(put, count)
    if errors:
        raise RuntimeError(f"preload: {errors} PUTs failed: {pool.first_errors}")


def drive_boto3(args: argparse.Namespace, url: str, sampler: Sampler) -> dict[str, Any]:
    keys = Keys()
    workload = Workload(BUCKET, parse_weights(args.sizes, parse_size), keys)
    setup = clients.s3_client(url)
    setup.create_bucket(Bucket=BUCKET)
    log(f"preloading {args.preload} objects")
    preload(workload, url, args.preload)
    time.sleep(args.idle_seconds)  # the first sample: the gateway idle, the preload's sockets gone
    drive = Drive(
        workload=workload,
        # no retries: every error the gateway answers counts
        make_client=lambda: clients.s3_client(url, pool=2, attempts=1),
        rate=args.rate,
        duration=args.minutes * 60,
        mix=parse_weights(args.mix),
        threads=args.threads,
        seed=args.seed,
        on_start=sampler.start,
    )
    log(f"driving {args.rate}/s for {args.minutes} min, {args.threads} threads, mix {args.mix}")
    drive.run()
    sampler.stop(idle=args.idle_seconds)
    log("checking the bucket's listing against the acknowledged objects")
    result = summarize(drive, args.window)
    result["consistency"] = consistency(setup, keys)
    setup.close()
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="operations per second")
    parser.add_argument("--driver", choices=["boto3", "warp"], default="boto3")
    parser.add_argument(
        "--mix",
        default="get=50,put=25,list=15,delete=10",
        help="operation weights (boto3 driver; warp has STAT instead of LIST)",
    )
    parser.add_argument(
        "--sizes",
        default="4KiB=40,64KiB=30,256KiB=20,1MiB=10",
        help="PUT size weights (boto3 driver; warp: --obj.randsize up to the largest)",
    )
    parser.add_argument("--threads", type=int, default=16, help="client threads (the pool)")
    parser.add_argument("--preload", type=int, default=200, help="objects before the clock")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample-seconds", type=float, default=2.0)
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=15.0,
        help="wait before the first and the last sample, longer than uvicorn's 5 s keep-alive",
    )
    parser.add_argument("--window", type=float, default=60.0, help="latency window, seconds")
    parser.add_argument(
        "--flat-rss",
        type=float,
        default=1.0,
        help="RSS is flat when |slope| over the second half <= this, MiB/min (default 1.0)",
    )
    parser.add_argument(
        "--flat-fds",
        type=float,
        default=1.0,
        help="fds are flat when |slope| over the second half <= this, per min (default 1.0)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="gateway worker processes (default: the machine's cores, as bench.run)",
    )
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the gateway (e.g. ARTIFACT_STORE_BLOB_CACHE_MIB=0); repeatable",
    )
    parser.add_argument(
        "--log-level", default="info", help="the gateway's log level (default: its own, info)"
    )
    parser.add_argument(
        "--tracemalloc",
        type=float,
        metavar="SECONDS",
        help="trace the gateway's Python allocations, a snapshot every SECONDS "
        "(bench/soak_trace.py); slows the gateway",
    )
    parser.add_argument("--label", default="run", help="results file: <date>-soak-<label>.json")
    parser.add_argument("--out", type=Path, help="results file (overrides --label)")
    parser.add_argument("--work-dir", type=Path, help="where registry and index live (temp)")
    parser.add_argument("--keep-work", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = args.out or RESULTS / f"{time.strftime('%Y-%m-%d')}-soak-{args.label}.json"
    work = Path(tempfile.mkdtemp(prefix="artifact-soak-", dir=args.work_dir))
    began = time.perf_counter()
    loadavg_before = [round(v, 2) for v in os.getloadavg()]
    registry = start(work / "registry")
    env = {"ARTIFACT_STORE_WORKERS": str(args.workers), "ARTIFACT_STORE_LOG_LEVEL": args.log_level}
    for setting in args.gateway_env:
        name, equals, value = setting.partition("=")
        if not equals or not name:
            raise SystemExit(f"--gateway-env takes NAME=VALUE, not {setting!r}")
        env[name] = value
    if args.tracemalloc:
        # tracing starts when the gateway is up, before the preload (it starts within minutes)
        env.update(soak_trace.environment(work, args.tracemalloc, start=args.tracemalloc))
    gateway = None
    try:
        # a loaded machine imports slowly: the supervisor and each worker import the gateway
        gateway = start_gateway(registry, work / "gateway", free_port(), env=env, ready_timeout=300)
        log(f"registry {registry.kind} on {registry.url}; gateway pid {gateway.process.pid}")
        sampler = Sampler(gateway.process.pid, registry.process.pid, args.sample_seconds)
        if args.driver == "boto3":
            result = drive_boto3(args, gateway.url, sampler)
        else:
            result = warp_driver.run(args, gateway.url, sampler, work / "warp")
    finally:
        if gateway is not None:
            gateway.stop()
        registry.stop()
    load_from, load_to = result.get("load_window_s", [0.0, args.minutes * 60])
    resources = resource_trends(sampler.samples, (load_from + load_to) / 2, load_to, args)
    errors = result.get("errors_total", 0)
    traced = None
    if args.tracemalloc:
        log("comparing tracemalloc snapshots")
        traced = soak_trace.analyse(work, sampler.wall_began, (load_from + load_to) / 2)
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([".venv/bin/python -m bench.soak", *(argv or sys.argv[1:])]),
        "duration_s": round(time.perf_counter() - began, 1),
        "machine": {
            **machine(registry),
            "gateway_workers": args.workers,
            "loadavg_before": loadavg_before,
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        },
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "verdict": {
            "errors": errors,
            "consistent": result.get("consistency", {}).get("ok"),
            "gateway_rss_flat": resources["gateway_rss_mib"]["flat"],
            "gateway_fds_flat": resources["gateway_fds"]["flat"],
        },
        "load": result,
        "resources": resources,
        "gateway_log": {
            **log_problems(gateway.log_path),
            "access_statuses": access_statuses(gateway.log_path),
            "exceptions": exceptions(gateway.log_path),
        },
        "samples": sampler.samples,
    }
    if traced is not None:
        report["tracemalloc"] = {"supervisor_pid": str(gateway.process.pid), "by_pid": traced}
    out.parent.mkdir(parents=True, exist_ok=True)
    write_report(out, report)
    if args.keep_work:
        log(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps({"verdict": report["verdict"], "overall": result.get("overall")}, indent=1))
    shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"wrote {shown} in {report['duration_s']} s")
    verdict = report["verdict"]
    healthy = verdict["consistent"] is not False and verdict["gateway_rss_flat"]
    return 0 if errors == 0 and healthy and verdict["gateway_fds_flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
