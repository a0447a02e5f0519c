"""docs/grafana/artifact-store.json asks only for series that exist: every metric name in its
queries is one the gateway exports (with the labels the query names) or one Zot's metrics
extension exports, so that no panel stays empty after a rename."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.metrics import MetricWrapperBase

from gateway.observability import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "artifact-store.json"
# Zot v2.1.20's metrics extension (pkg/extensions/monitoring/extension.go), by exposed name,
# with its labels; tests/integration/test_management.py checks the dashboard's against a
# running Zot.
ZOT: dict[str, frozenset[str]] = {
    "zot_http_requests_total": frozenset({"method", "code"}),
    "zot_http_method_latency_seconds_bucket": frozenset({"method", "le"}),
    "zot_http_method_latency_seconds_count": frozenset({"method"}),
    "zot_http_method_latency_seconds_sum": frozenset({"method"}),
    "zot_http_repo_latency_seconds_count": frozenset({"repo"}),
    "zot_http_repo_latency_seconds_sum": frozenset({"repo"}),
    "zot_repo_storage_bytes": frozenset({"repo"}),
    "zot_repo_uploads_total": frozenset({"repo"}),
    "zot_repo_downloads_total": frozenset({"repo"}),
    "zot_info": frozenset({"commit", "binaryType", "goVersion", "version"}),
    "zot_storage_lock_latency_seconds_bucket": frozenset({"storageName", "lockType", "le"}),
    "zot_storage_lock_latency_seconds_count": frozenset({"storageName", "lockType"}),
    "zot_storage_lock_latency_seconds_sum": frozenset({"storageName", "lockType"}),
    "zot_gc_runs_total": frozenset({"error"}),
    "zot_gc_deleted_total": frozenset({"type"}),
}
PROMETHEUS = {"up": frozenset()}  # what Prometheus adds for every target
TARGET_LABELS = frozenset({"job", "instance"})
KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset", "inf", "nan"}
)


def gateway_series() -> dict[str, frozenset[str]]:
    """Every sample name the gateway's metrics expose, with its labels."""
    found: dict[str, frozenset[str]] = {}
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        labels = frozenset(metric._labelnames)
        name = metric._name
        kind = metric._type
        if kind == "counter":
            found[f"{name}_total"] = labels
        elif kind == "histogram":
            found[f"{name}_bucket"] = labels | {"le"}
            found[f"{name}_count"] = found[f"{name}_sum"] = labels
        else:
            found[name] = labels
    return found


def selectors(expr: str) -> list[tuple[str, frozenset[str], frozenset[str]]]:
    """(metric name, labels its matchers name, labels its aggregations name) of each metric
    an expression reads. A name followed by ``(`` is a function; ``$variables``, ranges,
    strings, numbers, durations and keywords are no metrics."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\$\w+|\[[^\]]*\]", "", expr)
    expr = re.sub(r"(?<![A-Za-z0-9_:])\d[\w.]*", "", expr)  # numbers and durations (5m)
    grouped = frozenset(
        name.strip()
        for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr)
        for name in group.split(",")
        if name.strip()
    )
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", expr)
    found = []
    for match in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?", expr):
        name, matchers, call = match.groups()
        if call or name.lower() in KEYWORDS:
            continue
        named = frozenset(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers or ""))
        found.append((name, named, grouped))
    return found


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expression) of every panel target and every templating query."""
    found = [
        (f"panel {panel['title']!r}", target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            definition = variable["definition"]
            inner = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", definition)
            assert inner is not None, definition
            found.append((f"variable {variable['name']}", f'{inner[1]}{{{inner[2]}=~".+"}}'))
    return found


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def test_every_queried_metric_exists_with_the_labels_the_query_names(
    dashboard: dict[str, Any],
) -> None:
    known = {**gateway_series(), **ZOT, **PROMETHEUS}
    problems = []
    read: set[str] = set()
    for where, expr in queries(dashboard):
        found = selectors(expr)
        assert found, f"{where}: no metric in {expr}"
        names_here = {name for name, _, _ in found}
        available = set().union(*(known.get(name, frozenset()) for name in names_here))
        for name, named, grouped in found:
            read.add(name)
            if name not in known:
                problems.append(f"{where}: unknown metric {name}")
                continue
            for label in (named - TARGET_LABELS) - known[name]:
                problems.append(f"{where}: {name} has no label {label}")
            for label in (grouped - TARGET_LABELS) - available:
                problems.append(f"{where}: nothing in it has the label {label}")
    assert problems == []
    # Both scrape targets are shown, and every kind of gateway metric has a panel.
    assert any(name.startswith("zot_") for name in read)
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in read}
    defined = {
        metric._name for metric in vars(metrics).values() if isinstance(metric, MetricWrapperBase)
    }
    assert defined - shown == set()


def test_panels_are_well_formed(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_the_extractor_on_known_shapes() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, call) (rate(a_seconds_bucket{job=~"$j",'
        'call!="x"}[$__rate_interval]))) / on (call) group_left b_total offset 5m'
    )
    assert selectors(expr) == [
        ("a_seconds_bucket", frozenset({"job", "call"}), frozenset({"le", "call"})),
        ("b_total", frozenset(), frozenset({"le", "call"})),
    ]
    assert selectors('up{job=~"a|b"}') == [("up", frozenset({"job"}), frozenset())]


identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).filter(
    lambda name: name not in KEYWORDS
)


@given(identifiers, identifiers, st.text(max_size=10))
def test_the_extractor_finds_the_one_metric_of_an_aggregation(
    metric: str, label: str, value: str
) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    expr = f'sum by ({label}) (rate({metric}{{{label}="{escaped}"}}[5m]))'
    assert selectors(expr) == [(metric, frozenset({label}), frozenset({label}))]
