"""Where an SDK download's time goes besides the network, on this machine, for
docs/performance.md's SDK section: the local work each client does on 1 GiB.

    .venv/bin/python -m bench.sdk_costs --out bench/results/X.json

Each round, in a temp directory on the disk the bench uses: writing the file in 8 MiB
pwrites as ranges arrive (aws-cli and the JS and Go SDKs), the same with an fsync after
every range (the Python SDK), and the Python SDK's verification pass, which reads the
written file again for SHA-256 and CRC64NVME after the last range (file_digests). Then
the wall time of starting each client process (imports), and clients/js/bench/crc64.ts:
MiB/s of the JS SDK's CRC64NVME and of @aws-sdk/crc64-nvme."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from artifactstore.checksums import file_digests

from bench import data
from tests.fixtures.processes import ROOT

MiB = 1 << 20
PART = 8 * MiB
PYTHON = str(ROOT / ".venv" / "bin" / "python")
# A process that starts and loads what a transfer needs, then exits: what each transfer in
# bench --only sdk pays before its first byte (aws-cli: its command table as well).
STARTS = {
    "aws_cli_version": [str(ROOT / ".venv" / "bin" / "aws"), "--version"],
    "python_import_artifactstore": [PYTHON, "-c", "import artifactstore"],
    "python_import_awscli_clidriver": [PYTHON, "-c", "import awscli.clidriver"],
    "node_tsx_import_sdk_node": ["node", "--import", "tsx", "-e", "await import('./src/node.ts')"],
}


def _write(path: Path, pieces: list[bytes], size: int, fsync: bool) -> float:
    path.unlink(missing_ok=True)  # a new file each time, as a download's .part is
    os.sync()
    began = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for offset in range(0, size, PART):
            os.pwrite(fd, pieces[(offset // PART) % len(pieces)], offset)
            if fsync:
                os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.sdk_costs", description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where the file goes (temp)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    size = int(args.gib * (1 << 30)) // PART * PART
    pieces = [b"".join(data.chunks(seed, PART)) for seed in range(4)]
    found: dict[str, list[float]] = {"write_s": [], "write_fsync_each_range_s": [], "verify_s": []}
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        path = Path(work) / "file.bin"
        for number in range(args.rounds):
            # Both writes, order flipped each round; the fsync'ed file is the one read back.
            ways = [False, True] if number % 2 == 0 else [True, False]
            for fsync in ways:
                name = "write_fsync_each_range_s" if fsync else "write_s"
                found[name].append(_write(path, pieces, size, fsync=fsync))
            os.sync()
            began = time.perf_counter()
            file_digests(path, ["CRC64NVME"])
            found["verify_s"].append(time.perf_counter() - began)
    started: dict[str, list[float]] = {name: [] for name in STARTS}
    for _ in range(args.rounds):
        for name, command in STARTS.items():
            began = time.perf_counter()
            subprocess.run(command, cwd=ROOT / "clients" / "js", check=True, capture_output=True)
            started[name].append(time.perf_counter() - began)
    js = subprocess.run(
        ["node", "--import", "tsx", "bench/crc64.ts", "1024"],
        cwd=ROOT / "clients" / "js",
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "python -m bench.sdk_costs " + " ".join(argv or []),
        "size": size,
        "part_size": PART,
        "load_average_before": os.getloadavg(),
        "rounds": {name: [round(v, 2) for v in values] for name, values in found.items()},
        "median_s": {name: round(statistics.median(v), 2) for name, v in found.items()},
        "start_s": {name: [round(v, 2) for v in values] for name, values in started.items()},
        "start_median_s": {name: round(statistics.median(v), 2) for name, v in started.items()},
        "js_crc64": js.stdout.strip().splitlines(),
        "cpus": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
