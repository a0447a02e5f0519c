"""What Zot's per-request authentication costs it: the same HEAD of a blob sent with the
gateway's Basic credentials (htpasswd: bcrypt, then a MetaDB write of the user's groups) and
with a Zot session cookie (the form Zot's own UI uses: a Basic login once with
``X-ZOT-API-CLIENT: zot-ui``, then the cookie and that header only).

    .venv/bin/python -m bench.zot_auth_cost --work /tmp/zauth --out bench/results/X.json

Zot as the product runs it (tests/fixtures/registries.py; ``ZOT_BIN`` picks the binary). One
client, ``--requests`` HEADs per mode and round, the modes' order flipped each round; Zot's
CPU seconds (user + system, psutil) per request.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from tests.fixtures import registries

UI_HEADER = {"X-ZOT-API-CLIENT": "zot-ui"}


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    registry = registries.start(args.work / "registry", kind="zot")
    assert registry.auth is not None
    body = b"auth-cost"
    digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
    path = f"/v2/s3/auth-cost/00/blobs/{digest}"
    report: dict[str, Any] = {"what": __doc__.split("\n\n")[0], "requests": args.requests}
    try:
        with httpx.Client(base_url=registry.url, auth=registry.auth, timeout=30) as basic:
            basic.post(
                "/v2/s3/auth-cost/00/blobs/uploads/",
                params={"digest": digest},
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            ).raise_for_status()
            login = basic.get("/v2/", headers=UI_HEADER)
            login.raise_for_status()
            cookie = login.cookies.get("session")
            report["session_cookie_set"] = cookie is not None
            if cookie is None:
                raise SystemExit("Zot set no session cookie")
            with httpx.Client(base_url=registry.url, timeout=30) as session:
                session.cookies.set("session", cookie)
                # an unauthenticated request is refused: the cookie is what lets it in
                refused = httpx.head(f"{registry.url}{path}", timeout=30).status_code
                report["without_credentials_status"] = refused
                modes = {
                    "basic": lambda: basic.head(path),
                    "session": lambda: session.head(path, headers=UI_HEADER),
                }
                rounds: dict[str, list[dict[str, float]]] = {name: [] for name in modes}
                for number in range(args.rounds):
                    names = list(modes) if number % 2 == 0 else list(modes)[::-1]
                    for name in names:
                        before, began = _cpu(registry.process.pid), time.perf_counter()
                        for _ in range(args.requests):
                            response = modes[name]()
                            if response.status_code != 200:
                                raise SystemExit(f"{name}: HTTP {response.status_code}")
                        wall = time.perf_counter() - began
                        cpu = _cpu(registry.process.pid) - before
                        rounds[name].append(
                            {
                                "zot_cpu_ms_per_request": round(1000 * cpu / args.requests, 3),
                                "wall_ms_per_request": round(1000 * wall / args.requests, 3),
                            }
                        )
                report["rounds"] = rounds
                report["median_zot_cpu_ms_per_request"] = {
                    name: sorted(r["zot_cpu_ms_per_request"] for r in records)[len(records) // 2]
                    for name, records in rounds.items()
                }
    finally:
        registry.stop()
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["median_zot_cpu_ms_per_request"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
