"""The metrics' names and labels, and what one observed request moves."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from gateway.observability import metrics

DEFINED = [value for value in vars(metrics).values() if isinstance(value, MetricWrapperBase)]
# Labels whose values are not from a fixed table in the code: none may name a bucket, key,
# path, principal or request id (unbounded series).
UNBOUNDED = {"bucket", "key", "path", "url", "user", "principal", "request_id", "resource"}


def test_every_metric_is_named_artifact_store_what_unit() -> None:
    assert len(DEFINED) == 16
    for metric in DEFINED:
        name = metric._name  # a counter's without the _total that exposition adds
        assert re.fullmatch(r"artifact_store_[a-z]+(_[a-z]+)+", name), name
        if metric._type == "histogram":
            assert name.endswith("_seconds"), name
        if metric._type == "gauge":
            assert name.endswith("_in_flight"), name
        assert metric._documentation, name
        assert not UNBOUNDED.intersection(metric._labelnames), name


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0, "5xx"),
        (101, "1xx"),
        (200, "2xx"),
        (206, "2xx"),
        (304, "3xx"),
        (404, "4xx"),
        (499, "4xx"),
        (500, "5xx"),
        (503, "5xx"),
        (999, "5xx"),
    ],
)
def test_status_class(status: int, expected: str) -> None:
    assert metrics.status_class(status) == expected


@given(st.integers(min_value=0, max_value=999))
def test_status_class_is_one_of_five(status: int) -> None:
    assert metrics.status_class(status) in {"1xx", "2xx", "3xx", "4xx", "5xx"}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_observe_request_moves_count_duration_and_bytes() -> None:
    labels = {"protocol": "s3", "operation": "UnitTestOperation"}
    before = {
        "count": value("artifact_store_http_requests_total", status="2xx", **labels),
        "timed": value("artifact_store_http_request_duration_seconds_count", **labels),
        "sum": value("artifact_store_http_request_duration_seconds_sum", **labels),
        "in": value("artifact_store_received_bytes_total", **labels),
        "out": value("artifact_store_sent_bytes_total", **labels),
    }
    metrics.observe_request("s3", "UnitTestOperation", 201, 0.25, 1000, 0)
    metrics.observe_request("s3", "UnitTestOperation", 200, 0.5, 0, 30)
    assert value("artifact_store_http_requests_total", status="2xx", **labels) == (
        before["count"] + 2
    )
    assert value("artifact_store_http_request_duration_seconds_count", **labels) == (
        before["timed"] + 2
    )
    assert value("artifact_store_http_request_duration_seconds_sum", **labels) == (
        before["sum"] + 0.75
    )
    assert value("artifact_store_received_bytes_total", **labels) == before["in"] + 1000
    assert value("artifact_store_sent_bytes_total", **labels) == before["out"] + 30
