"""When tracing is on, what a provider is made of, and that no credential of a query string
reaches a span."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.types import Receive, Scope, Send

from gateway.observability import context, tracing
from gateway.observability.context import CURRENT, RequestContext


@pytest.mark.parametrize(
    ("setting", "environ", "on"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        (False, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
        (False, {"OTEL_TRACES_EXPORTER": "console"}, True),
        (False, {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
        (False, {"OTEL_TRACES_EXPORTER": " "}, False),
        (True, {"OTEL_SDK_DISABLED": "true"}, False),
        (False, {"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, False),
        (False, {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, True),
    ],
)
def test_when_tracing_is_on(setting, environ, on):
    assert tracing.wanted(setting, environ) is on


def test_a_provider_names_the_service_and_exports_as_asked(monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    made = tracing.provider({"OTEL_TRACES_EXPORTER": "console,otlp"})
    assert made.resource.attributes["service.name"] == "artifact-store"
    processors = made._active_span_processor._span_processors
    assert [type(p).__name__ for p in processors] == ["SimpleSpanProcessor", "BatchSpanProcessor"]
    made.shutdown()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-eu")
    named = tracing.provider({"OTEL_TRACES_EXPORTER": "none"})
    assert named.resource.attributes["service.name"] == "gateway-eu"
    assert named._active_span_processor._span_processors == ()
    with pytest.raises(SystemExit, match="only otlp, console or none"):
        tracing.provider({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_the_sensitive_headers_are_always_sanitized(monkeypatch):
    variable = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"
    monkeypatch.setenv(variable, "x-mine")
    assert tracing.sanitized_headers()[:2] == ["x-mine", "authorization"]
    assert "x-amz-security-token" in tracing.sanitized_headers()
    tracing._sanitize_captured_headers()
    import os

    assert os.environ[variable].split(",")[:2] == ["x-mine", "authorization"]


def test_credentials_in_a_query_are_redacted_and_nothing_else():
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101&X-Amz-Date=20260101"
        "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FwoG%2Babc"
        "&X-Amz-Signature=0f0e&uploads&partNumber=1&Signature=v2sig&AWSAccessKeyId=AKIA"
        "&WebIdentityToken=eyJ&continuation-token=abc"
    )
    assert tracing.redact_query(query) == (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20260101"
        "&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=REDACTED"
        "&X-Amz-Signature=REDACTED&uploads&partNumber=1&Signature=REDACTED&AWSAccessKeyId=AKIA"
        "&WebIdentityToken=REDACTED&continuation-token=REDACTED"
    )
    assert tracing.redact_query("") == ""


names = st.sampled_from(
    ["X-Amz-Signature", "x-amz-security-token", "Signature", "WebIdentityToken", "a", "list-type"]
)


@given(st.lists(st.tuples(names, st.text(min_size=1)), max_size=6))
def test_no_value_of_a_sensitive_parameter_survives(pairs):
    query = "&".join(f"{quote(name)}={quote(value, safe='')}" for name, value in pairs)
    redacted = parse_qsl(tracing.redact_query(query), keep_blank_values=True)
    assert redacted == [
        (name, "REDACTED" if tracing.SENSITIVE_PARAMETER.search(name) else value)
        for name, value in parse_qsl(query, keep_blank_values=True)
    ]


def spans_of(app_factory, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def go() -> httpx.Response:
        app = app_factory(provider)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw"
        ) as client:
            return await client.get(path, headers=headers)

    return asyncio.run(go()), exporter.get_finished_spans()


def test_an_s3_span_is_named_by_its_operation_and_carries_no_credential(monkeypatch):
    async def s3(scope: Scope, receive: Receive, send: Send) -> None:
        context.note(principal="alice", operation="GetObject")
        context.annotate({"aws.s3.bucket": "b"})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x"})

    def build(provider: TracerProvider):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: provider)
        traced = tracing.traced(s3)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            token = CURRENT.set(RequestContext("RID0000000000001", "GET", scope["path"], "s3"))
            try:
                await traced(scope, receive, send)
                assert CURRENT.get().trace_id is not None  # type: ignore[union-attr]
            finally:
                CURRENT.reset(token)

        return app

    answer, spans = spans_of(
        build,
        "/b/k?X-Amz-Signature=deadbeef&X-Amz-Security-Token=sessiontoken&x-id=GetObject",
        headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    assert answer.status_code == 200
    (span,) = spans
    assert span.name == "GetObject"
    assert format(span.context.trace_id, "032x") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.attributes["artifact_store.request_id"] == "RID0000000000001"
    assert span.attributes["artifact_store.principal"] == "alice"
    assert span.attributes["aws.s3.bucket"] == "b"
    text = span.to_json()
    assert "deadbeef" not in text
    assert "sessiontoken" not in text
    assert "X-Amz-Signature=REDACTED" in span.attributes["http.url"]


def test_the_json_api_keeps_its_route_template(monkeypatch):
    def build(provider: TracerProvider):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(tracing.trace, "get_tracer_provider", lambda: provider)
        api = FastAPI()

        @api.get("/_artifacts/verify/{bucket}")
        async def verdict(bucket: str) -> dict[str, str]:
            context.note(operation="verdict")
            return {"bucket": bucket}

        tracing.trace_fastapi(api)
        return api

    answer, spans = spans_of(build, "/_artifacts/verify/b?key=k&token=secret-ish")
    assert answer.json() == {"bucket": "b"}
    (span,) = spans
    assert span.name == "GET /_artifacts/verify/{bucket}"
    assert "secret-ish" not in span.to_json()


def test_without_a_request_context_the_hook_only_redacts():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("t").start_span("x", attributes={"url.full": "http://h/p?a=1"})
    tracing.server_request_hook(span, {"query_string": b"Signature=s3cr3t", "type": "http"})
    tracing.server_request_hook(span, {"query_string": b"plain=1", "type": "http"})
    span.end()
    (done,) = exporter.get_finished_spans()
    assert done.attributes["url.full"] == "http://h/p?Signature=REDACTED"
