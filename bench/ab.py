"""Interleaved A/B of two checkouts: ``bench.run`` from each in turn, same arguments, then
the CPU per operation of every phase (gateway processes, Zot) side by side.

    .venv/bin/python -m bench.ab --base /work/wt-base --pairs 2 --label 2026-12-03-x \\
        -- --only direct --only gateway --sizes 4KiB --rounds 1

Why: on a machine shared with other work, rates move with the load, while CPU seconds per
operation (from /proc, summed over the gateway's process tree; Zot's own) stay comparable
between runs made side by side. Pairs alternate their order (base, head; head, base; ...).
``--base`` is another checkout with its own ``.venv``; head is this one. Each run goes to
``bench/results/<label>-<side>-<n>.json``, the comparison to ``<label>.json``, with the load
averages before and after every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def per_op(phase: dict[str, Any]) -> dict[str, Any] | None:
    """A phase's operations, rate and CPU ms per operation of each process group."""
    ops = [v for k, v in phase.items() if k != "cpu_s" and isinstance(v, dict) and "n" in v]
    if not ops or not ops[0]["n"]:
        return None
    n = ops[0]["n"]
    cpu = phase["cpu_s"]
    return {
        "n": n,
        "errors": ops[0].get("errors", 0),  # failed operations: their CPU is in the phase's
        "ops_per_s": ops[0].get("ops_per_s"),
        "mb_per_s": ops[0].get("mb_per_s"),
        "cpu_ms_per_op": {name: round(1000 * cpu[name] / n, 3) for name in cpu},
    }


def phases_of(path: Path) -> dict[str, dict[str, Any]]:
    """Phase name (without its round suffix) -> per-op figures."""
    found: dict[str, dict[str, Any]] = {}
    for name, phase in json.loads(path.read_text())["phases"].items():
        figures = per_op(phase)
        if figures is not None:
            found[name.rsplit(" r", 1)[0].rsplit(".r", 1)[0]] = figures
    return found


def compare(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per phase and side: every run's figures and the medians of gateway and Zot CPU."""
    table: dict[str, dict[str, Any]] = {}
    for run in runs:
        for name, figures in phases_of(Path(run["file"])).items():
            side = table.setdefault(name, {}).setdefault(run["side"], {"runs": []})
            side["runs"].append(figures)
    for sides in table.values():
        for side in sides.values():
            for group in ("gateway", "registry"):
                values = [r["cpu_ms_per_op"][group] for r in side["runs"]]
                side[f"median_{group}_cpu_ms_per_op"] = round(statistics.median(values), 3)
            rates = [r["ops_per_s"] for r in side["runs"] if r["ops_per_s"]]
            side["median_ops_per_s"] = round(statistics.median(rates), 1) if rates else None
    return table


def commit_of(checkout: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument(
        "--first-pair",
        type=int,
        default=1,
        help="number of the first pair: continues an earlier invocation with the same label "
        "(its runs are kept in <label>.json), the order still alternating by number",
    )
    parser.add_argument(
        "--tries", type=int, default=3, help="starts of a run that ended without any phase"
    )
    parser.add_argument("--label", required=True, help="results file names start with it")
    parser.add_argument("run_args", nargs=argparse.REMAINDER, help="-- then bench.run's")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        help="NAME=VALUE for both sides' runs (and their gateways), e.g. a longer registry "
        "token lifetime on a slow machine",
    )
    args = parser.parse_args()
    environment = {**os.environ, **dict(item.split("=", 1) for item in args.env)}
    run_args = [a for a in args.run_args if a != "--"]
    sides = {"base": args.base.resolve(), "head": ROOT}
    summary = RESULTS / f"{args.label}.json"
    earlier = json.loads(summary.read_text()) if args.first_pair > 1 else {}
    runs: list[dict[str, Any]] = earlier.get("runs", [])
    for pair in range(args.first_pair - 1, args.first_pair - 1 + args.pairs):
        order = ("base", "head") if pair % 2 == 0 else ("head", "base")
        for side in order:
            checkout = sides[side]
            out = RESULTS / f"{args.label}-{side}-{pair + 1}.json"
            command = [str(checkout / ".venv/bin/python"), "-m", "bench.run", *run_args]
            for attempt in range(args.tries):  # a loaded machine can miss the start deadline
                print(f"[ab] {side} {pair + 1} ({attempt + 1}): {' '.join(command)}", flush=True)
                before, started = os.getloadavg(), time.time()
                done = subprocess.run(
                    [*command, "--out", str(out)], cwd=checkout, env=environment, check=False
                )
                if out.exists() and json.loads(out.read_text()).get("phases"):
                    break
            else:
                raise SystemExit(f"{side} {pair + 1}: no results after {args.tries} starts")
            runs.append(
                {
                    "side": side,
                    "pair": pair + 1,
                    "starts": attempt + 1,
                    "returncode": done.returncode,  # not 0: the run saw errors (its file says)
                    "commit": commit_of(checkout),
                    "file": str(out.relative_to(ROOT)),
                    "seconds": round(time.time() - started, 1),
                    "load_before": [round(x, 2) for x in before],
                    "load_after": [round(x, 2) for x in os.getloadavg()],
                }
            )
    os.chdir(ROOT)
    report = {
        "what": __doc__.split("\n\n")[0],
        "command": sys.argv,
        "bench_run_args": run_args,
        "env": args.env,
        "notes": earlier.get("notes", []),
        "runs": runs,
        "phases": compare(runs),
    }
    summary.write_text(json.dumps(report, indent=1) + "\n")
    for name, by_side in report["phases"].items():
        cells = [
            f"{side} gw {v['median_gateway_cpu_ms_per_op']} "
            f"zot {v['median_registry_cpu_ms_per_op']}"
            for side, v in sorted(by_side.items())
        ]
        print(f"{name:32} " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
