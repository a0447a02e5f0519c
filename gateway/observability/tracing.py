"""OpenTelemetry tracing: off unless asked for, configured by the standard ``OTEL_*`` variables.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (not ``none``), or
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, or the
``tracing`` setting is true; ``OTEL_SDK_DISABLED=true`` turns it off whatever else is set. Off,
no layer, hook or instrumentation is installed: the only cost left is the OpenTelemetry API's
no-op spans of the few domain spans (``verify``).

Spans never carry secrets: a query string's signature, token and credential values are
replaced by ``REDACTED`` (a presigned URL's query is a credential), and captured headers (only
when an ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*`` variable asks for them) are sanitized
for ``Authorization`` and the like.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.observability.context import current

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

# The SDK, the instrumentations and the exporter are imported where tracing is switched on:
# a gateway that does not trace does not load them.

SERVICE = "artifact-store"
# Query parameters whose values are credentials: SigV4 and SigV2 presigned URLs' signatures,
# session tokens, STS web identity tokens.
SENSITIVE_PARAMETER = re.compile(r"signature|token|secret|password|credential", re.IGNORECASE)
REDACTED = "REDACTED"
# Headers never captured as span attributes whatever OTEL_INSTRUMENTATION_HTTP_CAPTURE_* says.
SENSITIVE_HEADERS = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
)
_NO_EVENT_SPANS: list[Any] = ["receive", "send"]  # one span per request, not per body piece
SANITIZE_FIELDS = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"


def wanted(setting: bool, environ: Mapping[str, str]) -> bool:
    """Whether this process traces: the setting, or the standard variables."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if setting:
        return True
    exporter = environ.get("OTEL_TRACES_EXPORTER")
    if exporter is not None and exporter.strip():
        return exporter.strip().lower() != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def start_exporting() -> None:
    """Make this process's tracer provider (``provider``) the global one, once at start."""
    _sanitize_captured_headers()
    trace.set_tracer_provider(provider(os.environ))


def provider(env: Mapping[str, str]) -> TracerProvider:
    """A tracer provider: exporters by ``OTEL_TRACES_EXPORTER`` (``otlp``, the default, over
    HTTP/protobuf; ``console``), sampler by ``OTEL_TRACES_SAMPLER``, resource by
    ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` (service.name defaults to
    ``artifact-store``). The OTLP exporter reads its own ``OTEL_EXPORTER_OTLP_*`` variables."""
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: SERVICE}))
    made = TracerProvider(resource=resource)
    names = env.get("OTEL_TRACES_EXPORTER", "otlp") or "otlp"
    for name in (part.strip().lower() for part in names.split(",")):
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            made.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            made.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif name not in ("none", ""):
            raise SystemExit(f"OTEL_TRACES_EXPORTER={name}: only otlp, console or none")
    return made


def sanitized_headers() -> list[str]:
    """The headers whose values a captured-headers attribute never shows: the operator's
    (``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS``) and ours."""
    present = [name.strip() for name in os.environ.get(SANITIZE_FIELDS, "").split(",")]
    return list(dict.fromkeys([*(name for name in present if name), *SENSITIVE_HEADERS]))


def _sanitize_captured_headers() -> None:
    """httpx's instrumentation reads the sanitized header names from the environment only."""
    os.environ[SANITIZE_FIELDS] = ",".join(sanitized_headers())


def redact_query(query: str) -> str:
    """The query string with the values of credential parameters replaced (names kept, and
    everything else as it came, still percent-encoded)."""
    kept = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        if equals and SENSITIVE_PARAMETER.search(name):
            pair = f"{name}={REDACTED}"
        kept.append(pair)
    return "&".join(kept)


def server_request_hook(span: Any, scope: Mapping[str, Any]) -> None:
    """At the start of a request's server span: link it with the request's context (its
    trace id goes into the log lines, the request id onto the span), and redact the query
    string the instrumentation recorded in the URL attributes."""
    context = current()
    span_context = span.get_span_context()
    if context is not None:
        context.span = span
        if span_context.is_valid:
            context.trace_id = format(span_context.trace_id, "032x")
    if not span.is_recording():
        return
    if context is not None:
        span.set_attribute("artifact_store.request_id", context.request_id)
    raw = scope.get("query_string") or b""
    query = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    redacted = redact_query(query)
    if redacted == query:
        return
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    for name in ("http.url", "url.full"):
        if name in attributes:
            span.set_attribute(name, f"{str(attributes[name]).split('?', 1)[0]}?{redacted}")
    if "url.query" in attributes:
        span.set_attribute("url.query", redacted)


def _span_details(scope: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The first name of an S3 or OCI request's span: its method (renamed by its operation
    once routed, ``context.note``); never the path, which would make a name per key."""
    return str(scope.get("method", "HTTP")), {}


def traced(app: ASGIApp) -> ASGIApp:
    """``app`` (the S3 or OCI edge) inside a server span per request."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return fresh(
        OpenTelemetryMiddleware(
            app,
            default_span_details=_span_details,
            server_request_hook=server_request_hook,
            exclude_spans=_NO_EVENT_SPANS,
            http_capture_headers_sanitize_fields=sanitized_headers(),
        )
    )


def fresh(app: ASGIApp) -> ASGIApp:
    """``app`` with each request starting from an empty OpenTelemetry context. The server
    may start a request's task in a context copied during the previous request on the same
    connection (uvicorn resumes reading a kept-alive connection from inside a request), which
    would make the new request's span a child of the old one."""

    async def started_afresh(scope: Scope, receive: Receive, send: Send) -> None:
        token = otel_context.attach(otel_context.Context())
        try:
            await app(scope, receive, send)
        finally:
            otel_context.detach(token)

    return started_afresh


def trace_fastapi(app: Any) -> None:
    """The JSON API's spans, named by route template (``GET /_artifacts/verify/{bucket}``)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        server_request_hook=server_request_hook,
        exclude_spans=_NO_EVENT_SPANS,
        http_capture_headers_sanitize_fields=sanitized_headers(),
    )
