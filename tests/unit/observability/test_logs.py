"""The service log's lines: JSON with the documented fields (or readable text), the request's
fields on every line written during it, and a registry call's own line only at debug."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gateway.observability import logs
from gateway.observability.context import CURRENT, RequestContext


@pytest.fixture
def request_context() -> Iterator[RequestContext]:
    context = RequestContext("0123456789ABCDEF", "PUT", "/b/k", "s3")
    context.principal, context.operation = "alice", "PutObject"
    context.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    token = CURRENT.set(context)
    yield context
    CURRENT.reset(token)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    handlers, level, httpx_level = list(root.handlers), root.level, httpx_logger.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    httpx_logger.setLevel(httpx_level)


def record(message: str = "hello %s", *args: object, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("gateway.test", logging.WARNING, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    logs.RequestFields().filter(made)
    return made


def test_a_json_line_has_the_documented_fields(request_context):
    line = json.loads(logs.json_formatter().format(record("hello %s", "world", status=201)))
    assert line == {
        "timestamp": line["timestamp"],
        "level": "WARNING",
        "logger": "gateway.test",
        "message": "hello world",
        "request_id": "0123456789ABCDEF",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "principal": "alice",
        "operation": "PutObject",
        "status": 201,
    }
    assert line["timestamp"].endswith("+00:00")


def test_outside_a_request_a_line_has_no_request_fields():
    line = json.loads(logs.json_formatter().format(record("swept", color_message="x")))
    assert set(line) == {"timestamp", "level", "logger", "message"}


def test_a_traceback_stays_in_its_line(request_context):
    try:
        raise ValueError("bad")
    except ValueError:
        made = logging.LogRecord(
            "gateway.test", logging.ERROR, __file__, 1, "failed", (), __import__("sys").exc_info()
        )
    logs.RequestFields().filter(made)
    text = logs.json_formatter().format(made)
    assert "\n" not in text
    assert "ValueError: bad" in json.loads(text)["exc_info"]
    readable = logs.TextFormatter().format(made)
    first, _, rest = readable.partition("\n")
    assert first.endswith(
        "failed [request_id=0123456789ABCDEF trace_id="
        "4bf92f3577b34da6a3ce929d0e0e4736 principal=alice operation=PutObject]"
    )
    assert "ValueError: bad" in rest


def test_text_names_the_request_fields_after_the_message(request_context):
    text = logs.TextFormatter().format(record("PUT /b/k 201", duration_ms=1.5))
    assert text.endswith(
        " WARNING gateway.test PUT /b/k 201 [request_id=0123456789ABCDEF trace_id="
        "4bf92f3577b34da6a3ce929d0e0e4736 principal=alice operation=PutObject duration_ms=1.5]"
    )


def test_text_outside_a_request_is_the_message_alone():
    assert logs.TextFormatter().format(record("plain")).endswith("gateway.test plain")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_elsewhere():
    assert logs.resolve_format("auto", Terminal()) == "text"
    assert logs.resolve_format("auto", io.StringIO()) == "json"
    assert logs.resolve_format("text", io.StringIO()) == "text"
    assert logs.resolve_format("json", Terminal()) == "json"


@pytest.mark.parametrize(("level", "shown"), [("info", False), ("warning", False), ("debug", True)])
def test_a_registry_calls_own_line_shows_at_debug_only(restore_logging, level, shown):
    out = io.StringIO()
    logs.configure(level, "json", out)
    logging.getLogger("httpx").info('HTTP Request: PUT http://zot/v2/x "HTTP/1.1 201"')
    logging.getLogger("gateway.registry").warning("registry slow")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == (
        ["httpx", "gateway.registry"] if shown else ["gateway.registry"]
    )
    assert len(logging.getLogger().handlers) == 1  # configure replaces, never adds


def test_configure_writes_text_when_asked(restore_logging):
    out = io.StringIO()
    logs.configure("INFO", "text", out)
    logging.getLogger("gateway").info("started")
    assert out.getvalue().rstrip().endswith("INFO gateway started")
