"""``gateway serve`` as deployed (a process of its own, not on a terminal): its standard error
is JSON lines, one access line per request, no registry call lines at ``info``; with
``OTEL_EXPORTER_OTLP_ENDPOINT`` set it exports its spans over OTLP/HTTP, and the access line's
``trace_id`` is the trace the collector received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.processes import start_gateway
from tests.fixtures.registries import RunningRegistry, free_port


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: keeps every span posted to /v1/traces."""

    spans: list[dict[str, Any]] = []  # one collector per test (the fixture empties it)

    def log_message(self, *_args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        assert self.path == "/v1/traces"
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                for span in scope.spans:
                    Collector.spans.append(
                        {
                            "service": service.get("service.name"),
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "parent": span.parent_span_id.hex(),
                        }
                    )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_deployed_gateway_logs_json_and_exports_its_traces(
    registry: RunningRegistry, tmp_path: Path, collector: str
) -> None:
    gateway = start_gateway(
        registry,
        tmp_path / "gateway",
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        env={
            "ARTIFACT_STORE_LOG_LEVEL": "info",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    )
    try:
        s3 = s3_client(gateway.url)
        s3.create_bucket(Bucket="deployed")
        put = s3.put_object(Bucket="deployed", Key="k", Body=b"logged and traced")
        rid = put["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
        deadline = time.monotonic() + 15
        while not any(span["name"] == "PutObject" for span in Collector.spans):
            assert time.monotonic() < deadline, Collector.spans
            time.sleep(0.1)
    finally:
        gateway.stop()
    output = gateway.log_path.read_text().splitlines()
    lines = [json.loads(line) for line in output if line.startswith("{")]
    assert len(lines) >= len(output) - 2  # all but the start-up banner (standard output)
    assert {"timestamp", "level", "logger", "message"} <= set(lines[0])
    assert any(line["logger"] == "uvicorn.error" for line in lines)  # uvicorn's own, as JSON
    assert not any(line["logger"] == "httpx" for line in lines)  # registry calls: debug only
    (access,) = [line for line in lines if line.get("request_id") == rid]
    assert access["logger"] == "gateway.request"
    assert access["message"] == "PUT /deployed/k 200"
    assert access["operation"] == "PutObject"
    assert access["principal"] == "root"
    assert access["status"] == 200
    assert access["duration_ms"] > 0
    (server,) = [span for span in Collector.spans if span["name"] == "PutObject"]
    assert server["service"] == "artifact-store"
    assert server["parent"] == ""
    assert access["trace_id"] == server["trace_id"]
    below = {span["name"] for span in Collector.spans if span["trace_id"] == server["trace_id"]}
    assert "registry push manifest" in below
