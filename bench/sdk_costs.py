"""Where an SDK download's time goes besides the network, on this machine, for
docs/performance.md's SDK section: the local work each client does on 1 GiB.

    .venv/bin/python -m bench.sdk_costs --out bench/results/X.json

Each round, in a temp directory on the disk the bench uses: writing the file in 8 MiB
pwrites as ranges arrive (aws-cli and the JS and Go SDKs), the same with an fsync after
every range (the Python SDK), and the Python SDK's hashing of the written file for SHA-256
and CRC64NVME (``HashBehind``: during a download it runs beside the transfer, reading
behind the written prefix; until commit 50fa401 it was a second pass after the last range).
Then starting each client process (imports). Wall seconds and CPU seconds (user + system:
less sensitive than wall time to other jobs on the machine) of each; the load average at
the start and the end. Last, clients/js/bench/crc64.ts: MiB/s of the JS SDK's CRC64NVME
and of @aws-sdk/crc64-nvme."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import data
from bench.sdk import build_js
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
# bench --only sdk's JS program as it runs now (bench.sdk.build_js), started without
# arguments: it loads the SDK, prints its usage and exits with an error.
JS_BUNDLE = "node_bundle_sdk_transfer"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _hash(path: Path, size: int) -> str:
    """SHA-256 and CRC64NVME of the file in order, as a download's HashBehind does (or, run
    in a checkout before it, the second pass that was there: file_digests). Says which."""
    checksums: Any = importlib.import_module("artifactstore.checksums")
    if not hasattr(checksums, "HashBehind"):
        checksums.file_digests(path, ["CRC64NVME"])
        return "file_digests (a pass after the last range)"
    fd = os.open(path, os.O_RDONLY)
    try:
        ranges = [(offset, min(PART, size - offset)) for offset in range(0, size, PART)]
        hashers = [checksums.hasher("SHA256"), checksums.hasher("CRC64NVME")]
        behind = checksums.HashBehind(fd, ranges, hashers, present=range(len(ranges)))
        error = behind.start().join()
    finally:
        os.close(fd)
    if error is not None:
        raise error
    return "HashBehind (beside the transfer)"


def _start(command: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (wait4) of a process from start to exit, whatever its status."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=ROOT / "clients" / "js",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - began, usage.ru_utime + usage.ru_stime


def _write(path: Path, pieces: list[bytes], size: int, fsync: bool) -> tuple[float, float]:
    path.unlink(missing_ok=True)  # a new file each time, as a download's .part is
    os.sync()
    cpu = _cpu()
    began = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for offset in range(0, size, PART):
            os.pwrite(fd, pieces[(offset // PART) % len(pieces)], offset)
            if fsync:
                os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - began, _cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.sdk_costs", description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where the file goes (temp)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    size = int(args.gib * (1 << 30)) // PART * PART
    pieces = [b"".join(data.chunks(seed, PART)) for seed in range(4)]
    names = ("write", "write_fsync_each_range", "hash_sha256_crc64nvme")
    found: dict[str, list[float]] = {f"{n}{u}": [] for n in names for u in ("_s", "_cpu_s")}
    with tempfile.TemporaryDirectory(dir=args.dir) as work:
        path = Path(work) / "file.bin"
        for number in range(args.rounds):
            # Both writes, order flipped each round; the fsync'ed file is the one read back.
            ways = [False, True] if number % 2 == 0 else [True, False]
            for fsync in ways:
                name = "write_fsync_each_range" if fsync else "write"
                wall, cpu = _write(path, pieces, size, fsync=fsync)
                found[f"{name}_s"].append(wall)
                found[f"{name}_cpu_s"].append(cpu)
            os.sync()
            cpu = _cpu()
            began = time.perf_counter()
            hashing = _hash(path, size)
            found["hash_sha256_crc64nvme_s"].append(time.perf_counter() - began)
            found["hash_sha256_crc64nvme_cpu_s"].append(_cpu() - cpu)
    started: dict[str, list[float]] = {f"{n}{u}": [] for n in STARTS for u in ("_s", "_cpu_s")}
    with tempfile.TemporaryDirectory() as work:
        commands = {**STARTS, JS_BUNDLE: ["node", str(build_js(Path(work) / "costs.mjs"))]}
        started.update({f"{JS_BUNDLE}{u}": [] for u in ("_s", "_cpu_s")})
        for _ in range(args.rounds):
            for name, command in commands.items():
                wall, cpu = _start(command)
                started[f"{name}_s"].append(wall)
                started[f"{name}_cpu_s"].append(cpu)
    js = subprocess.run(
        ["node", "--import", "tsx", "bench/crc64.ts", "1024"],
        cwd=ROOT / "clients" / "js",
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "python -m bench.sdk_costs " + " ".join(sys.argv[1:] if argv is None else argv),
        "size": size,
        "hashing": hashing,
        "part_size": PART,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
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
