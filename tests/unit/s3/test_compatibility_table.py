"""docs/s3-compatibility.md's operation table against botocore's S3 model and the route table.

Each operation of the model is requested as an SDK would send it (its method, URI, the
query parameters and headers it must carry) and routed: a `supported` or `partial` row must
reach the route of that operation, a `not supported` row must answer NotImplemented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import botocore.session
import pytest

from gateway.s3.errors import S3Error
from gateway.s3.routes import ROUTES, SUBRESOURCES, Target, match

TABLE = Path(__file__).parents[3] / "docs" / "s3-compatibility.md"
STATUSES = frozenset({"supported", "partial", "not supported"})
MODEL = botocore.session.get_session().get_service_model("s3")


def documented() -> dict[str, str]:
    """operation -> status, from the table under '## Operations'."""
    text = TABLE.read_text()
    section = text.split("## Operations", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith(("| operation", "|---")):
            continue
        names, status = (cell.strip() for cell in line[2:].split(" | ")[:2])
        assert status in STATUSES, line
        for name in names.split(" / "):
            assert name not in rows, f"{name} is in the table twice"
            rows[name] = status
    return rows


@dataclass(frozen=True)
class Request:
    method: str
    target: Target
    query: dict[str, str]
    headers: dict[str, str]

    def signature(self) -> tuple[str, str, frozenset[str], frozenset[str]]:
        return self.method, self.target, frozenset(self.query), frozenset(self.headers)


def as_sent(operation: str) -> Request:
    """The smallest request an SDK sends for ``operation``."""
    model = MODEL.operation_model(operation)
    path, _, literal = model.http["requestUri"].partition("?")
    target: Target = "service" if path == "/" else "object" if "{Key+}" in path else "bucket"
    query: dict[str, str] = {}
    for part in filter(None, literal.split("&")):
        name, _, value = part.partition("=")
        query[name] = value
    headers: dict[str, str] = {}
    shape = model.input_shape
    for member in shape.required_members if shape is not None else ():
        serialization = shape.members[member].serialization
        location, name = serialization.get("location"), serialization.get("name", member)
        if location == "querystring":
            query[name] = "1"
        elif location == "header":
            headers[name.lower()] = "/bucket/key"
    return Request(model.http["method"], target, query, headers)


def test_every_operation_of_the_model_is_in_the_table_once() -> None:
    rows = documented()
    assert sorted(set(MODEL.operation_names) - set(rows)) == []
    assert sorted(set(rows) - set(MODEL.operation_names)) == []


def test_every_route_is_a_documented_operation() -> None:
    rows = documented()
    for route in ROUTES:
        assert rows.get(route.operation) in {"supported", "partial"}, route.operation


def test_every_sub_resource_the_model_names_is_known() -> None:
    named = {
        re.split(r"[=&]", model.http["requestUri"].partition("?")[2])[0]
        for model in map(MODEL.operation_model, MODEL.operation_names)
    } - {"", "list-type", "x-id"}
    assert sorted(named - SUBRESOURCES) == []


@pytest.mark.parametrize("operation", MODEL.operation_names)
def test_the_table_says_what_routing_does(operation: str) -> None:
    rows = documented()
    request = as_sent(operation)
    if rows[operation] != "not supported":
        route = match(request.method, request.target, request.query, request.headers)
        assert route.operation == operation
        return
    twins = [
        other
        for other in MODEL.operation_names
        if rows[other] != "not supported" and as_sent(other).signature() == request.signature()
    ]
    if twins:  # the same request on the wire (ListDirectoryBuckets is ListBuckets' twin)
        return
    with pytest.raises(S3Error) as refused:
        match(request.method, request.target, request.query, request.headers)
    assert refused.value.code == "NotImplemented"
