"""The soak's second driver: MinIO warp's ``mixed`` benchmark (warp v1.6.1, built by
scripts/clients/install.sh warp) against the same gateway, rate-limited with ``--rps-limit``.

warp is closed loop: ``--concurrent`` clients each wait for their answer, ``--rps-limit``
caps the total rate, and latencies run from each request's send (so a stall delays the next
requests instead of lengthening their latency, unlike the boto3 driver). Its mix has STAT
(HeadObject) where ours has LIST; sizes are random up to the largest of ``--sizes``.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.procs import ACCESS_KEY, SECRET_KEY
from bench.resources import Sampler
from bench.run import log
from bench.soak_load import Done, parse_size, parse_weights, summarize_records
from tests.fixtures.processes import ROOT

WARP_OPS = {"get": "GET", "stat": "STAT", "put": "PUT", "delete": "DELETE"}


def executable() -> str:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "clients" / "install.sh"), "warp"],
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def _mix(args: argparse.Namespace) -> dict[str, float]:
    """Our mix in warp's terms: LIST's share goes to STAT."""
    ours = parse_weights(args.mix)
    return {
        "get": ours.get("get", 0),
        "stat": ours.get("list", 0) + ours.get("stat", 0),
        "put": ours.get("put", 0),
        "delete": ours.get("delete", 0),
    }


def _seconds(stamp: str) -> float:
    """warp's RFC 3339 UTC time with nanoseconds -> Unix seconds."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    moment = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.timestamp() + float(f"0.{fraction or 0}")


def records(csv_zst: Path, origin: float) -> list[Done]:
    """Every request warp made in its measured phase (``--full``: one CSV row each), times in
    seconds since ``origin`` (Unix time); closed loop, so scheduled == started."""
    text = subprocess.run(
        ["zstd", "-dc", str(csv_zst)], capture_output=True, text=True, check=True
    ).stdout
    done = []
    for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
        if not row.get("start"):
            continue  # the file's last line is not a request
        started = _seconds(row["start"]) - origin
        ended = started + int(row["duration_ns"]) / 1e9
        error = f"{row['op'].lower()}: {row['error'][:200]}" if row["error"] else None
        done.append(Done(row["op"].lower(), started, started, ended, error, int(row["bytes"])))
    return done


def run(args: argparse.Namespace, url: str, sampler: Sampler, home: Path) -> dict[str, Any]:
    home.mkdir(parents=True, exist_ok=True)
    mix = _mix(args)
    largest = max(parse_weights(args.sizes, parse_size))
    duration = int(args.minutes * 60)
    # fmt: off
    command = [
        executable(), "mixed",
        "--host", url.removeprefix("http://"),
        "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
        "--bucket", "soak-warp", "--noclear",
        "--concurrent", str(args.threads), "--rps-limit", f"{args.rate:g}",
        "--duration", f"{duration}s",
        "--objects", str(args.preload),
        "--obj.size", f"{largest}", "--obj.randsize",
        *(item for op, weight in mix.items() for item in (f"--{op}-distrib", f"{weight:g}")),
        "--no-color", "--json", "--full", "--benchdata", str(home / "warp-mixed"),
    ]
    # fmt: on
    log(f"warp: {' '.join(command[1:])}")
    sampler.start()
    finished = subprocess.run(
        command, cwd=home, capture_output=True, text=True, timeout=duration + 1800, check=False
    )
    sampler.stop(idle=args.idle_seconds)
    (home / "warp.out").write_text(finished.stdout)
    (home / "warp.err").write_text(finished.stderr)
    if finished.returncode != 0:
        raise RuntimeError(f"warp exited {finished.returncode}: {finished.stderr[-3000:]}")
    done = sorted(records(home / "warp-mixed.csv.zst", sampler.wall_began), key=lambda r: r.started)
    # warp uploads its --objects first, then runs for --duration: the rows are that part
    began = done[0].started if done else 0.0
    ended = max((r.ended for r in done), default=began)
    for record in done:
        record.scheduled -= began
        record.started -= began
        record.ended -= began
    result = summarize_records(done, ended - began, args.window)
    return {
        "warp_command": " ".join(command[1:]),
        "load_window_s": [round(began, 1), round(ended, 1)],
        **result,
    }
