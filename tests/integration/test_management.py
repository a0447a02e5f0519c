"""The management port of a real gateway: /metrics moves by what S3, /v2/ and the JSON API
did, with the labels docs/operations.md names; /readyz names the check that fails (the
registry stopped, unreachable or refusing the gateway's credentials; Keycloak's keys); the
S3 port answers S3 only.

The metrics live in the test process's default registry, shared by every in-thread gateway:
tests read deltas of series only their own requests move.
"""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings, s3_client
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.processes import start_gateway
from tests.fixtures.registries import RunningRegistry, free_port, start
from tests.fixtures.servers import RunningGateway, serve

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(gateway: RunningGateway) -> Samples:
    answer = httpx.get(f"{gateway.management_url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def readyz(gateway: RunningGateway) -> httpx.Response:
    return httpx.get(f"{gateway.management_url}/readyz", timeout=10)


@pytest.fixture(scope="module")
def managed(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = gateway_settings(registry, tmp_path_factory.mktemp("managed"))
    with serve(settings, management=True) as running:
        yield running


@pytest.fixture(scope="module")
def s3m(managed: RunningGateway):  # type: ignore[no-untyped-def]
    return s3_client(managed.url)


def test_put_and_get_move_the_counters_by_their_size(managed: RunningGateway, s3m) -> None:  # type: ignore[no-untyped-def]
    bucket, body = f"m-{uuid.uuid4().hex[:12]}", b"metrics " * 12_345
    s3m.create_bucket(Bucket=bucket)
    before = scrape(managed)
    s3m.put_object(Bucket=bucket, Key="a/b.bin", Body=body)
    assert s3m.get_object(Bucket=bucket, Key="a/b.bin")["Body"].read() == body
    after = scrape(managed)

    def s3(name: str, operation: str, **labels: str) -> float:
        return moved(before, after, name, protocol="s3", operation=operation, **labels)

    for operation in ("PutObject", "GetObject"):
        assert s3("artifact_store_http_requests_total", operation, status="2xx") == 1
        assert s3("artifact_store_http_request_duration_seconds_count", operation) == 1
    assert s3("artifact_store_received_bytes_total", "PutObject") == len(body)
    assert s3("artifact_store_sent_bytes_total", "GetObject") == len(body)
    assert s3("artifact_store_sent_bytes_total", "PutObject") == 0  # an empty 200
    for direction in ("upload", "download"):
        key = ("artifact_store_transfers_in_flight", frozenset({("direction", direction)}))
        assert after[key] == 0
    assert after[("artifact_store_http_requests_in_flight", frozenset({("protocol", "s3")}))] == 0

    def authz(action: str) -> float:
        name = "artifact_store_authz_decisions_total"
        return moved(before, after, name, action=action, outcome="allow", basis="root")

    assert (authz("s3:PutObject"), authz("s3:GetObject")) == (1, 1)
    index = "artifact_store_index_call_duration_seconds_count"
    assert moved(before, after, index, call="put_object") == 1
    assert moved(before, after, index, call="get_object") >= 1
    registry = "artifact_store_registry_requests_total"
    assert moved(before, after, registry, call="push manifest", outcome="2xx") >= 1
    # The object's bytes went to the registry once, read back once (or from the blob cache).
    assert moved(before, after, registry, call="upload blob", outcome="2xx") >= 1
    assert not any(
        name == registry
        and dict(labels)["outcome"] in ("5xx", "transport_error")
        and moved(before, after, name, **dict(labels))
        for name, labels in after
    )
    s3m.delete_object(Bucket=bucket, Key="a/b.bin")
    s3m.delete_bucket(Bucket=bucket)


def test_refusals_and_unknown_routes_are_counted_with_bounded_labels(
    managed: RunningGateway,
    s3m,  # type: ignore[no-untyped-def]
) -> None:
    before = scrape(managed)
    forged = (
        "AWS4-HMAC-SHA256 Credential=AKIDNOSUCHKEY/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    intruder = httpx.get(
        f"{managed.url}/some-bucket/a-key",
        headers={"Authorization": forged, "x-amz-date": "20260101T000000Z"},
        timeout=10,
    )
    assert intruder.status_code in (400, 403)  # refused before its route was known
    with pytest.raises(Exception, match="NoSuchBucket"):
        s3m.get_object(Bucket=f"m-{uuid.uuid4().hex[:12]}", Key="k")
    oci = httpx.get(f"{managed.url}/v2/", timeout=10)
    assert oci.status_code == 401
    api = httpx.get(f"{managed.url}/_artifacts/livez", timeout=10)
    assert api.status_code == 200
    after = scrape(managed)
    requests = "artifact_store_http_requests_total"
    assert moved(before, after, requests, protocol="s3", operation="Unrouted", status="4xx") == 1
    assert moved(before, after, requests, protocol="s3", operation="GetObject", status="4xx") == 1
    assert moved(before, after, requests, protocol="oci", operation="ApiVersion", status="4xx") == 1
    assert moved(before, after, requests, protocol="api", operation="livez", status="2xx") == 1
    # No label value names a bucket, a key or a path.
    values = {value for _, labels in after for _, value in labels}
    assert not any("some-bucket" in value or "a-key" in value for value in values)


def test_probes_on_the_management_port(managed: RunningGateway) -> None:
    assert httpx.get(f"{managed.management_url}/livez").json() == {"status": "ok"}
    started = httpx.get(f"{managed.management_url}/startupz")
    assert (started.status_code, started.json()) == (200, {"status": "started"})
    ready = readyz(managed)
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {
            "registry": {
                "status": "ok",
                "detail": "GET /v2/ answered with the gateway's credentials",
            },
            "index": {"status": "ok", "detail": "a write to the health table committed"},
        },
    }


def test_the_s3_port_answers_s3_only(managed: RunningGateway) -> None:
    """``/metrics`` on the S3 port is the bucket ``metrics`` (not ours to see); the old
    ``/_artifacts`` probes stay for compatibility; the management port serves no S3."""
    for path in ("/metrics", "/readyz", "/startupz"):
        answer = httpx.get(f"{managed.url}{path}", timeout=10)
        assert answer.status_code == 403, path
        assert answer.headers["content-type"] == "application/xml", path
        assert b"<Code>AccessDenied</Code>" in answer.content
        assert b"artifact_store_" not in answer.content
    assert httpx.get(f"{managed.url}/_artifacts/readyz").json() == {"status": "ok"}
    assert httpx.get(f"{managed.management_url}/").status_code == 404
    assert httpx.get(f"{managed.management_url}/some-bucket/key").status_code == 404


def failed_checks(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "failed"
    return {
        name: check["detail"] for name, check in body["checks"].items() if check["status"] != "ok"
    }


def test_readyz_names_an_unreachable_registry(registry: RunningRegistry, tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    settings = gateway_settings(registry, tmp_path).model_copy(update={"registry_url": closed})
    with serve(settings, management=True) as running:
        assert httpx.get(f"{running.management_url}/startupz").status_code == 200
        assert httpx.get(f"{running.management_url}/livez").status_code == 200
        failed = failed_checks(readyz(running))
        assert list(failed) == ["registry"]
        assert failed["registry"].startswith("ping: ConnectError")


def test_readyz_names_a_registry_that_refuses_the_gateway(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    if registry.auth is None:
        pytest.fail("the registry runs without credentials: this needs Zot")
    settings = gateway_settings(registry, tmp_path).model_copy(
        update={"registry_password": SecretStr("not-the-password")}
    )
    with serve(settings, management=True) as running:
        failed = failed_checks(readyz(running))
        assert list(failed) == ["registry"]
        assert "401" in failed["registry"] or "UNAUTHORIZED" in failed["registry"]


def test_readyz_follows_a_registry_that_stops_and_comes_back(tmp_path: Path) -> None:
    root, port = tmp_path / "zot", free_port()
    dedicated = start(root, port=port)
    try:
        settings = gateway_settings(dedicated, tmp_path / "gateway")
        with serve(settings, management=True) as running:
            assert readyz(running).status_code == 200
            dedicated.stop()
            assert list(failed_checks(readyz(running))) == ["registry"]
            dedicated = start(root, port=port)  # the same data and credentials
            assert readyz(running).status_code == 200  # no gateway restart needed
    finally:
        dedicated.stop()


def test_readyz_checks_keycloaks_keys(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path: Path
) -> None:
    settings = gateway_settings(
        registry,
        tmp_path / "up",
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
    )
    with serve(settings, management=True) as running:
        answer = readyz(running)
        assert answer.status_code == 200
        jwks = answer.json()["checks"]["jwks"]
        assert jwks["status"] == "ok"
        assert jwks["detail"].endswith(f"signing keys from {keycloak.jwks_url()}")
    closed = f"http://127.0.0.1:{free_port()}/realms/gone"
    settings = settings.model_copy(
        update={"oidc_issuer": closed, "oidc_jwks_url": None, "data_dir": tmp_path / "down"}
    )
    with serve(settings, management=True) as running:
        failed = failed_checks(readyz(running))
        assert list(failed) == ["jwks"]
        assert failed["jwks"].startswith(
            f"no signing keys: fetching {closed}/protocol/openid-connect/certs failed"
        )


# -- as deployed: ``python -m gateway serve`` ---------------------------------------------------


def test_a_gateway_process_opens_its_management_port(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    running = start_gateway(
        registry,
        tmp_path / "gateway",
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        env={"ARTIFACT_STORE_MANAGEMENT_PORT": str(free_port())},
    )
    try:
        url = running.management_url
        assert httpx.get(f"{url}/startupz").json() == {"status": "started"}
        assert httpx.get(f"{url}/readyz").status_code == 200
        s3 = s3_client(running.url)
        s3.create_bucket(Bucket="process")
        s3.put_object(Bucket="process", Key="k", Body=b"x" * 1000)
        body = httpx.get(f"{url}/metrics").text
        put = 'operation="PutObject",protocol="s3",status="2xx"'
        assert f"artifact_store_http_requests_total{{{put}}} 1.0" in body
        assert "process_resident_memory_bytes" in body  # one process: its own collectors
    finally:
        running.stop()


def test_workers_add_up_their_metrics(registry: RunningRegistry, tmp_path: Path) -> None:
    """Two processes share the management port as they share the S3 port; whichever
    answers a scrape sums what both wrote (prometheus_client multiprocess mode)."""
    running = start_gateway(
        registry,
        tmp_path / "gateway",
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        env={
            "ARTIFACT_STORE_WORKERS": "2",
            "ARTIFACT_STORE_MANAGEMENT_PORT": str(free_port()),
            "ARTIFACT_STORE_REPOSITORY_PREFIX": "mw",
        },
        ready_seconds=180,  # two processes importing the gateway on two busy cores
    )
    try:
        s3_client(running.url).create_bucket(Bucket="workers")
        puts = 24
        for number in range(puts):  # a connection each: the kernel spreads them
            s3_client(running.url).put_object(Bucket="workers", Key=f"k{number}", Body=b"w" * 10)
        files = {path.name for path in (tmp_path / "gateway" / "metrics").glob("*.db")}
        writers = {name.rsplit("_", 1)[1] for name in files if name.startswith("counter_")}
        assert len(writers) == 2, files  # both workers served some
        for _ in range(4):  # any worker's answer holds the sum
            body = httpx.get(f"{running.management_url}/metrics").text
            put = 'operation="PutObject",protocol="s3",status="2xx"'
            assert f"artifact_store_http_requests_total{{{put}}} {float(puts)}" in body
            received = 'received_bytes_total{operation="PutObject",protocol="s3"}'
            assert f"artifact_store_{received} {float(puts * 10)}" in body
            assert "process_resident_memory_bytes" not in body
        assert httpx.get(f"{running.management_url}/readyz").status_code == 200
    finally:
        running.stop()


def test_a_taken_management_port_stops_the_gateway(
    registry: RunningRegistry, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match="gateway exited") as caught:
            start_gateway(
                registry,
                tmp_path / "gateway",
                free_port(),
                (ACCESS_KEY, SECRET_KEY),
                env={"ARTIFACT_STORE_MANAGEMENT_PORT": str(port)},
            )
    assert "address already in use" in str(caught.value)


def test_the_dashboards_zot_metrics_are_what_zot_exports(registry: RunningRegistry) -> None:
    """The second scrape target: Zot's metrics extension, behind the gateway's credentials
    (the accessControl ``metrics`` users of Zot's configuration)."""
    if registry.kind != "zot":
        pytest.fail("Zot's /metrics needs Zot (not the distribution fallback)")
    dashboard = (
        Path(__file__).resolve().parents[2] / "docs/grafana/artifact-store.json"
    ).read_text()
    wanted = set(re.findall(r"zot_[a-z_]+", dashboard)) - {"zot_job"}  # a variable
    assert wanted
    with registry.http() as direct:
        direct.get("/v2/")  # at least one request, so that the request series exist
        answer = direct.get("/metrics")
    assert answer.status_code == 200
    exported = {
        sample.name
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }
    assert wanted <= exported
    assert httpx.get(f"{registry.url}/metrics").status_code == 401  # not for anyone
