"""``bench.run --only sdk``: the Python SDK (clients/python) against aws-cli v1 on the same
run, issue 17's target: each SDK's MB/s at least 0.9 of aws-cli's for a 1 GiB upload and
download. Both use 8 MiB parts and 10 parallel transfers (aws-cli's defaults) and sign with
SigV4 over http (so both hash every part); each round writes a new file and rotates the
order; a contender is reported by its median round."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artifactstore import Client

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


def _aws(url: str, *args: str) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    aws = str(ROOT / ".venv" / "bin" / "aws")
    command = [aws, "--endpoint-url", url, "s3", "cp", "--only-show-errors", *args]
    subprocess.run(command, env=env, check=True)


def run(bench: Bench) -> dict[str, Any]:
    size: int = bench.args.sdk_size
    work = bench.work / "sdk"
    work.mkdir(exist_ok=True)
    bench.create_bucket(BUCKET)
    store = Client(
        bench.url,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        state_dir=work / "state",
        max_pool_connections=THREADS + 2,
        env={},
    )
    source, target = work / "source.bin", work / "target.bin"

    def aws_up(key: str) -> None:
        _aws(bench.url, str(source), f"s3://{BUCKET}/{key}")

    def aws_down(key: str) -> None:
        _aws(bench.url, f"s3://{BUCKET}/{key}", str(target))

    def sdk_up(key: str) -> None:
        store.upload(BUCKET, key, source, part_size=PART, threshold=PART, concurrency=THREADS)

    def sdk_down(key: str) -> None:
        store.download(BUCKET, key, target, part_size=PART, concurrency=THREADS)

    contenders: list[tuple[str, Callable[[str], None], Callable[[str], None]]] = [
        ("aws_cli", aws_up, aws_down),
        ("python_sdk", sdk_up, sdk_down),
    ]
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in contenders}
    for number in range(bench.args.sdk_rounds):
        shift = number % len(contenders)
        for name, up, down in contenders[shift:] + contenders[:shift]:
            sha = _write(source, size, seed=171717 + 10 * number + len(rounds[name]))
            key = f"{name}-{number}.bin"
            os.sync()
            record: dict[str, float] = {}
            with bench.phase(f"sdk.{name}.up.r{number + 1}"):
                began = time.perf_counter()
                up(key)
                record["up"] = round(size / (time.perf_counter() - began) / MB, 1)
            os.sync()
            with bench.phase(f"sdk.{name}.down.r{number + 1}"):
                began = time.perf_counter()
                down(key)
                record["down"] = round(size / (time.perf_counter() - began) / MB, 1)
            if _sha256(target) != sha:
                bench.errors.append(f"sdk: {name} round {number + 1} read other bytes")
            rounds[name].append(record)
            target.unlink()
            source.unlink()
    store.close()
    version = aws_version(str(ROOT / ".venv" / "bin" / "aws"))
    out: dict[str, Any] = {"size": size, "aws_cli_version": version}
    for name, records in rounds.items():
        out[name] = {
            way: sorted(r[way] for r in records)[len(records) // 2] for way in ("up", "down")
        }
        out[name]["rounds"] = records
    return out
