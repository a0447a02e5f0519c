"""``make bench``: the registry's own rates first (the ceiling), then the same work through
the gateway, then a bucket of many small objects. Prints a table and writes
``bench/results/latest.json``; docs/performance.md explains the figures.

    .venv/bin/python -m bench.run                    # the default run (10k objects)
    .venv/bin/python -m bench.run --scale 100000     # the big bucket too (slow)
    .venv/bin/python -m bench.run --only gateway --sizes 4KiB \\
        --gateway-prefix ".venv/bin/python -m cProfile -o /tmp/gw.prof"   # profile a phase
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench import clients, data
from bench import identity as identity_bench
from bench import multipart as multipart_bench
from bench import oci as oci_bench
from bench import sdk as sdk_bench
from bench import supply as supply_bench
from bench import zb as zb_bench
from bench.measure import Pool, sequential, summary, windows
from bench.procs import Gateway, Monitor, start_gateway
from gateway.domain import mapping
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.keycloak import start as start_keycloak
from tests.fixtures.processes import ROOT
from tests.fixtures.registries import ZOT_TAGS, ZOT_VERSION, RunningRegistry, free_port, start

PREFIX = "s3"  # the gateway's default repository prefix
SIZES: dict[str, tuple[int, int]] = {  # label: (bytes, sequential operations)
    "4KiB": (4 << 10, 300),
    "1MiB": (1 << 20, 100),
    "64MiB": (64 << 20, 10),
    "1GiB": (1 << 30, 4),
}
BIG = 64 << 20  # from here on: single-client streaming PUTs over httpx, both signing modes
SMALL = 4 << 10
CONCURRENT_CLIENTS = 8
CONCURRENT_OPS = 2000
SCALE_WRITERS = 16
SCALE_SIZE = 16
RESULTS = ROOT / "bench" / "results"
SDK_NAMES = {
    "python_sdk": "Python SDK",
    "go_sdk": "Go SDK",
    "js_sdk": "JS SDK",
    "python_sdk_no_fsync": "Python SDK without fsync (diagnosis)",
}

_seeds = itertools.count(1)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def log_problems(path: Path) -> dict[str, Any]:
    """Warnings and errors the gateway logged (at level warning) during the run."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    bad = [line for line in lines if "WARNING" in line or "ERROR" in line]
    return {"problems": len(bad), "first": [line[:300] for line in bad[:5]]}


def seeds(count: int) -> list[int]:
    return [next(_seeds) for _ in range(count)]


def warm_digests(chosen: list[int], size: int) -> None:
    """Hash big bodies before the clock starts: a client that knows its digest."""
    if size >= BIG:
        for seed in chosen:
            data.sha256_hex(seed, size)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.results: dict[str, Any] = {
            "direct": {},
            "gateway": {},
            "scale": {},
            "multipart": {},
            "identity": {},
            "supply": {},
            "oci": {},
            "sdk": {},
            "rounds": [],
            "zb": {},
        }
        self.keycloak: RunningKeycloak | None = None
        self.registry: RunningRegistry | None = None
        self.gateway: Gateway | None = None
        self.monitor: Monitor | None = None
        self.errors: list[str] = []
        self.round = 0  # direct and gateway phases run in rounds (see main)

    # -- set-up --------------------------------------------------------------------------------

    def start(self, with_keycloak: bool = False) -> None:
        self.registry = start(self.work / "registry")
        log(f"registry: {self.registry.kind} on {self.registry.url}")
        env: dict[str, str] = {"ARTIFACT_STORE_WORKERS": str(self.args.workers)}
        if with_keycloak:
            self.keycloak = start_keycloak(self.work / "keycloak")
            log(f"keycloak on {self.keycloak.url} (ready in {self.keycloak.started_in:.0f} s)")
            env["ARTIFACT_STORE_OIDC_ISSUER"] = self.keycloak.issuer()
            env["ARTIFACT_STORE_OIDC_JWKS_URL"] = self.keycloak.jwks_url()
        prefix = shlex.split(self.args.gateway_prefix) if self.args.gateway_prefix else None
        self.gateway = start_gateway(
            self.registry,
            self.work / "gateway",
            free_port(),
            prefix=prefix,
            env=env,
            ready_timeout=self.args.ready_timeout,
        )
        log(
            f"gateway: pid {self.gateway.process.pid} on {self.gateway.url}, "
            f"{self.args.workers} worker process(es)"
        )
        self.monitor = Monitor(self.gateway.process.pid, self.registry.process.pid)

    def stop(self) -> None:
        if self.monitor:
            self.monitor.close()
        if self.gateway:
            self.gateway.stop()
            self.results["gateway_log"] = log_problems(self.gateway.log_path)
        if self.registry:
            self.registry.stop()
        if self.keycloak:
            self.keycloak.stop()

    def phase(self, name: str) -> Any:
        assert self.monitor is not None
        log(f"phase {name}")
        return self.monitor.phase(name)

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def live_registry(self) -> RunningRegistry:
        assert self.registry is not None
        return self.registry

    def s3(self) -> Any:
        return clients.s3_client(self.url)

    def create_bucket(self, name: str) -> None:
        client = self.s3()
        client.create_bucket(Bucket=name)
        client.close()

    def note_errors(self, what: str, pool: Pool, errors: int) -> None:
        if errors:
            message = f"{what}: {errors} failed operations, first: {pool.first_errors}"
            log(message)
            self.errors.append(message)

    def sizes(self) -> list[tuple[str, int, int]]:
        chosen = []
        for label in self.args.sizes:
            size, count = SIZES[label]
            if self.args.quick:
                count = max(2, count // 10)
            chosen.append((label, size, count))
        return chosen

    # -- 1. the registry directly ------------------------------------------------------------

    def direct(self) -> None:
        out = self.results["direct"]
        repository = f"{PREFIX}/direct-blobs/00"
        with clients.registry_client(self.live_registry) as client:
            for label, size, count in self.sizes():
                chosen = seeds(count)
                warm_digests(chosen, size)
                digests: list[str] = []

                def put(
                    i: int,
                    chosen: list[int] = chosen,
                    size: int = size,
                    digests: list[str] = digests,
                ) -> None:
                    digests.append(clients.push_blob(client, repository, chosen[i], size))

                def get(i: int, size: int = size, digests: list[str] = digests) -> None:
                    clients.get_blob(client, repository, digests[i], size)

                with self.phase(f"direct.put.{label}") as record:
                    record["put"] = summary(sequential(put, count), bytes_per_op=size)
                with self.phase(f"direct.get.{label}") as record:
                    record["get"] = summary(sequential(get, count), bytes_per_op=size)
                out[label] = {
                    "put": self.phases[f"direct.put.{label}"]["put"],
                    "get": self.phases[f"direct.get.{label}"]["get"],
                }
        if "4KiB" in self.args.sizes:
            out["concurrent_4KiB"] = self.direct_objects(
                f"direct-4k-r{self.round}", CONCURRENT_CLIENTS
            )

    def direct_objects(self, bucket: str, workers: int) -> dict[str, Any]:
        """8 clients: blob + manifest push, then manifest + blob pull, per object."""
        count = CONCURRENT_OPS // (10 if self.args.quick else 1)
        with clients.registry_client(self.live_registry) as client:
            for shard in range(256):
                clients.ensure_config(client, f"{PREFIX}/{bucket}/{shard:02x}")
        chosen = seeds(count)
        pool = Pool(workers, lambda: clients.registry_client(self.live_registry))

        def push(client: httpx.Client, i: int) -> None:
            clients.push_object(client, PREFIX, bucket, f"k/{i:07d}", chosen[i], SMALL)

        with self.phase("direct.push.4KiB.x8") as record:
            latencies, _, errors, wall = pool.run(push, count)
            record["push"] = summary(latencies, wall=wall, bytes_per_op=SMALL, errors=errors)
        self.note_errors("direct push", pool, errors)
        order = random.Random(7).choices(range(count), k=count)

        def pull(client: httpx.Client, i: int) -> None:
            clients.pull_object(client, PREFIX, bucket, f"k/{order[i]:07d}", SMALL)

        with self.phase("direct.pull.4KiB.x8") as record:
            latencies, _, errors, wall = pool.run(pull, count)
            record["pull"] = summary(latencies, wall=wall, bytes_per_op=SMALL, errors=errors)
        self.note_errors("direct pull", pool, errors)
        return {
            "clients": workers,
            "push": self.phases["direct.push.4KiB.x8"]["push"],
            "pull": self.phases["direct.pull.4KiB.x8"]["pull"],
        }

    @property
    def phases(self) -> dict[str, dict[str, Any]]:
        assert self.monitor is not None
        return self.monitor.phases

    def end_round(self) -> None:
        """File this round's direct and gateway results and phases under ``rounds``; the
        phases keep their place in the report as ``<name> r<round>``."""
        taken = {
            name: phase
            for name, phase in self.phases.items()
            if name.startswith(("direct.", "gateway.")) and " " not in name  # not filed yet
        }
        for name in taken:
            self.phases[f"{name} r{self.round}"] = self.phases.pop(name)
        self.results["rounds"].append(
            {"direct": self.results["direct"], "gateway": self.results["gateway"], "phases": taken}
        )
        self.results["direct"], self.results["gateway"] = {}, {}
        self.round += 1

    # -- 2. the same through the gateway -------------------------------------------------------

    def through_gateway(self) -> None:
        out = self.results["gateway"]
        bucket = f"bench-r{self.round}"
        self.create_bucket(bucket)
        s3 = self.s3()
        with httpx.Client(timeout=clients.TIMEOUT) as raw:
            for label, size, count in self.sizes():
                modes = list(clients.PUT_MODES) if size >= BIG else ["put"]
                entry: dict[str, Any] = {}
                keys: list[str] = []
                for mode in modes:
                    chosen = seeds(count)
                    warm_digests(chosen, size)
                    names = [f"{label}/{mode}/{i}" for i in range(count)]
                    keys = keys or names
                    put = self._put(raw, s3, bucket, names, chosen, size, mode)
                    with self.phase(f"gateway.{mode}.{label}") as record:
                        record[mode] = summary(sequential(put, count), bytes_per_op=size)
                    entry[mode] = record[mode]
                    entry[f"{mode}_rss_peak_mib"] = record["gateway_rss_peak_mib"]

                def get(i: int, keys: list[str] = keys, size: int = size) -> None:
                    clients.gateway_get(s3, bucket, keys[i], size)

                with self.phase(f"gateway.get.{label}") as record:
                    record["get"] = summary(sequential(get, count), bytes_per_op=size)
                entry["get"] = record["get"]
                entry["get_rss_peak_mib"] = record["gateway_rss_peak_mib"]
                out[label] = entry
        s3.close()
        if "4KiB" in self.args.sizes:
            out["concurrent_4KiB"] = self.gateway_objects(bucket, CONCURRENT_CLIENTS)

    def _put(
        self,
        raw: httpx.Client,
        s3: Any,
        bucket: str,
        names: list[str],
        chosen: list[int],
        size: int,
        mode: str,
    ) -> Callable[[int], None]:
        """Big bodies: httpx, streamed, in one of ``clients.PUT_MODES``.
        Small ones: boto3 PutObject with the body in memory (it signs the payload)."""
        if size >= BIG:
            put = clients.gateway_put_chunked if "trailer" in mode else clients.gateway_put
            signed = mode in ("put_signed", "put_trailer_signed")

            def stream(i: int) -> None:
                put(raw, self.url, bucket, names[i], chosen[i], size, signed=signed)

            return stream

        def small(i: int) -> None:
            s3.put_object(Bucket=bucket, Key=names[i], Body=data.whole(chosen[i], size))

        return small

    def gateway_objects(self, bucket: str, workers: int) -> dict[str, Any]:
        count = CONCURRENT_OPS // (10 if self.args.quick else 1)
        chosen = seeds(count)
        pool = Pool(workers, self.s3)

        def put(client: Any, i: int) -> None:
            body = data.whole(chosen[i], SMALL)
            client.put_object(Bucket=bucket, Key=f"c4k/{i:07d}", Body=body)

        with self.phase("gateway.put.4KiB.x8") as record:
            latencies, _, errors, wall = pool.run(put, count)
            record["put"] = summary(latencies, wall=wall, bytes_per_op=SMALL, errors=errors)
        self.note_errors("gateway 4 KiB put", pool, errors)
        order = random.Random(7).choices(range(count), k=count)

        def get(client: Any, i: int) -> None:
            clients.gateway_get(client, bucket, f"c4k/{order[i]:07d}", SMALL)

        with self.phase("gateway.get.4KiB.x8") as record:
            latencies, _, errors, wall = pool.run(get, count)
            record["get"] = summary(latencies, wall=wall, bytes_per_op=SMALL, errors=errors)
        self.note_errors("gateway 4 KiB get", pool, errors)
        return {
            "clients": workers,
            "put": self.phases["gateway.put.4KiB.x8"]["put"],
            "get": self.phases["gateway.get.4KiB.x8"]["get"],
        }

    # -- 3. many objects in one bucket ---------------------------------------------------------

    def scale(self, total: int) -> dict[str, Any]:
        out: dict[str, Any] = {"objects": total, "writers": SCALE_WRITERS, "size": SCALE_SIZE}
        bucket = f"scale-{total}"
        self.create_bucket(bucket)
        chosen = seeds(total)
        pool = Pool(SCALE_WRITERS, self.s3)

        def put(client: Any, i: int) -> None:
            body = data.whole(chosen[i], SCALE_SIZE)
            client.put_object(Bucket=bucket, Key=f"obj/{i:07d}", Body=body)

        with self.phase(f"scale.{total}.put") as record:
            latencies, done, errors, wall = pool.run(put, total)
            record["put"] = summary(latencies, wall=wall, errors=errors)
            record["put"]["rate_by_tenth"] = windows(done)
        self.note_errors(f"scale {total} put", pool, errors)
        out["put"] = record["put"]

        sample = random.Random(3).sample(range(total), min(1000, total))
        s3 = self.s3()

        def get(i: int) -> None:
            clients.gateway_get(s3, bucket, f"obj/{sample[i]:07d}", SCALE_SIZE)

        with self.phase(f"scale.{total}.get") as record:
            record["get"] = summary(sequential(get, len(sample)))
        out["get"] = record["get"]

        pages = (total + 999) // 1000
        with httpx.Client(timeout=clients.TIMEOUT) as raw:
            listed = [0]

            def page(i: int) -> None:
                after = None if i == 0 else f"obj/{i * 1000 - 1:07d}"
                listed[0] += clients.gateway_list_page(raw, self.url, bucket, after)

            with self.phase(f"scale.{total}.list") as record:
                record["list_page"] = summary(sequential(page, pages))
                record["list_page"]["keys_listed"] = listed[0]
        out["list_page"] = record["list_page"]
        if listed[0] != total:
            self.errors.append(f"scale {total}: listed {listed[0]} keys of {total}")

        paginator = s3.get_paginator("list_objects_v2")
        began, seen = time.perf_counter(), 0
        for response in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 1000}):
            seen += response.get("KeyCount", 0)
        elapsed = time.perf_counter() - began
        out["list_boto3_page_mean_ms"] = round(elapsed / max(pages, 1) * 1000, 2)
        s3.close()

        with clients.registry_client(self.live_registry) as client:
            shard = mapping.locate(PREFIX, bucket, "obj/0000000").repository

            def tags(i: int) -> None:
                clients._check(client.get(f"/v2/{shard}/tags/list"), 200)

            out["registry_tags_list_one_shard"] = summary(sequential(tags, 20))
            out["registry_tags_in_shard"] = len(
                client.get(f"/v2/{shard}/tags/list").json().get("tags") or []
            )
        if not self.args.no_direct_scale:
            out["direct"] = self.direct_scale(total)
        return out

    def direct_scale(self, total: int) -> dict[str, Any]:
        """The same number of blob + manifest pushes straight into the registry, spread over
        the 256 shards as the gateway does (the ceiling of the gateway's PUT rate); with
        ``--single-repo`` also all into one repository, to compare layouts."""
        out: dict[str, Any] = {}
        layouts = ["sharded", "single"] if self.args.single_repo else ["sharded"]
        for layout in layouts:
            bucket = f"direct-{layout}-{total}"
            single = f"{PREFIX}/{bucket}/all" if layout == "single" else None
            with clients.registry_client(self.live_registry) as client:
                for shard in (
                    [single] if single else [f"{PREFIX}/{bucket}/{s:02x}" for s in range(256)]
                ):
                    clients.ensure_config(client, shard)
            chosen = seeds(total)
            pool = Pool(SCALE_WRITERS, lambda: clients.registry_client(self.live_registry))

            def push(
                client: httpx.Client,
                i: int,
                bucket: str = bucket,
                single: str | None = single,
                chosen: list[int] = chosen,
            ) -> None:
                key = f"obj/{i:07d}"
                clients.push_object(
                    client, PREFIX, bucket, key, chosen[i], SCALE_SIZE, repository=single
                )

            with self.phase(f"scale.{total}.direct.{layout}") as record:
                latencies, done, errors, wall = pool.run(push, total)
                record["push"] = summary(latencies, wall=wall, errors=errors)
                record["push"]["rate_by_tenth"] = windows(done)
            self.note_errors(f"direct {layout} {total}", pool, errors)
            entry = {"push": record["push"]}
            repository = single or mapping.locate(PREFIX, bucket, "obj/0000000").repository
            with clients.registry_client(self.live_registry) as client:

                def tags(i: int, repository: str = repository) -> None:
                    clients._check(client.get(f"/v2/{repository}/tags/list"), 200)

                entry["tags_list"] = summary(sequential(tags, 10))
            out[layout] = entry
        return out


# -- targets, report, main ----------------------------------------------------------------------


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _target(
    name: str, measured: float | None, goal: float, higher: bool, unit: str
) -> dict[str, Any]:
    met = None if measured is None else (measured >= goal if higher else measured < goal)
    return {
        "target": name,
        "measured": measured,
        "goal": goal,
        "unit": unit,
        "met": met,
        "higher": higher,
    }


def _cpu_ms(phases: dict[str, dict[str, Any]], name: str, field: str) -> float | None:
    """The gateway's CPU per operation of a phase, in ms."""
    phase = phases.get(name)
    if not phase or not phase.get(field, {}).get("n"):
        return None
    return round(phase["cpu_s"]["gateway"] / phase[field]["n"] * 1000, 2)


def round_targets(
    direct: dict[str, Any], gateway: dict[str, Any], phases: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The targets one round of direct and gateway phases measures (issue 11's goals)."""
    found: list[dict[str, Any]] = []
    for label in ("64MiB", "1GiB"):
        if label in direct and label in gateway:
            for mode in clients.PUT_MODES:
                ratio = _ratio(gateway[label][mode]["mb_per_s"], direct[label]["put"]["mb_per_s"])
                found.append(_target(f"{label} {mode} MB/s vs direct", ratio, 0.9, True, "ratio"))
            ratio = _ratio(gateway[label]["get"]["mb_per_s"], direct[label]["get"]["mb_per_s"])
            found.append(_target(f"{label} GET MB/s vs direct blob GET", ratio, 0.9, True, "ratio"))
    big = [v for k, v in phases.items() if k.startswith("gateway.") and k.endswith(".1GiB")]
    if big:
        peak = max(p["gateway_rss_peak_mib"] for p in big)
        found.append(_target("gateway peak RSS while moving 1 GiB", peak, 150, False, "MiB"))
    if "concurrent_4KiB" in direct and "concurrent_4KiB" in gateway:
        d, g = direct["concurrent_4KiB"], gateway["concurrent_4KiB"]
        put = _ratio(g["put"]["ops_per_s"], d["push"]["ops_per_s"])
        get = _ratio(g["get"]["ops_per_s"], d["pull"]["ops_per_s"])
        found.append(_target("4 KiB PUT x8 vs direct blob+manifest push", put, 0.9, True, "ratio"))
        found.append(_target("4 KiB GET x8 vs direct manifest+blob pull", get, 1.0, True, "ratio"))
    if "concurrent_4KiB" in gateway:
        rate = gateway["concurrent_4KiB"]["get"]["ops_per_s"]
        found.append(_target("4 KiB GET x8 ops/s", rate, 1500, True, "/s"))
        for verb, field, goal in (("GET", "get", 0.5), ("PUT", "put", 3.0)):
            cpu = _cpu_ms(phases, f"gateway.{field}.4KiB.x8", field)
            found.append(_target(f"gateway CPU per 4 KiB {verb} (x8)", cpu, goal, False, "ms"))
    return found


def _median_of_rounds(per_round: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One entry per target: the median of its rounds, with every round's value and the
    spread (min, max); met or missed by the median."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for found in per_round:
        for entry in found:
            by_name.setdefault(entry["target"], []).append(entry)
    merged = []
    for name, entries in by_name.items():
        values = [e["measured"] for e in entries if e["measured"] is not None]
        first = entries[0]
        middle = round(statistics.median(values), 3) if values else None
        entry = _target(name, middle, first["goal"], first["higher"], first["unit"])
        entry["rounds"] = [e["measured"] for e in entries]
        entry["spread"] = [min(values), max(values)] if values else None
        merged.append(entry)
    return merged


OCI_TARGETS = (
    ("/v2/ 512 MiB layer push MB/s vs direct", "layer_push", 0.9),
    ("/v2/ 512 MiB layer pull MB/s vs direct", "layer_pull", 0.9),
    ("/v2/ small manifest PUT x8 ops/s vs direct", "manifest_put", 0.8),
    ("/v2/ small manifest GET x8 ops/s vs direct", "manifest_get", 0.8),
)


def targets(results: dict[str, Any], phases: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The ratios the performance targets are stated in (docs/performance.md)."""
    rounds = results.get("rounds") or []
    found = _median_of_rounds(
        [round_targets(r["direct"], r["gateway"], r["phases"]) for r in rounds]
    )
    auth = results.get("identity") or {}
    if auth.get("spread") is not None:
        found.append(
            _target(
                "4 KiB GET x8: SigV4 / Bearer / anonymous spread",
                auth["spread"],
                0.10,
                False,
                "ratio",
            )
        )
    supply = results.get("supply") or {}
    if supply.get("difference_ms") is not None:
        found.append(
            _target(
                "1 MiB GET: require-signature minus ordinary bucket",
                supply["difference_ms"],
                1.0,
                False,
                "ms",
            )
        )
    oci_rounds = (results.get("oci") or {}).get("rounds") or []
    if oci_rounds:
        found.extend(
            _median_of_rounds(
                [
                    [
                        _target(name, r["ratios"][field], goal, True, "ratio")
                        for name, field, goal in OCI_TARGETS
                    ]
                    for r in oci_rounds
                ]
            )
        )
    sdk = results.get("sdk") or {}
    for name in sdk_bench.SDKS if sdk else ():
        for way in sdk_bench.WAYS if name in sdk else ():
            found.append(
                _target(
                    f"{SDK_NAMES[name]} {sdk['size'] >> 20} MiB {way}load MB/s vs aws-cli "
                    "(median of per-round ratios)",
                    sdk[name]["ratio"][way]["median"]
                    if "ratio" in sdk[name]
                    else _ratio(sdk[name][way], sdk["aws_cli"][way]),
                    0.9,
                    True,
                    "ratio",
                )
            )
    parts = results.get("multipart") or {}
    if parts:
        for name, label in (("aws_s3_cp", "aws-cli v1"), ("aws_v2_s3_cp", "aws-cli v2")):
            if name in parts:
                cp = _ratio(parts[name]["mb_per_s"], parts["direct_chunked_upload"]["mb_per_s"])
                found.append(
                    _target(
                        f"{label} s3 cp MB/s vs direct chunked blob upload", cp, 0.8, True, "ratio"
                    )
                )
        peak = max(parts[name]["gateway_rss_peak_mib"] for name in ("big_upload", "big_read"))
        found.append(
            _target(
                f"gateway peak RSS, {parts['big_size'] >> 30} GiB in 8 parallel parts",
                peak,
                200,
                False,
                "MiB",
            )
        )
    return found


def _rounds(record: dict[str, Any]) -> str:
    rounds = record.get("rounds", [])
    return f"{record.get('mb_per_s')} ({', '.join(str(rate) for rate in rounds)})"


def _row(cells: list[Any], widths: list[int]) -> str:
    return "  ".join(
        str(c).rjust(w) if i else str(c).ljust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def render(report: dict[str, Any]) -> str:
    lines: list[str] = []
    results, phases = report["results"], report["phases"]
    widths = [36, 6, 7, 7, 8, 8, 8, 16]
    head = ["phase", "n", "MB/s", "ops/s", "p50 ms", "p99 ms", "gw RSS", "CPU s gw/reg/cli"]
    lines += ["", _row(head, widths), "-" * (sum(widths) + 2 * len(widths))]
    for name, phase in phases.items():
        cpu = "/".join(str(phase["cpu_s"][p]) for p in ("gateway", "registry", "bench"))
        if "mb_per_s" in phase:  # one timed transfer (the multipart part)
            row = [name, 1, phase["mb_per_s"], "", "", "", phase["gateway_rss_peak_mib"], cpu]
            lines.append(_row(row, widths))
        for value in phase.values():
            if isinstance(value, dict) and "p50_ms" in value:
                lines.append(
                    _row(
                        [
                            f"{name}",
                            value["n"],
                            value.get("mb_per_s", ""),
                            value["ops_per_s"],
                            value["p50_ms"],
                            value["p99_ms"],
                            phase["gateway_rss_peak_mib"],
                            "/".join(
                                str(phase["cpu_s"][p]) for p in ("gateway", "registry", "bench")
                            ),
                        ],
                        widths,
                    )
                )
    for total, entry in results["scale"].items():
        lines.append("")
        lines.append(
            f"scale {total}: PUT rate by tenth {entry['put'].get('rate_by_tenth')}; "
            f"boto3 list page mean {entry['list_boto3_page_mean_ms']} ms; registry tags/list of "
            f"one shard ({entry['registry_tags_in_shard']} tags) p50 "
            f"{entry['registry_tags_list_one_shard']['p50_ms']} ms"
        )
        for layout, direct in entry.get("direct", {}).items():
            lines.append(
                f"  direct {layout}: {direct['push']['ops_per_s']} pushes/s, by tenth "
                f"{direct['push'].get('rate_by_tenth')}; tags/list p50 "
                f"{direct['tags_list']['p50_ms']} ms"
            )
    supply = results.get("supply") or {}
    if supply:
        lines.append("")
        lines.append(
            f"supply chain: 1 MiB GET p50 {supply['plain']['p50_ms']} ms (ordinary bucket) vs "
            f"{supply['require_signature']['p50_ms']} ms (require-signature); difference of "
            f"means {supply['difference_ms']} ms, of medians {supply['difference_p50_ms']} ms; "
            f"first GET (verdict computed) {supply['first_get_ms']} ms"
        )
    oci = results.get("oci") or {}
    for number, measured in enumerate(oci.get("rounds") or []):
        lines.append(
            f"/v2/ round {number + 1} ({'/'.join(measured['order'])}): "
            + ", ".join(f"{name} {value}" for name, value in measured["ratios"].items())
        )
    parts = results.get("multipart") or {}
    if parts:
        lines.append("")
        lines.append(
            f"multipart ({parts['aws_cli']}; {parts['aws_cli_v2']}), median round (all "
            f"rounds): direct chunked upload {_rounds(parts['direct_chunked_upload'])} MB/s, "
            f"aws s3 cp v1 {_rounds(parts['aws_s3_cp'])} MB/s, "
            f"v2 {_rounds(parts.get('aws_v2_s3_cp', {}))} MB/s; "
            f"{parts['big_size'] / (1 << 30):g} GiB in 8 "
            f"parallel parts: up {parts['big_upload']['mb_per_s']} MB/s, read "
            f"{parts['big_read']['mb_per_s']} MB/s, SHA-256 match "
            f"{parts['big_read']['sha256_matches']}; scaling MB/s by threads "
            + ", ".join(f"{t}: {r['mb_per_s']}" for t, r in parts["scaling"].items())
        )
    sdk = results.get("sdk") or {}
    if sdk:
        lines.append("")
        lines.append(
            f"sdk ({sdk['aws_cli_version']}), {sdk['size'] >> 20} MiB, median round MB/s "
            f"(CPU s): aws-cli up {sdk['aws_cli']['up']} "
            f"({sdk['aws_cli'].get('up_cpu_s', '?')}) down {sdk['aws_cli']['down']} "
            f"({sdk['aws_cli'].get('down_cpu_s', '?')})"
        )
        for name in SDK_NAMES:
            entry = sdk.get(name)
            if not entry:
                continue
            ratio = entry.get("ratio") or {}
            lines.append(
                f"  {SDK_NAMES[name]}: "
                + "; ".join(
                    f"{way} {entry[way]} MB/s ({entry.get(f'{way}_cpu_s', '?')} CPU s)"
                    + (
                        f", ratio {ratio[way]['median']} [{ratio[way]['min']}-{ratio[way]['max']}]"
                        if way in ratio
                        else ""
                    )
                    for way in sdk_bench.WAYS
                )
            )
    zb = (results.get("zb") or {}).get("tests")
    if zb:
        lines.append("")
        lines.append(
            f"zb (Zot's own benchmark, {results['zb']['concurrency']} clients, "
            f"{results['zb']['requests']} requests each test): "
            + "; ".join(f"{name} {v['value']} {v['unit']}" for name, v in zb.items())
        )
    lines += ["", "targets:"]
    for target in report["targets"]:
        verdict = {True: "MET", False: "MISSED", None: "n/a"}[target["met"]]
        spread = target.get("spread")
        rounds = f" (rounds {target['rounds']})" if spread else ""
        lines.append(
            f"  {verdict:6} {target['target']}: {target['measured']} {target['unit']}{rounds} "
            f"(goal {'>=' if target.get('higher', True) else '<'} {target['goal']})"
        )
    problems = results.get("gateway_log", {})
    if problems.get("problems"):
        lines += ["", f"gateway log: {problems['problems']} warnings/errors, first:"]
        lines += [f"  {line}" for line in problems["first"]]
    if report["errors"]:
        lines += ["", "errors:", *[f"  {e}" for e in report["errors"]]]
    return "\n".join(lines)


def machine(registry: RunningRegistry | None) -> dict[str, Any]:
    version = ""
    if registry is not None and registry.kind == "zot":
        version = f"zot {ZOT_VERSION} (tags {ZOT_TAGS})"
    if registry is not None and registry.kind == "distribution":
        binary = shutil.which("docker-registry")
        if binary:
            version = subprocess.run(
                [binary, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--", "gateway"):
        commit += " (gateway/ had uncommitted changes)"
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / (1 << 30), 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "registry": registry.kind if registry else None,
        "registry_version": version,
        "commit": commit,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[10_000],
        help="objects in the big bucket, comma-separated (default 10000)",
    )
    parser.add_argument(
        "--only",
        choices=[
            *("zb", "direct", "gateway", "scale", "multipart", "identity", "supply", "oci"),
            "sdk",
        ],
        action="append",
        help="run only these parts (repeatable; default all)",
    )
    parser.add_argument(
        "--sizes",
        type=lambda v: v.split(","),
        default=list(SIZES),
        help=f"object sizes, comma-separated, of {','.join(SIZES)}",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the operations")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="gateway worker processes, as a deployment runs it (default: the machine's cores)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of direct and gateway phases, order flipped each round; every ratio is "
        "taken per round and reported as the median with its spread (default 3)",
    )
    parser.add_argument(
        "--cp-size",
        type=lambda v: int(float(v) * (1 << 30)),
        default=2 << 30,
        help="GiB of the `aws s3 cp` file of the multipart part (default 2)",
    )
    parser.add_argument(
        "--cp-rounds",
        type=int,
        default=3,
        help="rounds of direct upload, aws-cli v1 and v2 `s3 cp`, order rotated (default 3)",
    )
    parser.add_argument(
        "--sdk-size",
        type=lambda v: int(float(v) * (1 << 30)),
        default=1 << 30,
        help="GiB of the file the sdk part uploads and downloads (default 1)",
    )
    parser.add_argument(
        "--sdk-rounds",
        type=int,
        default=2,
        help="rounds of aws-cli and the Python, Go and JS SDKs, order rotated (default 2)",
    )
    parser.add_argument(
        "--sdk-diagnose",
        action="store_true",
        help="sdk part: also the Python SDK without its fsync per downloaded range",
    )
    parser.add_argument(
        "--keep-work",
        action="store_true",
        help="keep the work directory (registry storage, gateway data, logs) for a post-mortem",
    )
    parser.add_argument(
        "--big-size",
        type=lambda v: int(float(v) * (1 << 30)),
        default=10 << 30,
        help="GiB of the object uploaded in 8 parallel parts (default 10)",
    )
    parser.add_argument(
        "--no-direct-scale",
        action="store_true",
        help="skip the direct-registry pushes (sharded vs one repository) of the scale part",
    )
    parser.add_argument(
        "--single-repo",
        action="store_true",
        help="also push the scale objects straight into ONE repository (sharding baseline)",
    )
    parser.add_argument(
        "--gateway-prefix",
        help="command that wraps `-m gateway ...` (default: the venv's python), e.g. a profiler",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=60,
        help="seconds the gateway may take to answer /readyz (more on a loaded machine)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--work-dir", type=Path, help="where registry and index live (temp)")
    return parser


STEPS: list[tuple[str, Callable[[Bench], None]]] = [
    ("direct", Bench.direct),
    ("gateway", Bench.through_gateway),
]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    unknown = set(args.sizes) - set(SIZES)
    if unknown:
        raise SystemExit(f"unknown sizes {sorted(unknown)}: choose from {list(SIZES)}")
    parts = args.only or [
        *("zb", "direct", "gateway", "scale", "multipart", "identity", "supply", "oci")
    ]
    work = Path(tempfile.mkdtemp(prefix="artifact-bench-", dir=args.work_dir))
    bench = Bench(args, work)
    began = time.perf_counter()
    try:
        bench.start(with_keycloak="identity" in parts)
        if "zb" in parts:  # Zot's own rates first: the ceiling
            bench.results["zb"] = zb_bench.run(bench)
        # Direct and gateway phases alternate round by round, the order flipped each round:
        # shared cores drift, and a ratio is only fair between phases run side by side.
        steps = [(name, step) for name, step in STEPS if name in parts]
        for number in range(args.rounds if steps else 0):
            for _, step in steps if number % 2 == 0 else reversed(steps):
                step(bench)
            bench.end_round()
        if "scale" in parts:
            for total in args.scale:
                bench.results["scale"][str(total)] = bench.scale(total)
        if "multipart" in parts:
            bench.results["multipart"] = multipart_bench.run(bench)
        if "identity" in parts:
            bench.results["identity"] = identity_bench.run(bench)
        if "supply" in parts:
            bench.results["supply"] = supply_bench.run(bench)
        if "oci" in parts:
            bench.results["oci"] = oci_bench.run(bench)
        if "sdk" in parts:  # opt-in: not in the default set (4 GiB moved per round)
            bench.results["sdk"] = sdk_bench.run(bench)
    finally:
        bench.stop()
        report: dict[str, Any] = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": " ".join(["scripts/bench.sh", *(sys.argv[1:] if argv is None else argv)]),
            "duration_s": round(time.perf_counter() - began, 1),
            "machine": {**machine(bench.registry), "gateway_workers": args.workers},
            "results": bench.results,
            "phases": bench.monitor.phases if bench.monitor else {},
            "errors": bench.errors,
        }
        report["targets"] = targets(bench.results, report["phases"])
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        if args.keep_work:
            log(f"kept {work} (the registry's and the gateway's data and logs)")
        else:
            log(f"removing {work} (a registry of many small files takes a while)")
            shutil.rmtree(work, ignore_errors=True)
    print(render(report))
    shown = args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out
    print(f"\nwrote {shown} in {report['duration_s']} s")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
