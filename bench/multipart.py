"""``bench.run --only multipart``: large transfers in parts (issue #4's targets).

1. **cp**: one file of ``--cp-size`` (2 GiB) pushed straight to the registry as a chunked
   blob upload (POST, PATCH per 8 MiB with Content-Range, PUT ?digest: what a registry
   client does with a file) against ``aws s3 cp`` of the same file through the gateway, with
   aws-cli v1 (the venv's; defaults: 8 MiB parts, 10 threads, SHA-256 signed parts over
   http) and aws-cli v2 (``scripts/clients/install.sh awscli-v2``; its CRT transfer client:
   aws-chunked parts with a CRC64NVME trailer). ``--cp-rounds`` rounds (3), the order rotated
   each round, every transfer a new file (new blobs), the page cache flushed before it; each
   contender is reported by its median round.
2. **big**: one object of ``--big-size`` (10 GiB) uploaded as 64 MiB parts by 8 threads
   (httpx, UNSIGNED-PAYLOAD, bodies generated, never on disk), completed, then read back in
   one stream and its SHA-256 compared; the gateway's peak RSS over both.
3. **scaling**: 32 parts of 16 MiB with 1, 2, 4 and 8 threads: aggregate MB/s.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from xml.etree import ElementTree

import httpx

from bench import clients, data
from bench.measure import MB
from bench.procs import ACCESS_KEY, SECRET_KEY
from tests.fixtures.processes import ROOT
from tests.fixtures.registries import RunningRegistry

if TYPE_CHECKING:
    from bench.run import Bench

MiB = 1 << 20
CP_CHUNK = 8 * MiB
BIG_PART = 64 * MiB
BIG_THREADS = 8
SCALING_PART = 16 * MiB
SCALING_PARTS = 32
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _write_file(path: Path, size: int, seed: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for piece in data.chunks(seed, size):
            out.write(piece)
            digest.update(piece)
    return digest.hexdigest()


def _file_chunks(path: Path, first: int, length: int) -> Any:
    with path.open("rb") as source:
        source.seek(first)
        left = length
        while left:
            piece = source.read(min(MiB, left))
            left -= len(piece)
            yield piece


def direct_chunked_upload(client: httpx.Client, repository: str, path: Path, digest: str) -> None:
    """POST, then PATCH 8 MiB at a time with Content-Range, then PUT ?digest."""
    response = client.post(f"/v2/{repository}/blobs/uploads/")
    location = response.headers["location"]
    size = path.stat().st_size
    for first in range(0, size, CP_CHUNK):
        length = min(CP_CHUNK, size - first)
        response = client.patch(
            location,
            content=_file_chunks(path, first, length),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{first}-{first + length - 1}",
                "Content-Length": str(length),
            },
        )
        if response.status_code != 202:
            raise clients.Failed(f"PATCH: HTTP {response.status_code} {response.text[:200]}")
        location = response.headers["location"]
    separator = "&" if "?" in location else "?"
    response = client.put(f"{location}{separator}digest=sha256:{digest}")
    if response.status_code != 201:
        raise clients.Failed(f"PUT ?digest: HTTP {response.status_code} {response.text[:200]}")


def _direct(registry: RunningRegistry, source: Path, sha: str) -> None:
    with clients.registry_client(registry) as client:
        direct_chunked_upload(client, "s3/direct-cp/00", source, sha)


def _aws_cp_file(url: str, path: Path, target: str, aws: str, sha: str) -> None:
    aws_cp(url, path, target, aws)


def _median_round(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median rate (its CPU and RSS figures with it), and every rate."""
    ordered = sorted(records, key=lambda record: record["mb_per_s"])
    return {**ordered[len(ordered) // 2], "rounds": [record["mb_per_s"] for record in records]}


def aws_v2() -> str | None:
    """aws-cli v2's executable, installed (cached) by the client-matrix installer."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "clients" / "install.sh"), "awscli-v2"],
        capture_output=True,
        text=True,
        check=False,
    )
    return (result.stdout.strip() or None) if result.returncode == 0 else None


def aws_cp(url: str, path: Path, target: str, aws: str) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    command = [aws, "--endpoint-url", url, "s3", "cp"]
    command += ["--only-show-errors", str(path), target]
    subprocess.run(command, env=env, check=True)


def aws_version(aws: str) -> str:
    result = subprocess.run(
        [aws, "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    return (result.stdout or result.stderr).strip()


class Uploads:
    """Multipart calls through the gateway with SigV4 header auth (botocore signs)."""

    def __init__(self, url: str, bucket: str, key: str) -> None:
        self.base = f"{url}/{bucket}/{quote(key)}"

    def _send(self, client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
        payload = kwargs.pop("payload", clients.EMPTY_SHA256)
        headers = clients.signed_headers(method, url, payload, kwargs.pop("headers", {}))
        response = client.request(method, url, headers=headers, **kwargs)
        if response.status_code != 200:
            raise clients.Failed(f"{method} {url}: HTTP {response.status_code} {response.text}")
        return response

    def create(self, client: httpx.Client) -> str:
        response = self._send(client, "POST", f"{self.base}?uploads")
        found = ElementTree.fromstring(response.content).find(f"{NS}UploadId")
        assert found is not None
        assert found.text
        return found.text

    def part(self, client: httpx.Client, upload_id: str, number: int, seed: int, size: int) -> str:
        url = f"{self.base}?partNumber={number}&uploadId={upload_id}"
        response = self._send(
            client,
            "PUT",
            url,
            payload=clients.UNSIGNED,
            headers={"Content-Length": str(size)},
            content=data.chunks(seed, size),
        )
        return str(response.headers["etag"])

    def complete(self, client: httpx.Client, upload_id: str, etags: list[str]) -> None:
        body = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            for n, etag in enumerate(etags, 1)
        )
        document = f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode()
        self._send(
            client,
            "POST",
            f"{self.base}?uploadId={upload_id}",
            payload=hashlib.sha256(document).hexdigest(),
            content=document,
        )


def upload_in_parts(url: str, key: str, parts: int, size: int, threads: int, seed: int) -> None:
    uploads = Uploads(url, "multipart", key)
    with httpx.Client(timeout=clients.TIMEOUT) as client:
        upload_id = uploads.create(client)
    local = threading.local()

    def one(number: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=clients.TIMEOUT)
        return uploads.part(local.client, upload_id, number, seed * 100_000 + number, size)

    with ThreadPoolExecutor(threads) as pool:
        etags = list(pool.map(one, range(1, parts + 1)))
    with httpx.Client(timeout=clients.TIMEOUT) as client:
        uploads.complete(client, upload_id, etags)


def expected_sha256(parts: int, size: int, seed: int) -> str:
    digest = hashlib.sha256()
    for number in range(1, parts + 1):
        for piece in data.chunks(seed * 100_000 + number, size):
            digest.update(piece)
    return digest.hexdigest()


def read_back(url: str, key: str) -> str:
    target = f"{url}/multipart/{quote(key)}"
    digest = hashlib.sha256()
    with (
        httpx.Client(timeout=clients.TIMEOUT) as client,
        client.stream("GET", target, headers=clients.signed_headers("GET", target)) as response,
    ):
        if response.status_code != 200:
            raise clients.Failed(f"GET {target}: HTTP {response.status_code}")
        for piece in response.iter_raw(MiB):
            digest.update(piece)
    return digest.hexdigest()


def run(bench: Bench) -> dict[str, Any]:
    args = bench.args
    v1 = str(ROOT / ".venv" / "bin" / "aws")
    v2 = aws_v2()
    out: dict[str, Any] = {
        "aws_cli": aws_version(v1),
        "aws_cli_v2": aws_version(v2) if v2 else None,
    }
    bench.create_bucket("multipart")
    work = bench.work / "files"
    work.mkdir(exist_ok=True)

    # 1. aws s3 cp vs a chunked blob upload straight to the registry, in rounds with the order
    # rotated: the registry's rate drifts on shared cores, and one direct run taken before
    # both clients charged that drift to the gateway's ratio. Every transfer sends a file of
    # its own (new bytes, as a real upload), so no contender finds its blobs already stored.
    source = work / "cp.bin"

    def direct(sha: str) -> None:
        _direct(bench.live_registry, source, sha)

    contenders: list[tuple[str, Callable[[str], None]]] = [("direct_chunked_upload", direct)]
    for name, aws in (("aws_s3_cp", v1), ("aws_v2_s3_cp", v2)):
        if aws is not None:
            target = f"s3://multipart/{name}.bin"
            contenders.append((name, partial(_aws_cp_file, bench.url, source, target, aws)))
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in contenders}
    for number in range(args.cp_rounds):
        shift = number % len(contenders)
        for turn, (name, transfer) in enumerate(contenders[shift:] + contenders[:shift]):
            sha = _write_file(source, args.cp_size, seed=424242 + 10 * number + turn)
            # Each starts with the page cache clean: the registry writing through the file's
            # dirty pages would pay for their writeback.
            os.sync()
            with bench.phase(f"multipart.{name}.r{number + 1}") as record:
                began = time.perf_counter()
                transfer(sha)
                record["mb_per_s"] = round(args.cp_size / (time.perf_counter() - began) / MB, 1)
            rounds[name].append(record)
            source.unlink()
    for name, records in rounds.items():
        out[name] = _median_round(records)

    # 2. the big object: 8 threads of 64 MiB parts, then read back.
    parts = max(1, args.big_size // BIG_PART)
    with bench.phase("multipart.big_upload") as record:
        began = time.perf_counter()
        upload_in_parts(bench.url, "big.bin", parts, BIG_PART, BIG_THREADS, seed=7)
        record["mb_per_s"] = round(parts * BIG_PART / (time.perf_counter() - began) / MB, 1)
    out["big_upload"] = record
    with bench.phase("multipart.big_read") as record:
        began = time.perf_counter()
        read = read_back(bench.url, "big.bin")
        record["mb_per_s"] = round(parts * BIG_PART / (time.perf_counter() - began) / MB, 1)
        record["sha256_matches"] = read == expected_sha256(parts, BIG_PART, seed=7)
    out["big_read"] = record
    out["big_size"] = parts * BIG_PART

    # 3. parallel parts: does throughput grow with the threads?
    out["scaling"] = {}
    for threads in (1, 2, 4, 8):
        with bench.phase(f"multipart.scaling.x{threads}") as record:
            began = time.perf_counter()
            upload_in_parts(
                bench.url, f"scale-{threads}", SCALING_PARTS, SCALING_PART, threads, seed=threads
            )
            total = SCALING_PARTS * SCALING_PART
            record["mb_per_s"] = round(total / (time.perf_counter() - began) / MB, 1)
        out["scaling"][str(threads)] = record
    return out
