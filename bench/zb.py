"""Zot's own benchmark, ``zb`` (built from the same source as Zot): the registry's rates as
its authors measure them, the ceiling before anything of ours is involved.

8 concurrent clients, the gateway's credentials, a few of zb's tests (image pushes and pulls
of 1 and 10 MB, the catalog); zb's ``ci-cd`` output is read back as the results.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.fixtures.registries import find_zot

if TYPE_CHECKING:
    from bench.run import Bench

TESTS = "^(Get Catalog|Push Monolith 1MB|Push Monolith 10MB|Pull 1MB|Pull 10MB)$"
CONCURRENCY = 8


def run(bench: Bench) -> dict[str, Any]:
    registry = bench.live_registry
    binary = find_zot("zb")
    if binary is None or registry.kind != "zot":
        return {"skipped": "zb needs Zot and scripts/zot/install.sh zb"}
    requests = 40 if bench.args.quick else 200
    command = [binary, "-c", str(CONCURRENCY), "-n", str(requests), "-t", TESTS, "-o", "ci-cd"]
    if registry.auth is not None:
        command += ["-A", ":".join(registry.auth)]
    # zb removes its working directory (test images) when done: its output goes elsewhere.
    with tempfile.TemporaryDirectory(prefix="zb-") as work:
        command += ["-d", str(Path(work) / "data"), registry.url]
        with bench.phase("zb") as record:
            done = subprocess.run(
                command, cwd=work, capture_output=True, text=True, timeout=1800, check=False
            )
            record["exit"] = done.returncode
        if done.returncode != 0:
            bench.errors.append(f"zb exited {done.returncode}: {done.stderr[-500:]}")
            return {"exit": done.returncode}
        results = json.loads((Path(work) / "ci-cd.json").read_text())
    return {
        "concurrency": CONCURRENCY,
        "requests": requests,
        "tests": {item["name"]: {"value": item["value"], "unit": item["unit"]} for item in results},
    }
