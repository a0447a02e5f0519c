"""Traces of a real gateway (``tracing=True``) against real Zot, exported to memory: one S3
request is one trace, from its server span (named by the S3 operation) down to each registry
call; a client's ``traceparent`` is the trace's parent and reaches Zot (seen by a recording
proxy between the gateway and Zot)."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.fixtures.telemetry import RecordingProxy, span_exporter
from tests.integration.api.test_access_keys import BASIC

CALL = "artifact_store.registry.call"


@dataclass
class Traced:
    gateway: RunningGateway
    spans: InMemorySpanExporter
    proxy: RecordingProxy


@pytest.fixture(scope="module")
def traced(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    exporter = span_exporter()
    where = urlsplit(registry.url)
    proxy = RecordingProxy((where.hostname or "127.0.0.1", where.port or 80))
    settings = gateway_settings(
        registry, tmp_path_factory.mktemp("traced"), tracing=True, min_part_size=1024
    ).model_copy(update={"registry_url": proxy.url})
    with serve(settings) as running:
        yield Traced(running, exporter, proxy)
    proxy.close()


@pytest.fixture
def s3(traced: Traced):  # type: ignore[no-untyped-def]
    return s3_client(traced.gateway.url)


@pytest.fixture
def bucket(s3) -> str:  # type: ignore[no-untyped-def]
    name = f"tr-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def server_span(traced: Traced, name: str, seconds: float = 10) -> ReadableSpan:
    """The one server span named ``name`` (it ends just after the answer went out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [
            span
            for span in traced.spans.get_finished_spans()
            if span.kind == SpanKind.SERVER and span.name == name
        ]
        if found:
            assert len(found) == 1, [span.name for span in found]
            return found[0]
        time.sleep(0.02)
    names = sorted({span.name for span in traced.spans.get_finished_spans()})
    raise AssertionError(f"no server span {name}; spans: {names}")


def descendants(traced: Traced, root: ReadableSpan) -> list[ReadableSpan]:
    """Every span under ``root`` (by parent links), all of its trace."""
    assert root.context is not None
    trace_id = root.context.trace_id
    spans = [s for s in traced.spans.get_finished_spans() if s.context.trace_id == trace_id]
    children: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    found: list[ReadableSpan] = []
    todo = [root.context.span_id]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.context.span_id)
    return found


def registry_calls(spans: list[ReadableSpan]) -> list[str]:
    return [str(span.attributes[CALL]) for span in spans if CALL in (span.attributes or {})]


def test_a_put_object_is_one_trace_down_to_each_registry_call(traced, s3, bucket):
    traced.spans.clear()
    answer = s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=b"traced bytes" * 100)
    server = server_span(traced, "PutObject")
    below = descendants(traced, server)
    calls = registry_calls(below)
    assert "upload blob" in calls
    assert "push manifest" in calls
    assert all(span.kind == SpanKind.CLIENT for span in below if CALL in span.attributes)
    assert {span.name for span in below if CALL in span.attributes} >= {
        "registry upload blob",
        "registry push manifest",
    }
    attributes = server.attributes or {}
    request_id = answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    assert attributes["artifact_store.request_id"] == request_id
    assert attributes["aws.s3.bucket"] == bucket
    assert attributes["aws.s3.key"] == "dir/file.txt"
    assert attributes["artifact_store.principal"] == "root"
    # Nothing of the trace is outside the tree: every span of the trace hangs below it.
    assert server.context is not None
    same_trace = [
        span
        for span in traced.spans.get_finished_spans()
        if span.context.trace_id == server.context.trace_id
    ]
    assert len(same_trace) == len(below) + 1


def test_a_multipart_complete_pushes_its_manifest_under_its_span(traced, s3, bucket):
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=n, Body=body)["ETag"]
        for n, body in enumerate([b"a" * 2048, b"b" * 100], 1)
    ]
    traced.spans.clear()
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]},
    )
    server = server_span(traced, "CompleteMultipartUpload")
    calls = registry_calls(descendants(traced, server))
    assert "push manifest" in calls
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == b"a" * 2048 + b"b" * 100


def test_a_verdict_shows_its_verify_span_and_the_referrers_read(traced, s3, bucket):
    s3.put_object(Bucket=bucket, Key="tool.tar.gz", Body=b"release")
    traced.spans.clear()
    answer = httpx.get(
        f"{traced.gateway.url}/_artifacts/verify/{bucket}",
        params={"key": "tool.tar.gz", "fresh": "true"},
        headers=BASIC,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["signed"] is False
    server = server_span(traced, "GET /_artifacts/verify/{bucket}")
    assert (server.attributes or {})["artifact_store.request_id"] == answer.headers["x-request-id"]
    below = descendants(traced, server)
    verify = [span for span in below if span.name == "verify"]
    assert len(verify) == 1
    assert verify[0].attributes == {
        "artifact_store.verify.cached": False,
        "artifact_store.verify.signed": False,
        "artifact_store.verify.signatures": 0,
    }
    assert "list referrers" in registry_calls(descendants(traced, verify[0]))


def test_a_require_signature_get_is_refused_under_its_verify_span(traced, s3, bucket):
    s3.put_object(Bucket=bucket, Key="unsigned", Body=b"x")
    trust = httpx.put(
        f"{traced.gateway.url}/_artifacts/trust/{bucket}",
        json={"require_signature": True},
        headers=BASIC,
        timeout=30,
    )
    assert trust.status_code == 200, trust.text
    traced.spans.clear()
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket=bucket, Key="unsigned")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    server = server_span(traced, "GetObject")
    assert (server.attributes or {})["http.status_code"] == 403
    assert [span.name for span in descendants(traced, server)].count("verify") == 1


def with_traceparent(s3, value: str):  # type: ignore[no-untyped-def]
    """boto3 adding ``traceparent`` (unsigned, as a tracing client library adds it)."""

    def add(request, **_kwargs):  # type: ignore[no-untyped-def]
        request.headers["traceparent"] = value

    s3.meta.events.register("before-send.s3.*", add)
    return s3


def test_a_client_traceparent_is_the_parent_and_reaches_zot(traced, s3, bucket):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    with_traceparent(s3, f"00-{trace_id}-{parent_id}-01")
    big = secrets.token_bytes(300 * 1024)  # above the small-blob cache: read from Zot
    traced.spans.clear()
    s3.put_object(Bucket=bucket, Key="parented", Body=big)
    assert s3.get_object(Bucket=bucket, Key="parented")["Body"].read() == big
    for name in ("PutObject", "GetObject"):
        server = server_span(traced, name)
        assert server.context is not None
        assert server.parent is not None
        assert format(server.context.trace_id, "032x") == trace_id
        assert format(server.parent.span_id, "016x") == parent_id
        assert registry_calls(descendants(traced, server))
    get = server_span(traced, "GetObject")
    assert "get blob" in registry_calls(descendants(traced, get))
    sent = traced.proxy.text()
    propagated = re.findall(
        rf"(?im)^traceparent: 00-{trace_id}-([0-9a-f]{{16}})-[0-9a-f]{{2}}\r$", sent
    )
    assert len(propagated) >= 3  # the blob upload, the manifest, the blob download at least
    ours = {
        format(span.context.span_id, "016x")
        for span in traced.spans.get_finished_spans()
        if span.kind == SpanKind.CLIENT
    }
    assert set(propagated) <= ours  # each names the client span of the call that sent it


def test_a_request_after_a_large_one_on_the_same_connection_is_a_trace_of_its_own(
    traced, s3, bucket
):
    """uvicorn resumes reading a kept-alive connection from inside the request that paused it:
    the next request's task would start in that request's context (tracing.fresh)."""
    big = secrets.token_bytes(300 * 1024)  # enough for uvicorn to pause reading
    traced.spans.clear()
    s3.put_object(Bucket=bucket, Key="first", Body=big)
    s3.head_object(Bucket=bucket, Key="first")
    put, head = server_span(traced, "PutObject"), server_span(traced, "HeadObject")
    assert head.parent is None
    assert put.context is not None
    assert head.context is not None
    assert head.context.trace_id != put.context.trace_id
