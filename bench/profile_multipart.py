"""Where a multipart upload's CPU goes on Zot: ``aws s3 cp`` through the gateway against the
same file pushed straight into Zot as a chunked upload, each with a CPU profile of Zot and
(through the gateway) a py-spy profile of the gateway.

Needs a Zot built with the ``profile`` tag as well (``/v2/_zot/pprof/``, admins only: the
gateway's user is Zot's admin), e.g. from the unmodified archive::

    GOEXPERIMENT=jsonv2 CGO_ENABLED=0 go build -trimpath -tags metrics,scrub,profile \
        -o /tmp/zotprof/zot ./cmd/zot

and py-spy (``uv venv /tmp/pyspy && uv pip install --python /tmp/pyspy/bin/python py-spy``)::

    .venv/bin/python -m bench.profile_multipart --zot /tmp/zotprof/zot \
        --py-spy /tmp/pyspy/bin/py-spy --work /tmp/mpprof --out bench/results/X.json

Zot runs as the product runs it (tests/fixtures/registries.py: htpasswd, dedupe, GC with the
keep-everything policy, metrics, scrub); the gateway is one process (``--workers 1``). Every
transfer sends a new file (written, then ``sync``ed, before its clock starts). CPU seconds of
Zot and of the gateway per transfer come from psutil (user + system), as bench/run.py counts
them; the profiles give the shares.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import clients
from bench.measure import MB
from bench.multipart import _write_file, aws_cp, aws_version, direct_chunked_upload
from bench.procs import start_gateway
from tests.fixtures import registries
from tests.fixtures.processes import ROOT

GiB = 1 << 30


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _threads(pid: int) -> dict[int, float]:
    """CPU seconds of each thread (the event loop's thread id is the process id)."""
    return {t.id: t.user_time + t.system_time for t in psutil.Process(pid).threads()}


def _thread_delta(
    main: int, before: dict[int, float], after: dict[int, float]
) -> list[tuple[str, float]]:
    """CPU seconds per thread over a transfer, busiest first ("main": the event loop)."""
    rows = [
        ("main" if tid == main else str(tid), round(cpu - before.get(tid, 0.0), 2))
        for tid, cpu in after.items()
    ]
    return sorted((row for row in rows if row[1] > 0), key=lambda row: -row[1])


class ZotProfile(threading.Thread):
    """GET /v2/_zot/pprof/profile?seconds=N into a file, in the background."""

    def __init__(self, registry: registries.RunningRegistry, seconds: int, path: Path) -> None:
        super().__init__(daemon=True)
        self.registry, self.seconds, self.path = registry, seconds, path
        self.error: str | None = None

    def run(self) -> None:
        try:
            response = httpx.get(
                f"{self.registry.url}/v2/_zot/pprof/profile",
                params={"seconds": self.seconds},
                auth=self.registry.auth,
                timeout=self.seconds + 60,
            )
            if response.status_code != 200:
                self.error = f"HTTP {response.status_code} {response.text[:200]}"
            else:
                self.path.write_bytes(response.content)
        except httpx.HTTPError as exc:
            self.error = repr(exc)


def pprof_top(profile: Path, cum: bool, count: int = 40) -> str:
    command = ["go", "tool", "pprof", "-top", f"-nodecount={count}"]
    command += ["-cum"] if cum else []
    result = subprocess.run([*command, str(profile)], capture_output=True, text=True, check=False)
    return result.stdout + (result.stderr if result.returncode else "")


# Where Zot's CPU goes, by what the gateway (or the direct client) asked of it: the request
# handlers, the htpasswd check (middleware, outside the handlers), Go's garbage collector, and
# a few functions inside them. Cumulative seconds, matched on pprof's function names.
ZOT_PARTS = {
    "blob single POST (CreateBlobUpload)": r"api\.\(\*RouteHandler\)\.CreateBlobUpload$",
    "blob PATCH (PatchBlobUpload)": r"api\.\(\*RouteHandler\)\.PatchBlobUpload$",
    "blob closing PUT (UpdateBlobUpload)": r"api\.\(\*RouteHandler\)\.UpdateBlobUpload$",
    "manifest PUT (UpdateManifest)": r"api\.\(\*RouteHandler\)\.UpdateManifest$",
    "manifest DELETE (DeleteManifest)": r"api\.\(\*RouteHandler\)\.DeleteManifest$",
    "htpasswd check (basicAuthn)": r"api\.\(\*AuthnMiddleware\)\.basicAuthn$",
    "Go GC (gcBgMarkWorker)": r"^runtime\.gcBgMarkWorker$",
    "  in it: bcrypt": r"bcrypt\.CompareHashAndPassword$",
    "  in it: user groups write (MetaDB.SetUserGroups)": r"\(\*BoltDB\)\.SetUserGroups$",
    "  in it: manifest JSON-schema check": r"common\.ValidateManifestSchema$",
    "  in it: MetaDB SetRepoReference": r"\(\*BoltDB\)\.SetRepoReference$",
    "  in it: MetaDB RemoveRepoReference": r"\(\*BoltDB\)\.RemoveRepoReference$",
    "  in it: index.json write (PutIndexContent)": r"\(\*ImageStore\)\.PutIndexContent$",
    "  in it: index.json read (GetIndex)": r"common\.GetIndex$",
    "  in it: metrics storage usage walk (GetDirSize)": r"monitoring\.GetDirSize$",
    "  in it: bbolt fdatasync": r"bbolt\.fdatasync$",
    "  in it: dedupe (ImageStore.DedupeBlob)": r"\(\*ImageStore\)\.DedupeBlob$",
    "  Zot's own GC or scrub tasks": r"(gc\.\(\*GarbageCollect\)|scrub)\.",
    "  in it: SHA-256 (sha256.block)": r"sha256\.block$",
    "  in it: write/read syscalls (Syscall6)": r"linux\.Syscall6$",
}


def zot_shares(profile: Path) -> dict[str, Any]:
    """Cumulative seconds and % of all samples for each of :data:`ZOT_PARTS`."""
    text = pprof_top(profile, cum=True, count=5000)
    total_match = re.search(r"Total samples = ([\d.]+)(m?s)", text)
    total = float(total_match.group(1)) / (1000 if total_match.group(2) == "ms" else 1)
    seconds: dict[str, float] = {}
    row = re.compile(r"^\s*[\d.]+(?:m?s)?\s+[\d.]+%\s+[\d.]+%\s+([\d.]+)(m?s)\s+[\d.]+%\s+(.*)$")
    for line in text.splitlines():
        found = row.match(line)
        if not found:
            continue
        value = float(found.group(1)) / (1000 if found.group(2) == "ms" else 1)
        for name, pattern in ZOT_PARTS.items():
            if re.search(pattern, found.group(3).strip()):
                seconds[name] = seconds.get(name, 0.0) + value
    top = [name for name in ZOT_PARTS if not name.startswith(" ")]
    rest = total - sum(seconds.get(name, 0.0) for name in top)
    return {
        "total_samples_s": round(total, 2),
        "parts": {
            name: [round(value, 2), round(100 * value / total, 1)]
            for name in ZOT_PARTS
            if (value := seconds.get(name, 0.0))
        },
        "rest (net/http, routing, logging, other requests)": [
            round(rest, 2),
            round(100 * rest / total, 1),
        ],
    }


# The event loop's py-spy samples (blocking mode, --threads), each stack in the first category
# whose frames match, in this order.
MAIN_THREAD_CATEGORIES: list[tuple[str, Callable[[list[str]], bool]]] = [
    (
        "idle or uvloop's own C code (Runner.run is the leaf)",
        lambda fr: fr[-1].startswith("Runner.run"),
    ),
    (
        "complete_upload (object manifest, part-manifest DELETEs, index)",
        lambda fr: any("complete_upload" in f for f in fr),
    ),
    ("part manifest PUT (push_manifest)", lambda fr: any("push_manifest" in f for f in fr)),
    (
        "index calls (SqlIndex.*; mostly handing work to aiosqlite's thread)",
        lambda fr: any(f.startswith("SqlIndex.") for f in fr),
    ),
    (
        "request body in (uvicorn receive, HashingReader, hand-off to the hash threads)",
        lambda fr: any(
            "RequestResponseCycle.receive" in f
            or "HttpToolsProtocol" in f
            or "counting_receive" in f
            or "ThreadPoolExecutor.submit" in f
            or f.startswith(("_feed", "_crc32"))
            for f in fr
        ),
    ),
    ("blob out to Zot (httpx/httpcore/anyio send)", lambda fr: any("_push_whole" in f for f in fr)),
    ("SigV4 / auth", lambda fr: any("sigv4" in f.lower() or "auth/" in f for f in fr)),
]


def main_thread_categories(raw: Path) -> dict[str, Any]:
    """py-spy samples of the MainThread (needs ``--threads``) by :data:`MAIN_THREAD_CATEGORIES`:
    samples, % of the thread's samples, % of those outside the first category."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, number = line.rpartition(" ")
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        if not stack or "MainThread" not in frames[0]:
            continue
        total += int(number)
        for name, matches in MAIN_THREAD_CATEGORIES:
            if matches(frames):
                counts[name] += int(number)
                break
        else:
            counts["other"] += int(number)
    idle = MAIN_THREAD_CATEGORIES[0][0]
    busy = total - counts[idle]
    return {
        "samples": total,
        "categories": {
            name: [n, round(100 * n / total, 1), None if name == idle else round(100 * n / busy, 1)]
            for name, n in counts.most_common()
        },
    }


def pyspy_summary(raw: Path, count: int = 40) -> dict[str, Any]:
    """Self and inclusive sample shares by function from py-spy's raw (collapsed) output."""
    self_counts: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack:
            continue
        samples = int(number)
        total += samples
        # "function (file:line)" -> "function (file)": a function counts once, whatever line
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        self_counts[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [
            [name, samples, round(100 * samples / total, 1)]
            for name, samples in counter.most_common(count)
        ]

    return {"samples": total, "self": share(self_counts), "inclusive": share(inclusive)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zot", required=True, help="a Zot built with the profile tag")
    parser.add_argument("--py-spy", help="py-spy executable (no gateway profile without it)")
    parser.add_argument("--work", type=Path, required=True, help="scratch directory")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=2 * GiB)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--gateway-seconds", type=int, default=60, help="Zot profile length")
    parser.add_argument("--direct-seconds", type=int, default=30, help="Zot profile length")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument(
        "--py-spy-blocking",
        action="store_true",
        help="py-spy pauses the gateway for each sample (its idle detection is then reliable) "
        "and names each stack's thread",
    )
    parser.add_argument("--label", default="", help="added to the names of the profiles")
    parser.add_argument("--kinds", default="direct,gateway", help="contenders, in round 1's order")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        help="a copy of another commit (git archive): contender 'baseline' runs its gateway",
    )
    args = parser.parse_args()

    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    profiles = work / "profiles"
    profiles.mkdir(exist_ok=True)
    os.environ["ZOT_BIN"] = args.zot
    registry = registries.start(work / "registry", kind="zot")
    gateways = {"gateway": start_gateway(registry, work / "gateway", registries.free_port())}
    if args.baseline_root:
        python = str(ROOT / ".venv" / "bin" / "python")
        prefix = ["bash", "-c", f'cd {args.baseline_root} && exec {python} "$@"', "gateway"]
        gateways["baseline"] = start_gateway(
            registry, work / "baseline", registries.free_port(), prefix=prefix
        )
    aws = str(ROOT / ".venv" / "bin" / "aws")
    report: dict[str, Any] = {
        "what": __doc__.split("\n\n")[0],
        "zot": args.zot,
        "aws_cli": aws_version(aws),
        "size": args.size,
        "transfers": [],
    }
    try:
        for kind, gateway in gateways.items():  # each gateway has an index of its own
            s3 = clients.s3_client(gateway.url)
            s3.create_bucket(Bucket=f"mp-{kind}")
            s3.close()
        kinds = args.kinds.split(",")
        source = work / "cp.bin"
        for number in range(args.rounds):
            order = kinds if number % 2 == 0 else kinds[::-1]
            for turn, kind in enumerate(order):
                name = f"{kind}{args.label}.r{number + 1}"
                sha = _write_file(source, args.size, seed=515151 + 10 * number + turn)
                os.sync()
                seconds = args.direct_seconds if kind == "direct" else args.gateway_seconds
                gateway = gateways.get(kind)
                gateway_pid = (gateway or gateways["gateway"]).process.pid
                pprof_path = profiles / f"zot-{name}.pprof"
                profiler = ZotProfile(registry, seconds, pprof_path)
                spy = None
                spy_path = profiles / f"gateway-{name}.txt"
                if gateway is not None and args.py_spy:
                    spy = subprocess.Popen(
                        [
                            args.py_spy,
                            "record",
                            "--pid",
                            str(gateway_pid),
                            *(["--threads"] if args.py_spy_blocking else ["--nonblocking"]),
                            "-r",
                            str(args.rate),
                            "-f",
                            "raw",
                            "-o",
                            str(spy_path),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                    )
                profiler.start()
                time.sleep(0.5)  # the profile has begun
                zot0, gw0 = _cpu(registry.process.pid), _cpu(gateway_pid)
                threads0 = _threads(gateway_pid)
                began = time.perf_counter()
                if kind == "direct":
                    with clients.registry_client(registry) as client:
                        direct_chunked_upload(client, f"s3/direct-{number}/00", source, sha)
                else:
                    assert gateway is not None
                    aws_cp(gateway.url, source, f"s3://mp-{kind}/cp-{name}.bin", aws)
                wall = time.perf_counter() - began
                zot1, gw1 = _cpu(registry.process.pid), _cpu(gateway_pid)
                threads1 = _threads(gateway_pid)
                spy_error = None
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    _, err = spy.communicate(timeout=60)
                    spy_error = err.decode()[-500:] if spy.returncode else None
                profiler.join()
                record: dict[str, Any] = {
                    "name": name,
                    "kind": kind,
                    "wall_s": round(wall, 2),
                    "mb_per_s": round(args.size / wall / MB, 1),
                    "cpu_s": {"zot": round(zot1 - zot0, 2), "gateway": round(gw1 - gw0, 2)},
                    "cpu_s_per_gib": {
                        "zot": round((zot1 - zot0) * GiB / args.size, 2),
                        "gateway": round((gw1 - gw0) * GiB / args.size, 2),
                    },
                    "gateway_thread_cpu_s": _thread_delta(gateway_pid, threads0, threads1),
                    "zot_profile_seconds": seconds,
                    "transfer_within_profile": wall + 0.5 < seconds,
                }
                if profiler.error:
                    record["zot_profile_error"] = profiler.error
                else:
                    record["zot_pprof_file"] = str(pprof_path)
                    record["zot_pprof_top"] = pprof_top(pprof_path, cum=False)
                    record["zot_pprof_top_cum"] = pprof_top(pprof_path, cum=True)
                    record["zot_shares"] = zot_shares(pprof_path)
                if spy is not None:
                    record["py_spy_error"] = spy_error
                    if spy_path.exists():
                        record["gateway_py_spy"] = pyspy_summary(spy_path)
                        if args.py_spy_blocking:
                            record["main_thread_categories"] = main_thread_categories(spy_path)
                report["transfers"].append(record)
                print(
                    json.dumps({k: record[k] for k in ("name", "wall_s", "mb_per_s", "cpu_s")}),
                    flush=True,
                )
                source.unlink()
    finally:
        for gateway in gateways.values():
            gateway.stop()
        registry.stop()
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
