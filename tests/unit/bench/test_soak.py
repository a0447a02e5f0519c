"""The soak run's arithmetic (bench/resources.py, bench/soak_load.py): the slope that decides
"flat", the key set GETs and DELETEs pick from, and the per-window latency summary."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from bench.resources import slope, trend
from bench.soak_load import Done, Keys, parse_size, parse_weights, summarize_records

finite = st.floats(min_value=-1000, max_value=1000, allow_nan=False)


@given(finite, finite, st.lists(st.floats(0, 600), min_size=3, max_size=50, unique=True))
def test_slope_of_a_line_is_its_gradient(gradient: float, offset: float, xs: list[float]) -> None:
    if max(xs) - min(xs) < 1:
        return  # too close together to fit anything
    fitted, error = slope([(x, gradient * x + offset) for x in xs])
    assert abs(fitted - gradient) < 1e-6 * (1 + abs(gradient))
    assert error < 1e-4 * (1 + abs(gradient) + abs(offset))


def test_slope_of_too_few_points_is_zero() -> None:
    assert slope([(0, 1), (1, 5)]) == (0.0, 0.0)
    assert slope([(1, 1), (1, 2), (1, 3)]) == (0.0, 0.0)


def test_trend_fits_only_the_window_and_reports_the_idle_sample_apart() -> None:
    # grows 10 per minute in the first half, flat in the second, then drops when idle
    samples = [{"t": t, "gateway": {"rss_mib": min(t, 300) / 6}} for t in range(0, 601, 10)] + [
        {"t": 615, "gateway": {"rss_mib": 0.0}}
    ]
    result = trend(samples, "gateway", "rss_mib", 300, 600, limit_per_min=1.0)
    assert result["flat"] is True
    assert result["slope_per_min"] == 0
    assert (result["start"], result["end"], result["after"]) == (0, 50, 0.0)
    whole = trend(samples, "gateway", "rss_mib", 0, 300, limit_per_min=1.0)
    assert whole["flat"] is False
    assert abs(whole["slope_per_min"] - 10) < 1e-9


def test_weights_and_sizes_parse() -> None:
    assert parse_weights("get=50,put=25") == {"get": 50.0, "put": 25.0}
    assert parse_weights("4KiB=1,1MiB=3", parse_size) == {4096: 1.0, 1 << 20: 3.0}
    assert parse_size("512") == 512


@given(st.lists(st.sampled_from(["add", "read", "done", "delete"]), max_size=200), st.integers())
def test_keys_never_hand_a_key_being_read_to_a_delete(actions: list[str], seed: int) -> None:
    keys, rng = Keys(), random.Random(seed)
    reading: list[str] = []
    live: set[str] = set()
    for number, action in enumerate(actions):
        if action == "add":
            keys.add(f"k{number}", number, 1)
            live.add(f"k{number}")
        elif action == "read" and (picked := keys.read(rng)) is not None:
            assert picked[0] in live
            reading.append(picked[0])
        elif action == "done" and reading:
            keys.done_reading(reading.pop(0))
        elif action == "delete" and (taken := keys.delete(rng)) is not None:
            assert taken not in reading
            live.remove(taken)
        assert keys.snapshot() == live
        assert len(keys) == len(live)


def test_summary_windows_split_by_scheduled_time() -> None:
    done = [
        Done("get", 1.0, 1.0, 1.010),
        Done("get", 61.0, 61.5, 62.0),  # waited 0.5 s in the queue: counted in its latency
        Done("put", 62.0, 62.0, 62.2, error="put: SlowDown (HTTP 503)"),
    ]
    result = summarize_records(done, duration=120, window=60)
    assert result["errors_total"] == 1
    assert result["errors_by_kind"] == {"put: SlowDown (HTTP 503)": 1}
    first, second = result["windows"]
    assert first["get"]["n"] == 1
    assert first["get"]["p50_ms"] == 10.0
    assert second["get"]["p50_ms"] == 1000.0
    assert second["get"]["service_p50_ms"] == 500.0
    assert second["put"]["errors"] == 1
