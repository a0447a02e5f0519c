"""``bench.run --only sdk``: aws-cli v1 and the Python, Go and JS SDKs on the same run,
issue 17's target: each SDK's MB/s at least 0.9 of aws-cli's for a 1 GiB upload and
download. All use 8 MiB parts and 10 parallel transfers (aws-cli's defaults, which the bench
leaves as they are) and sign with SigV4 over http. Every transfer is one child process (the
Python SDK's too: bench/sdk_python.py; Go: clients/go/bench/sdktransfer, built once per run;
JS: clients/js/bench/sdk-transfer.ts, bundled by esbuild once per run into plain JavaScript
that imports its npm dependencies, as a user's built program runs the SDK; it ran under tsx,
which transpiles at every start, until branch sdkdown), timed from start to exit, its CPU seconds
(user + system) read from wait4; the SDK programs also print how long the transfer call
itself took (``up_call_s``/``down_call_s``: without process start and imports, which aws-cli
cannot report). Each round writes a new file per contender (the store
deduplicates equal blobs) and rotates the order; a ratio is taken within a round and
reported as the median of the rounds with its spread."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import data
from bench.measure import MB
from bench.multipart import aws_version
from bench.procs import ACCESS_KEY, SECRET_KEY
from tests.fixtures.processes import ROOT

if TYPE_CHECKING:
    from bench.run import Bench

BUCKET = "sdk"
PART = 8 << 20
THREADS = 10
BASELINE = "aws_cli"
SDKS = ("python_sdk", "go_sdk", "js_sdk")
WAYS = ("up", "down")
GO_DIR = ROOT / "clients" / "go"
JS_DIR = ROOT / "clients" / "js"

# A contender turns (way, key, file) into the command of one transfer.
Command = Callable[[str, str, Path], list[str]]


def rotation(names: Sequence[str], number: int) -> list[str]:
    """Round ``number``'s order: the list rotated by one more place each round, so each
    contender goes first (and follows each other one) as often as the others."""
    shift = number % len(names) if names else 0
    return [*names[shift:], *names[:shift]]


def mb_per_s(size: int, seconds: float) -> float:
    return round(size / seconds / MB, 1) if seconds > 0 else float("nan")


def spread(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of per-round values (the median of an even count is the mean
    of the middle two), and the values in round order."""
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "rounds": [round(v, 3) for v in values],
    }


def summarize(
    rounds: dict[str, list[dict[str, float]]], baseline: str = BASELINE
) -> dict[str, Any]:
    """Per contender: median MB/s and CPU seconds of each way over the rounds; for every
    other contender, the ratio of its MB/s to the baseline's in the same round (its median
    and spread), so a slow round of the machine slows both sides of a ratio."""
    out: dict[str, Any] = {}
    base = rounds.get(baseline, [])
    for name, records in rounds.items():
        if not records:
            continue
        entry: dict[str, Any] = {}
        for way in WAYS:
            entry[way] = round(statistics.median(r[way] for r in records), 1)
            entry[f"{way}_cpu_s"] = round(statistics.median(r[f"{way}_cpu_s"] for r in records), 2)
            if all(f"{way}_call_s" in r for r in records):
                calls = [r[f"{way}_call_s"] for r in records]
                entry[f"{way}_call_s"] = round(statistics.median(calls), 2)
        if name != baseline and base:
            paired = list(zip(records, base, strict=False))
            entry["ratio"] = {
                way: spread([mine[way] / theirs[way] for mine, theirs in paired]) for way in WAYS
            }
        entry["rounds"] = records
        out[name] = entry
    return out


def _write(path: Path, size: int, seed: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for piece in data.chunks(seed, size):
            out.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def timed(
    command: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[float, float, str]:
    """Run ``command`` to its end: (wall seconds, CPU seconds of the process and the
    children it waited for, its standard output). Raises on a non-zero exit."""
    with tempfile.TemporaryFile("w+") as out:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        printed = out.read()
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, usage.ru_utime + usage.ru_stime, printed


def inner_seconds(printed: str) -> float | None:
    """The seconds an SDK program says its transfer call took (its last line, JSON with
    ``seconds``): the wall time without the process start and imports."""
    lines = [line for line in printed.splitlines() if line.strip()]
    try:
        value = json.loads(lines[-1])["seconds"] if lines else None
    except (ValueError, KeyError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def build_js(out: Path) -> Path:
    """clients/js/bench/sdk-transfer.ts (and the SDK's sources it imports) as one ES module,
    npm packages left as imports; kept under clients/js/node_modules so they resolve."""
    program = JS_DIR / "node_modules" / ".cache" / "artifact-store-bench" / out.name
    subprocess.run(
        [
            str(JS_DIR / "node_modules" / ".bin" / "esbuild"),
            "bench/sdk-transfer.ts",
            "--bundle",
            "--platform=node",
            "--format=esm",
            "--packages=external",
            "--log-level=warning",
            f"--outfile={program}",
        ],
        cwd=JS_DIR,
        check=True,
    )
    return program


def _versions(go_binary: Path) -> dict[str, str]:
    def first_line(command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else ""

    return {
        "aws_cli": aws_version(str(ROOT / ".venv" / "bin" / "aws")),
        "go": first_line(["go", "version", "-m", str(go_binary)]).rpartition(": ")[2],
        "node": first_line(["node", "--version"]),
    }


def run(bench: Bench) -> dict[str, Any]:
    size: int = bench.args.sdk_size
    work = bench.work / "sdk"
    work.mkdir(exist_ok=True)
    bench.create_bucket(BUCKET)
    go_binary = work / "sdktransfer"
    subprocess.run(
        ["go", "build", "-o", str(go_binary), "./bench/sdktransfer"], cwd=GO_DIR, check=True
    )
    node = shutil.which("node") or "node"
    js_program = build_js(work / "sdk-transfer.mjs")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "ARTIFACT_STORE_ENDPOINT": bench.url,
        "ARTIFACT_STORE_ACCESS_KEY_ID": ACCESS_KEY,
        "ARTIFACT_STORE_SECRET_ACCESS_KEY": SECRET_KEY,
        "ARTIFACT_STORE_REGION": "us-east-1",
        "ARTIFACT_STORE_STATE_DIR": str(work / "state"),
        "ARTIFACT_STORE_CONFIG_FILE": str(work / "no-config"),
        "NODE_NO_WARNINGS": "1",  # the AWS SDK's notice about node 20 on every JS run
    }
    for name in ("ARTIFACT_STORE_PROFILE", "ARTIFACT_STORE_TOKEN", "ARTIFACT_STORE_ROLE_ARN"):
        env.pop(name, None)
    aws = str(ROOT / ".venv" / "bin" / "aws")
    python = str(ROOT / ".venv" / "bin" / "python")
    tail = (str(PART), str(THREADS))

    def aws_cli(way: str, key: str, file: Path) -> list[str]:
        where = (
            (str(file), f"s3://{BUCKET}/{key}")
            if way == "up"
            else (f"s3://{BUCKET}/{key}", str(file))
        )
        return [aws, "--endpoint-url", bench.url, "s3", "cp", "--only-show-errors", *where]

    def python_sdk(way: str, key: str, file: Path) -> list[str]:
        return [python, "-m", "bench.sdk_python", way, BUCKET, key, str(file), *tail]

    def go_sdk(way: str, key: str, file: Path) -> list[str]:
        return [str(go_binary), way, BUCKET, key, str(file), *tail]

    def js_sdk(way: str, key: str, file: Path) -> list[str]:
        return [node, str(js_program), way, BUCKET, key, str(file), *tail]

    contenders: dict[str, tuple[Command, Path]] = {
        BASELINE: (aws_cli, ROOT),
        "python_sdk": (python_sdk, ROOT),
        "go_sdk": (go_sdk, ROOT),
        "js_sdk": (js_sdk, JS_DIR),
    }
    extra_env: dict[str, dict[str, str]] = {}
    if getattr(bench.args, "sdk_diagnose", False):
        # The Python SDK without its fsync after every range: where its download time goes.
        contenders["python_sdk_no_fsync"] = (python_sdk, ROOT)
        extra_env["python_sdk_no_fsync"] = {"BENCH_SDK_NO_FSYNC": "1"}
    source, target = work / "source.bin", work / "target.bin"
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for number in range(bench.args.sdk_rounds):
        for index, name in enumerate(rotation(list(contenders), number)):
            command, cwd = contenders[name]
            sha = _write(source, size, seed=171717 + 10 * number + index)
            key = f"{name}-{number}.bin"
            os.sync()
            record: dict[str, float] = {}
            for way, file in (("up", source), ("down", target)):
                # the machine's 1-minute load as the transfer starts: other jobs share it
                record[f"{way}_load_1m"] = round(os.getloadavg()[0], 2)
                with bench.phase(f"sdk.{name}.{way}.r{number + 1}"):
                    wall, cpu, printed = timed(
                        command(way, key, file), {**env, **extra_env.get(name, {})}, cwd
                    )
                record[way] = mb_per_s(size, wall)
                record[f"{way}_s"] = round(wall, 2)
                record[f"{way}_cpu_s"] = round(cpu, 2)
                inner = inner_seconds(printed)
                if inner is not None:  # the SDKs' programs say how long the call itself took
                    record[f"{way}_call_s"] = round(inner, 2)
                os.sync()
            if _sha256(target) != sha:
                bench.errors.append(f"sdk: {name} round {number + 1} read other bytes")
            rounds[name].append(record)
            target.unlink()
            source.unlink()
    out: dict[str, Any] = {
        "size": size,
        "part_size": PART,
        "concurrency": THREADS,
        "versions": _versions(go_binary),
        "aws_cli_version": aws_version(aws),
    }
    out.update(summarize(rounds))
    return out
