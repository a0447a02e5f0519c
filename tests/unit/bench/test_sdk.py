"""The SDK bench's arithmetic (bench/sdk.py): the round order, per-round ratios against
aws-cli with their median and spread, and how a transfer process is run and accounted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.sdk import BASELINE, inner_seconds, mb_per_s, rotation, spread, summarize, timed

names = st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=6, unique=True)


@given(names, st.integers(0, 50))
def test_rotation_is_a_permutation(order: list[str], number: int) -> None:
    assert sorted(rotation(order, number)) == sorted(order)


@given(names)
def test_every_contender_goes_first_once_per_cycle(order: list[str]) -> None:
    firsts = [rotation(order, number)[0] for number in range(len(order))]
    assert sorted(firsts) == sorted(order)


def test_rotation_of_four() -> None:
    order = ["aws_cli", "python_sdk", "go_sdk", "js_sdk"]
    assert rotation(order, 0) == order
    assert rotation(order, 1) == ["python_sdk", "go_sdk", "js_sdk", "aws_cli"]
    assert rotation(order, 4) == order
    assert rotation([], 3) == []


def test_mb_per_s_is_decimal_megabytes() -> None:
    assert mb_per_s(1 << 30, 10.0) == 107.4
    assert mb_per_s(2_000_000, 1.0) == 2.0


def test_spread_of_odd_and_even_counts() -> None:
    assert spread([0.9, 1.2, 0.8]) == {
        "median": 0.9,
        "min": 0.8,
        "max": 1.2,
        "rounds": [0.9, 1.2, 0.8],
    }
    assert spread([1.0, 0.5])["median"] == 0.75


def _record(up: float, down: float) -> dict[str, float]:
    return {"up": up, "down": down, "up_cpu_s": 1.0, "down_cpu_s": 2.0}


def test_ratios_pair_rounds_not_medians() -> None:
    # aws-cli is fast in round 1 and slow in round 2; the SDK follows it: every per-round
    # ratio is 0.5, though the medians of MB/s alone would say 0.75.
    rounds = {
        BASELINE: [_record(200, 400), _record(100, 200)],
        "go_sdk": [_record(100, 200), _record(50, 100)],
    }
    out = summarize(rounds)
    assert out["go_sdk"]["ratio"]["up"] == {
        "median": 0.5,
        "min": 0.5,
        "max": 0.5,
        "rounds": [0.5, 0.5],
    }
    assert out["go_sdk"]["ratio"]["down"]["median"] == 0.5
    assert out["go_sdk"]["up"] == 75.0
    assert out[BASELINE]["up"] == 150.0
    assert "ratio" not in out[BASELINE]
    assert out["go_sdk"]["down_cpu_s"] == 2.0
    assert out["go_sdk"]["rounds"] == rounds["go_sdk"]


@given(
    st.lists(
        st.tuples(st.floats(1, 1e4), st.floats(1, 1e4), st.floats(1, 1e4), st.floats(1, 1e4)),
        min_size=1,
        max_size=7,
    )
)
def test_ratio_median_lies_within_its_spread(
    values: list[tuple[float, float, float, float]],
) -> None:
    rounds = {
        BASELINE: [_record(a, b) for a, b, _, _ in values],
        "js_sdk": [_record(c, d) for _, _, c, d in values],
    }
    for way in ("up", "down"):
        ratio = summarize(rounds)["js_sdk"]["ratio"][way]
        assert ratio["min"] <= ratio["median"] <= ratio["max"]
        assert len(ratio["rounds"]) == len(values)


def test_contenders_without_rounds_are_left_out() -> None:
    assert summarize({BASELINE: [], "python_sdk": []}) == {}
    alone = summarize({"python_sdk": [_record(1, 1)]})
    assert "ratio" not in alone["python_sdk"]


def test_timed_reports_cpu_of_the_child(tmp_path: Path) -> None:
    spin = "import time\nend = time.process_time() + 0.2\nwhile time.process_time() < end: pass"
    wall, cpu, _ = timed([sys.executable, "-c", spin], {}, tmp_path)
    assert cpu > 0.1  # it spun 0.2 s of its own CPU; slack for accounting granularity
    assert wall > 0


def test_timed_raises_on_failure(tmp_path: Path) -> None:
    with pytest.raises(subprocess.CalledProcessError):
        timed([sys.executable, "-c", "raise SystemExit(3)"], {}, tmp_path)


def test_timed_returns_what_the_child_printed(tmp_path: Path) -> None:
    _, _, printed = timed([sys.executable, "-c", "print('{\"seconds\": 1.5}')"], {}, tmp_path)
    assert inner_seconds(printed) == 1.5


def test_inner_seconds_of_other_output_is_none() -> None:
    assert inner_seconds("") is None
    assert inner_seconds("upload: a to b\n") is None
    assert inner_seconds('{"parts": 3}') is None
    assert inner_seconds("[1, 2]") is None
    assert inner_seconds('noise\n{"parts": 3, "seconds": 2}\n\n') == 2.0
    assert inner_seconds('{"seconds": "soon"}') is None


def test_call_seconds_are_summarized_only_when_every_round_has_them() -> None:
    timed_calls = [{**_record(1, 1), "up_call_s": 3.0}, {**_record(1, 1), "up_call_s": 5.0}]
    out = summarize({"go_sdk": timed_calls, "js_sdk": [timed_calls[0], _record(1, 1)]})
    assert out["go_sdk"]["up_call_s"] == 4.0
    assert "down_call_s" not in out["go_sdk"]
    assert "up_call_s" not in out["js_sdk"]
