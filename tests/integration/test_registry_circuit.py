"""The registry circuit against a real Zot behind a TCP proxy the test steers: while Zot
hangs (or refuses), the gateway answers 503 and, once the circuit is open, answers it at
once instead of after the registry timeout; when Zot is back, requests succeed again
without a gateway restart."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client import REGISTRY

from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.fixtures.tcp_proxy import TcpProxy, tcp_proxy

TIMEOUT = 2.0  # the gateway's registry timeout in this test (connect and read)
FAILURES = 3
COOLDOWN = 3.0
BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()


@pytest.fixture
def behind_proxy(
    registry: RunningRegistry, tmp_path: Path
) -> Iterator[tuple[RunningGateway, TcpProxy]]:
    with tcp_proxy(registry.url) as proxy:
        settings = gateway_settings(registry, tmp_path / "gateway").model_copy(
            update={
                "registry_url": proxy.url,
                "blob_cache_mib": 0,  # every GetObject reaches the registry
                "registry_timeout_seconds": TIMEOUT,
                "registry_connect_timeout_seconds": TIMEOUT,
                "registry_circuit_failures": FAILURES,
                "registry_circuit_cooldown_seconds": COOLDOWN,
                "repository_prefix": "circuit",
            }
        )
        with serve(settings) as running:
            yield running, proxy


def circuit_is(state: str) -> bool:
    labels = {"artifact_store_registry_circuit_state": state}
    return REGISTRY.get_sample_value("artifact_store_registry_circuit_state", labels) == 1.0


def timed_get(s3, key: str) -> tuple[float, dict]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with pytest.raises(ClientError) as refused:
        s3.get_object(Bucket="circuit", Key=key)
    return time.monotonic() - started, refused.value.response


def until_fast(s3) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    """GetObjects until one is answered well under the timeout; how many it took."""
    for attempt in range(1, FAILURES + 3):
        elapsed, response = timed_get(s3, "k")
        assert response["Error"]["Code"] == "ServiceUnavailable"
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
        if elapsed < TIMEOUT / 2:
            return attempt, response
    pytest.fail("the circuit never opened")


def recovers(s3, proxy: TcpProxy) -> None:  # type: ignore[no-untyped-def]
    proxy.set_mode("pass")
    deadline = time.monotonic() + COOLDOWN + 10
    codes = []
    while True:
        try:
            assert s3.get_object(Bucket="circuit", Key="k")["Body"].read() == b"kept"
            break
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
        assert time.monotonic() < deadline, "the gateway did not recover"
        time.sleep(0.2)
    assert set(codes) <= {"ServiceUnavailable"}
    assert circuit_is("closed")
    s3.put_object(Bucket="circuit", Key="after", Body=b"after")
    assert s3.get_object(Bucket="circuit", Key="after")["Body"].read() == b"after"


def test_a_hanging_registry_opens_the_circuit_and_its_return_closes_it(
    behind_proxy: tuple[RunningGateway, TcpProxy],
) -> None:
    gateway, proxy = behind_proxy
    s3 = s3_client(gateway.url)
    s3.create_bucket(Bucket="circuit")
    s3.put_object(Bucket="circuit", Key="k", Body=b"kept")
    reference = s3.head_object(Bucket="circuit", Key="k")["ResponseMetadata"]["HTTPHeaders"][
        "x-artifact-store-oci-reference"
    ]

    proxy.set_mode("stall")
    slow, _ = timed_get(s3, "k")
    assert slow >= TIMEOUT * 0.9  # the first ones wait for the registry's timeout
    taken, response = until_fast(s3)
    assert taken <= FAILURES
    assert circuit_is("open")
    assert 1 <= int(response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) <= COOLDOWN
    for _ in range(5):  # every request now: 503 at once
        elapsed, response = timed_get(s3, "k")
        assert elapsed < TIMEOUT / 2
        assert response["Error"]["Code"] == "ServiceUnavailable"
    started = time.monotonic()
    with pytest.raises(ClientError) as put:
        s3.put_object(Bucket="circuit", Key="new", Body=b"x")
    assert put.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert time.monotonic() - started < TIMEOUT / 2
    # /v2/ shares the circuit: 503 UNAVAILABLE at once.
    repository, tag = reference.rsplit(":", 1)
    started = time.monotonic()
    oci = httpx.get(
        f"{gateway.url}/v2/{repository}/manifests/{tag}", headers={"Authorization": BASIC}
    )
    assert oci.status_code == 503
    assert oci.json()["errors"][0]["code"] == "UNAVAILABLE"
    assert time.monotonic() - started < TIMEOUT / 2

    recovers(s3, proxy)
    with pytest.raises(ClientError):  # the write refused while open left nothing
        s3.head_object(Bucket="circuit", Key="new")


def test_a_refusing_registry_opens_the_circuit_too(
    behind_proxy: tuple[RunningGateway, TcpProxy],
) -> None:
    gateway, proxy = behind_proxy
    s3 = s3_client(gateway.url)
    s3.create_bucket(Bucket="circuit")
    s3.put_object(Bucket="circuit", Key="k", Body=b"kept")
    proxy.set_mode("refuse")
    taken, _ = until_fast(s3)
    assert taken <= FAILURES
    assert circuit_is("open")
    recovers(s3, proxy)
