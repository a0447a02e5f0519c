"""Registry calls when the gateway traces: a client span per call named by what it does,
its ``traceparent`` sent to the registry (on the fast blob path too, written by hand), and
failures on the span."""

from __future__ import annotations

import asyncio

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from gateway.domain.ports.registry import RegistryError, RegistryUnavailable
from tests.fixtures.telemetry import span_exporter
from tests.unit.registry.test_blobfetch import (
    BLOB_PATH,
    BODY,
    DIGEST,
    FAST_AGENT,
    Request,
    answer,
    client_of,
    oci_error,
    read,
    serve_blob,
    serving,
)

CALL = "artifact_store.registry.call"


@pytest.fixture
def spans():  # type: ignore[no-untyped-def]
    exporter = span_exporter()
    exporter.clear()
    return exporter


def traceparent_of(span) -> str:  # type: ignore[no-untyped-def]
    context = span.context
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


@pytest.mark.anyio
async def test_a_fast_download_is_one_client_span_until_its_end(spans) -> None:
    async with serving(serve_blob()) as server, client_of(server, traced=True) as client:
        async with client.open_blob("r", DIGEST) as blob:
            data = b"".join([piece async for piece in blob])
            assert spans.get_finished_spans() == ()  # ends with the download, not its head
        assert data == BODY
    (span,) = spans.get_finished_spans()
    assert span.name == "registry get blob"
    assert span.kind == SpanKind.CLIENT
    assert span.attributes[CALL] == "get blob"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.full"] == server.url + BLOB_PATH
    (request,) = server.requests
    assert request.headers["user-agent"] == FAST_AGENT
    assert request.headers["traceparent"] == traceparent_of(span)


@pytest.mark.anyio
async def test_a_failing_fast_download_marks_its_span(spans) -> None:
    async def broken(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(oci_error(500, "UNKNOWN"))
        return True

    async with serving(broken) as server, client_of(server, traced=True) as client:
        with pytest.raises(RegistryError):
            await read(client)
    fast = [s for s in spans.get_finished_spans() if "http.response.status_code" in s.attributes]
    assert fast[0].status.status_code == StatusCode.ERROR
    async with serving(serve_blob()) as gone:
        pass  # nothing listens any more
    spans.clear()
    async with client_of(gone, traced=True) as client:
        with pytest.raises(RegistryUnavailable, match="get blob"):
            await read(client)
    refused = spans.get_finished_spans()  # one span per try: a refused GET is tried again
    assert refused
    assert all(span.status.status_code == StatusCode.ERROR for span in refused)
    assert all(span.events[0].name == "exception" for span in refused)


@pytest.mark.anyio
async def test_httpx_calls_are_named_by_the_call_and_carry_traceparent(spans) -> None:
    async def redirecting(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path == BLOB_PATH:
            writer.write(answer(307, b"", Location="/storage/blob-data"))
        else:
            writer.write(answer(200, b"0123456789"))
        return True

    async with serving(redirecting) as server, client_of(server, traced=True) as client:
        assert await read(client) == b"0123456789"  # the fast path hands it to httpx
    finished = spans.get_finished_spans()
    assert [s.name for s in finished] == [
        "registry get blob",  # the fast path's, ended when it gave up
        "registry get blob",  # httpx's: the GET
        "registry get blob",  # and the redirect it followed
    ]
    by_httpx = server.requests[1:]
    assert [r.headers["traceparent"] for r in by_httpx] == [traceparent_of(s) for s in finished[1:]]


@pytest.mark.anyio
async def test_untraced_clients_send_no_traceparent(spans) -> None:
    async with serving(serve_blob()) as server, client_of(server) as client:
        assert await read(client) == BODY
    assert "traceparent" not in server.requests[0].headers
    assert spans.get_finished_spans() == ()
