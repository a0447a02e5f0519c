"""The service log: one JSON object a line (or readable text), each line written during a
request naming it (``context.py``): ``request_id``, ``trace_id`` when traced, ``principal``,
``operation``. docs/operations.md ("Logs") lists the fields.

Nothing here writes headers, query strings or bodies; the request's access line
(``requests.py``) names its path without the query (a presigned URL's query is a credential).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from gateway.observability.context import current

CONTEXT_FIELDS = ("request_id", "trace_id", "principal", "operation")
# What an access line adds (requests.py), shown after the message in text.
ACCESS_FIELDS = ("duration_ms",)
# uvicorn's own loggers add a coloured copy of the message.
_IGNORED = (*RESERVED_ATTRS, "color_message")


class RequestFields(logging.Filter):
    """Copies the current request's fields onto every record (a filter on the handler, so
    that the lines of libraries -- uvicorn, httpx -- carry them too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        if context is not None:
            record.request_id = context.request_id
            if context.trace_id is not None:
                record.trace_id = context.trace_id
            if context.principal is not None:
                record.principal = context.principal
            if context.operation is not None:
                record.operation = context.operation
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=_IGNORED,
        timestamp=True,
    )


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message`` and the request's fields as ``name=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields: dict[str, Any] = record.__dict__
        shown = [
            f"{name}={fields[name]}" for name in (*CONTEXT_FIELDS, *ACCESS_FIELDS) if name in fields
        ]
        if not shown:
            return text
        first, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{first} [{' '.join(shown)}]{newline}{rest}"


def resolve_format(log_format: str, stream: TextIO) -> str:
    """``auto``: text on a terminal (the local stack), JSON anywhere else (containers)."""
    if log_format != "auto":
        return log_format
    return "text" if stream.isatty() else "json"


def configure(level: str, log_format: str = "auto", stream: TextIO | None = None) -> None:
    """One handler on the root logger, to standard error. A registry call's own line (httpx
    writes one per request at INFO) is detail: shown only at ``debug``."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestFields())
    formatter = json_formatter() if resolve_format(log_format, out) == "json" else TextFormatter()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(numeric)
    detail = logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING
    logging.getLogger("httpx").setLevel(detail)
