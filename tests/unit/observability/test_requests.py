"""The outermost request layer: one id per request (in the header, the context and the access
line), the access line's fields, and an unhandled error answered and logged once."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from gateway.observability import context
from gateway.observability.logs import RequestFields
from gateway.observability.requests import Observed

seen: dict[str, Any] = {}


async def ok(scope: Scope, receive: Receive, send: Send) -> None:
    seen["id"] = context.request_id()
    context.note(principal="alice", operation="PutObject")
    logging.getLogger("gateway.test").warning("inside")
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b"made"})


async def broken(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


async def broken_midway(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"x", "more_body": True})
    raise RuntimeError("midway")


async def answered_then_raised(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 500, "headers": []})
    await send({"type": "http.response.body", "body": b"problem"})
    raise RuntimeError("re-raised after the answer, as Starlette does")


def call(app: Any, path: str = "/b/k?X-Amz-Signature=abc") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return await client.put(path)

    return asyncio.run(go())


def records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == name]


def test_one_id_per_request_in_the_header_the_context_and_the_access_line(caplog):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestFields())
    answer = call(Observed(ok, "oci", "x-request-id"))
    assert answer.status_code == 201
    assert answer.headers["x-request-id"] == seen["id"]
    assert len(seen["id"]) == 16
    (inside,) = records(caplog, "gateway.test")
    (line,) = records(caplog, "gateway.request")
    for record in (inside, line):
        assert record.__dict__["request_id"] == seen["id"]
        assert record.__dict__["principal"] == "alice"
        assert record.__dict__["operation"] == "PutObject"
        assert "trace_id" not in record.__dict__  # not traced
    assert line.getMessage() == "PUT /b/k 201"  # the path, never the query
    assert line.__dict__["status"] == 201
    assert line.__dict__["method"] == "PUT"
    assert line.__dict__["path"] == "/b/k"
    assert line.__dict__["duration_ms"] >= 0
    assert context.current() is None  # reset once the request ended


def test_the_s3_layers_add_their_own_header(caplog):
    answer = call(Observed(ok, "s3", "x-amz-request-id", adds_header=False))
    assert "x-amz-request-id" not in answer.headers


def test_an_unhandled_error_is_a_bare_500_naming_the_request(caplog):
    caplog.set_level(logging.INFO)
    answer = call(Observed(broken, "oci", "x-request-id"))
    assert answer.status_code == 500
    assert answer.content == b""
    (error, access) = records(caplog, "gateway.request")
    assert error.levelno == logging.ERROR
    assert error.exc_info is not None
    assert access.__dict__["status"] == 500
    assert answer.headers["x-request-id"]


def test_an_error_after_the_whole_answer_is_logged_not_raised(caplog):
    caplog.set_level(logging.INFO)
    answer = call(Observed(answered_then_raised, "api", "x-request-id"))
    assert answer.status_code == 500
    assert answer.content == b"problem"
    assert [r.levelno for r in records(caplog, "gateway.request")] == [logging.ERROR, logging.INFO]


def test_an_error_midway_is_raised_for_the_server_to_end_the_connection(caplog):
    with pytest.raises(RuntimeError, match="midway"):
        call(Observed(broken_midway, "s3", "x-amz-request-id", adds_header=False))


def test_other_scopes_pass_through() -> None:
    got: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        got.append(scope["type"])
        assert context.current() is None

    asyncio.run(Observed(app, "api", "x-request-id")({"type": "lifespan"}, None, None))  # type: ignore[arg-type]
    assert got == ["lifespan"]


def test_the_route_names_a_json_api_operation(caplog):
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RequestFields())

    class Route:
        name = "create_key"

    async def unnoted(scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = Route()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    call(Observed(unnoted, "api", "x-request-id"))
    (line,) = records(caplog, "gateway.request")
    assert line.__dict__["operation"] == "create_key"
    assert "principal" not in line.__dict__
