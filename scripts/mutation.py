"""Mutation testing (R14.10): mutmut 3 over policy, auth and the object/multipart domain code.

Each area is mutated in its own directory, .mutation/<area>/, which holds links to gateway/ and
tests/ and a pyproject.toml whose [tool.mutmut] table names the area's files and its unit-test
directory; mutmut copies them into .mutation/<area>/mutants/ and runs, for each mutant, only the
unit tests that reached the mutated function. Results are kept there between runs: a second run
tests only what is new or changed (--fresh starts over, --retest-survivors tries the survivors of
the last run again, after tests were added; --retest GLOB only those matching).

The summary (killed / survived / timeout / no tests / total, and the score per area) is printed
and written to tests/mutation/results/<date>.json. Run it through scripts/mutation.sh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
RESULTS = ROOT / "tests" / "mutation" / "results"


@dataclass(frozen=True)
class Area:
    name: str
    mutate: tuple[str, ...]  # only_mutate globs, relative to the project root
    tests: tuple[str, ...]  # the unit-test directories that run against the mutants


AREAS = {
    area.name: area
    for area in (
        Area("policy", ("gateway/policy/*",), ("tests/unit/policy",)),
        Area("auth", ("gateway/auth/*",), ("tests/unit/auth",)),
        Area(
            "domain",
            (
                "gateway/domain/objects.py",
                "gateway/domain/multipart.py",
                "gateway/domain/conditions.py",
            ),
            ("tests/unit/domain",),
        ),
    )
}

# What the score counts as detected, and what it leaves out (never run).
DETECTED = ("killed", "timeout", "caught by type check")
NOT_RUN = ("not checked", "skipped")


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def area_pyproject(area: Area) -> str:
    """The project's pyproject.toml with its [tool.mutmut] table narrowed to one area."""
    text = (ROOT / "pyproject.toml").read_text()
    table = dict(tomllib.loads(text)["tool"]["mutmut"])
    table["only_mutate"] = list(area.mutate)
    table["pytest_add_cli_args_test_selection"] = list(area.tests)
    # Drop the table (header to the next header) and append the narrowed one.
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[)", "", text)
    body = "".join(f"{key} = {toml_value(value)}\n" for key, value in table.items())
    return text.rstrip("\n") + "\n\n[tool.mutmut]\n" + body


def prepare(area: Area, *, fresh: bool) -> Path:
    work = WORK / area.name
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("gateway", "tests"):
        link = work / name
        if not link.is_symlink():
            link.symlink_to(Path("..") / ".." / name)
    (work / "pyproject.toml").write_text(area_pyproject(area))
    return work


def mutmut(work: Path, *args: str, budget: float | None = None) -> int:
    """Run mutmut in an area's directory; past the budget it is interrupted, and killed a
    minute later if still running (mutmut 3.8 does not stop on SIGINT while its workers run;
    each finished mutant's result is already saved)."""
    command = [sys.executable, "-m", "mutmut", *args]
    print(f"[mutation] ({work.relative_to(ROOT)}) mutmut {' '.join(args)}", flush=True)
    process = subprocess.Popen(command, cwd=work, start_new_session=True)  # noqa: S603
    try:
        return process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        print(f"[mutation] time budget of {budget:.0f} s spent: interrupting", flush=True)
        os.kill(process.pid, signal.SIGINT)  # mutmut stops its own workers
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait()


def statuses(work: Path) -> dict[str, str]:
    """Every mutant of the area and its status, as `mutmut results --all true` lists them."""
    listing = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, str] = {}
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("gateway."):
            found[name] = status
    return found


def summarise(area: Area, found: dict[str, str], seconds: float) -> dict[str, object]:
    counts: dict[str, int] = {}
    for status in found.values():
        counts[status] = counts.get(status, 0) + 1
    run = sum(n for status, n in counts.items() if status not in NOT_RUN)
    detected = sum(counts.get(status, 0) for status in DETECTED)
    reached = run - counts.get("no tests", 0)
    return {
        "mutated": list(area.mutate),
        "tests": list(area.tests),
        "total": len(found),
        "killed": counts.get("killed", 0),
        "survived": counts.get("survived", 0),
        "timeout": counts.get("timeout", 0),
        "no_tests": counts.get("no tests", 0),
        "suspicious": counts.get("suspicious", 0),
        "not_checked": counts.get("not checked", 0),
        "other": {s: n for s, n in counts.items() if s not in _KNOWN},
        "score": round(100 * detected / run, 1) if run else None,
        # The same, leaving out mutants in code no test of the area reaches.
        "score_reached": round(100 * detected / reached, 1) if reached else None,
        "seconds": round(seconds),
        "survivors": sorted(name for name, status in found.items() if status == "survived"),
        "no_tests_mutants": sorted(name for name, status in found.items() if status == "no tests"),
    }


_KNOWN = {"killed", "survived", "timeout", "no tests", "suspicious", "not checked"}


def git(*args: str) -> str:
    return subprocess.run(  # noqa: S603
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def record(summaries: dict[str, dict[str, object]], commit: str, dirty: bool) -> Path:
    """Into tests/mutation/results/<date>-<commit>.json, beside other areas run at that commit."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    today = dt.date.today().isoformat()
    path = RESULTS / f"{today}-{commit}{'-dirty' if dirty else ''}.json"
    document: dict[str, object] = {"date": today, "areas": {}}
    if path.exists():
        document = json.loads(path.read_text())
    document["mutmut"] = version("mutmut")
    document["commit"] = commit
    document["dirty"] = dirty  # gateway/ or tests/unit/ differed from the commit
    areas = document["areas"]
    assert isinstance(areas, dict)
    areas.update(summaries)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def print_table(summaries: dict[str, dict[str, object]]) -> None:
    columns = [
        "killed",
        "survived",
        "timeout",
        "no_tests",
        "not_checked",
        "total",
        "score",
        "score_reached",
    ]
    print(f"\n{'area':<8}" + "".join(f"{c:>15}" for c in columns))
    for name, summary in summaries.items():
        cells = []
        for column in columns:
            value = summary[column]
            unit = "%" if column.startswith("score") and value is not None else ""
            cells.append(f"{'-' if value is None else value}{unit}")
        print(
            f"{name:<8}" + "".join(f"{cell:>15}" for cell in cells) + f"   ({summary['seconds']} s)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("areas", nargs="*", help=f"any of: {' '.join(AREAS)} (default: all)")
    parser.add_argument("--budget", type=float, default=1800, help="seconds per area (1800)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (1)")
    parser.add_argument("--fresh", action="store_true", help="forget the results of earlier runs")
    parser.add_argument(
        "--retest-survivors",
        action="store_true",
        help="test the survivors of the last run again (after adding tests)",
    )
    parser.add_argument(
        "--retest",
        action="append",
        default=[],
        metavar="GLOB",
        help="test the survivors matching GLOB again, e.g. 'gateway.auth.sigv4.*' (repeatable)",
    )
    options = parser.parse_args()
    names = options.areas or list(AREAS)
    unknown = [name for name in names if name not in AREAS]
    if unknown:
        parser.error(f"unknown area {', '.join(unknown)}: choose from {', '.join(AREAS)}")
    # What was tested: the commit and the state of the code and tests when the run began.
    commit = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--", "gateway", "tests/unit"))
    summaries: dict[str, dict[str, object]] = {}
    for name in names:
        area = AREAS[name]
        work = prepare(area, fresh=options.fresh)
        started = time.monotonic()
        jobs = ("--max-children", str(options.jobs))
        # Survivors asked for first (a plain run leaves earlier results alone), then the rest.
        globs = ["*"] if options.retest_survivors else options.retest
        found = statuses(work) if globs else {}
        again = [
            mutant
            for mutant, status in found.items()
            if status == "survived" and any(fnmatch(mutant, glob) for glob in globs)
        ]
        if again:
            mutmut(work, "run", *jobs, *again, budget=options.budget)
        left = options.budget - (time.monotonic() - started)
        if left > 0:
            mutmut(work, "run", *jobs, budget=left)
        summaries[name] = summarise(area, statuses(work), time.monotonic() - started)
    print_table(summaries)
    print(f"\n[mutation] written to {record(summaries, commit, dirty).relative_to(ROOT)}")
    print("[mutation] a survivor's diff: cd .mutation/<area> && ../../.venv/bin/mutmut show <name>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
