"""Markdown tables from a results file, as pasted into docs/performance.md.

.venv/bin/python -m bench.report [bench/results/latest.json]
.venv/bin/python -m bench.report bench/results/<date>-soak-<label>.json   # a soak run
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.fixtures.processes import ROOT


def _per_op(phase: dict[str, Any], n: int, who: str) -> str:
    return f"{phase['cpu_s'][who] / n * 1000:.1f}" if n else ""


def phases_table(phases: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "| phase | n | MB/s | ops/s | p50 ms | p99 ms | gateway peak RSS MiB "
        "| CPU ms/op gateway / registry / client | other CPU s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, phase in phases.items():
        for value in phase.values():
            if not (isinstance(value, dict) and "p50_ms" in value):
                continue
            n = value["n"]
            cpu = " / ".join(_per_op(phase, n, who) for who in ("gateway", "registry", "bench"))
            lines.append(
                f"| {name} | {n} | {value.get('mb_per_s', '')} | {value['ops_per_s']} "
                f"| {value['p50_ms']} | {value['p99_ms']} | {phase['gateway_rss_peak_mib']} "
                f"| {cpu} | {phase['cpu_s'].get('other', '')} |"
            )
    return lines


def targets_table(targets: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| target | goal | measured (median of rounds) | rounds | verdict |",
        "|---|--:|--:|---|---|",
    ]
    for target in targets:
        above = target.get("higher", target["unit"] != "MiB")
        goal = (">= " if above else "< ") + f"{target['goal']} {target['unit']}"
        verdict = {True: "met", False: "**missed**", None: "n/a"}[target["met"]]
        rounds = ", ".join(str(value) for value in target.get("rounds", []))
        lines.append(
            f"| {target['target']} | {goal} | {target['measured']} {target['unit']} "
            f"| {rounds} | {verdict} |"
        )
    return lines


def soak_tables(report: dict[str, Any]) -> list[str]:
    """A soak run (bench/soak.py): latency per operation, then RSS and fds of the gateway."""
    load, resources = report["load"], report["resources"]
    lines = [
        "| operation | n | errors | p50 ms | p99 ms | max ms | service p99 ms |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for op, value in load["overall"].items():
        lines.append(
            f"| {op} | {value['n']} | {value['errors']} | {value['p50_ms']} | {value['p99_ms']} "
            f"| {value['max_ms']} | {value['service_p99_ms']} |"
        )
    lines += [
        "",
        "| series | start | end | min | max | after idle | slope /min (± s.e.) "
        "| limit /min | flat |",
        "|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for name, value in resources.items():
        if isinstance(value, dict) and "slope_per_min" in value:
            lines.append(
                f"| {name} | {value['start']} | {value['end']} | {value['min']} | {value['max']} "
                f"| {value['after']} | {value['slope_per_min']} (± "
                f"{value['slope_stderr_per_min']}) | {value['flat_limit_per_min']} "
                f"| {'yes' if value['flat'] else '**no**'} |"
            )
    return lines


def main(path: Path) -> None:
    report = json.loads(path.read_text())
    if "load" in report:
        print(f"<!-- {path.name}: {report['command']}, {report['when']} -->\n")
        print("\n".join(soak_tables(report)))
        return
    print(f"<!-- {path.name}: {report['command']}, {report['when']}, {report['duration_s']} s,")
    print(f"     {report['machine']} -->\n")
    print("\n".join(phases_table(report["phases"])))
    if report.get("targets"):
        print()
        print("\n".join(targets_table(report["targets"])))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "results" / "latest.json")
