"""What a request is, as its log lines and spans name it: kept in a context variable for the
request's task (and the tasks it starts), so that a log line anywhere below the edge carries
the request id, the principal and the operation without being handed them."""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


def new_request_id() -> str:
    """The id a response carries and its log and audit lines name (16 hex digits)."""
    return secrets.token_hex(8).upper()


@dataclass
class RequestContext:
    request_id: str
    method: str
    path: str  # without the query string: a presigned URL's query is a credential
    protocol: str  # "s3", "oci" or "api"
    principal: str | None = None
    operation: str | None = None
    status: int | None = None
    trace_id: str | None = None  # when traced: the server span's, in W3C hex
    span: Any = None  # the server span (an OpenTelemetry Span), when traced
    # The request ended: a context copied while it ran (the server's callbacks may run in
    # one, see tracing.fresh) names it no more.
    ended: bool = False


CURRENT: ContextVar[RequestContext | None] = ContextVar("artifact_store_request", default=None)


def current() -> RequestContext | None:
    """The request being served, if any."""
    context = CURRENT.get()
    return None if context is None or context.ended else context


def request_id() -> str:
    """The current request's id; a new one outside a request (a sweeper's audit line)."""
    context = current()
    return context.request_id if context is not None else new_request_id()


def note(*, principal: str | None = None, operation: str | None = None) -> None:
    """Name who asks and what, once known; an S3 or OCI request's server span is renamed by
    its operation (``PutObject``), the JSON API's keeps its route template."""
    context = current()
    if context is None:
        return
    if principal is not None:
        context.principal = principal
        if context.span is not None:
            context.span.set_attribute("artifact_store.principal", principal)
    if operation is not None:
        context.operation = operation
        if context.span is not None and context.protocol != "api":
            context.span.update_name(operation)


def annotate(attributes: dict[str, str | int | bool]) -> None:
    """Attributes of the request's server span, when traced (nothing otherwise)."""
    context = current()
    if context is not None and context.span is not None and context.span.is_recording():
        context.span.set_attributes(attributes)
