"""Which registry calls are tried again, after what, within which budget
(``gateway/registry/retries.py``), and the circuit in front of the client's calls."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from tenacity import wait_none

from gateway.domain.ports.registry import (
    RegistryDigestInvalid,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)
from gateway.registry.circuit import Circuit, CircuitOpen
from gateway.registry.client import RegistryClient
from gateway.registry.retries import RetryBudget, repeatable, transient, unreachable

BASE = "http://registry.test:5000"
DIGEST = "sha256:" + hashlib.sha256(b"blob").hexdigest()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


async def stream() -> AsyncIterator[bytes]:
    yield b"bytes"


@pytest.mark.parametrize(
    ("method", "url", "content", "expected"),
    [
        pytest.param("GET", "/v2/r/manifests/o-1", None, True, id="get-manifest"),
        pytest.param("HEAD", f"/v2/r/blobs/{DIGEST}", None, True, id="head-blob"),
        pytest.param("GET", "/v2/_catalog?n=1000", None, True, id="catalog"),
        pytest.param("DELETE", f"/v2/r/manifests/{DIGEST}", None, True, id="delete-by-digest"),
        pytest.param("DELETE", "/v2/r/blobs/uploads/u?_state=x", None, True, id="cancel-upload"),
        pytest.param("PUT", "/v2/r/manifests/o-1", b"{}", True, id="put-manifest-by-tag"),
        pytest.param("PUT", f"/v2/r/manifests/{DIGEST}", b"{}", True, id="put-manifest-digest"),
        pytest.param("POST", "/v2/r/blobs/uploads/", None, True, id="open-upload"),
        pytest.param("POST", "/v2/r/blobs/uploads/?digest=x", b"{}", True, id="push-whole-bytes"),
        pytest.param("POST", "/v2/r/blobs/uploads/?digest=x", stream(), False, id="push-stream"),
        pytest.param("PATCH", "/v2/r/blobs/uploads/u", b"abc", False, id="patch-upload"),
        pytest.param("PUT", "/v2/r/blobs/uploads/u?digest=x", None, False, id="close-upload"),
        pytest.param("PUT", "/v2/r/blobs/uploads/u?digest=x", b"abc", False, id="put-into-upload"),
        pytest.param("PUT", "/v2/r/manifests/o-1", stream(), False, id="streamed-manifest"),
    ],
)
def test_which_calls_are_repeatable(method: str, url: str, content: object, expected: bool) -> None:
    assert repeatable(method, url, content) is expected


def unavailable(cause: BaseException | None = None, status: int | None = None) -> Exception:
    error = RegistryUnavailable("x", status=status)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "is_transient", "is_unreachable"),
    [
        pytest.param(unavailable(httpx.ConnectError("refused")), True, True, id="refused"),
        pytest.param(unavailable(httpx.ConnectTimeout("slow")), True, True, id="connect-timeout"),
        pytest.param(unavailable(httpx.RemoteProtocolError("closed")), True, True, id="closed"),
        pytest.param(unavailable(ConnectionResetError()), True, True, id="fast-path-reset"),
        pytest.param(unavailable(httpx.ReadTimeout("busy")), False, True, id="read-timeout"),
        pytest.param(unavailable(status=500), True, False, id="500"),
        pytest.param(unavailable(status=502), True, True, id="502"),
        pytest.param(unavailable(status=503), True, True, id="503"),
        pytest.param(unavailable(status=504), True, True, id="504"),
        pytest.param(unavailable(status=429), False, False, id="429"),
        pytest.param(CircuitOpen("open", retry_after=3), False, True, id="circuit-open"),
        pytest.param(RegistryNotFound("x", status=404), False, False, id="404"),
        pytest.param(RegistryRejected("x", status=400), False, False, id="400"),
    ],
)
def test_which_failures_are_transient_and_which_say_unreachable(
    error: Exception, is_transient: bool, is_unreachable: bool
) -> None:
    assert transient(error, "GET", "/v2/r/manifests/t") is is_transient
    assert unreachable(error) is is_unreachable  # type: ignore[arg-type]


def test_digest_invalid_is_transient_for_a_manifest_only() -> None:
    error = RegistryDigestInvalid("x", status=400, code="DIGEST_INVALID")
    assert transient(error, "PUT", "/v2/r/manifests/t")
    assert not transient(error, "PUT", "/v2/r/blobs/uploads/u?digest=x")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("call"), st.just(0.0)),
            st.tuples(st.just("retry"), st.just(0.0)),
            st.tuples(st.just("wait"), st.floats(min_value=0, max_value=5)),
        ),
        max_size=300,
    )
)
def test_the_budget_never_grants_more_than_burst_plus_ratio_plus_trickle(
    steps: list[tuple[str, float]],
) -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.1, per_second=1.0, burst=20, clock=clock)
    calls = granted = 0
    for kind, seconds in steps:
        if kind == "call":
            calls += 1
            budget.deposit()
        elif kind == "retry":
            granted += budget.withdraw()
        else:
            clock.now += seconds
        assert granted <= 20 + 0.1 * calls + clock.now + 1e-9
        assert 0 <= budget.tokens <= 20


def test_a_spent_budget_refuses_until_calls_or_time_refill_it() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.5, per_second=1.0, burst=2, clock=clock)
    assert budget.withdraw()
    assert budget.withdraw()
    assert not budget.withdraw()
    budget.deposit()
    budget.deposit()
    assert budget.withdraw()
    assert not budget.withdraw()
    clock.now += 1.0
    assert budget.withdraw()


def sample(name: str, call: str) -> float:
    return REGISTRY.get_sample_value(name, {"call": call}) or 0.0


@pytest.mark.anyio
async def test_retries_stop_when_the_budget_is_spent_and_are_counted() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(503)

    budget = RetryBudget(ratio=0.0, per_second=0.0, burst=3)
    client = RegistryClient(
        BASE, transport=httpx.MockTransport(handler), budget=budget, pause=wait_none()
    )
    retries = sample("artifact_store_registry_retries_total", "get_manifest")
    refused = sample("artifact_store_registry_retries_refused_total", "get_manifest")
    try:
        with pytest.raises(RegistryUnavailable):
            await client.get_manifest("r", "t")  # 1 + 3 retries: the budget's 3
        with pytest.raises(RegistryUnavailable):
            await client.get_manifest("r", "t")  # nothing left: one try
    finally:
        await client.aclose()
    assert len(sent) == 5
    assert sample("artifact_store_registry_retries_total", "get_manifest") == retries + 3
    assert sample("artifact_store_registry_retries_refused_total", "get_manifest") == refused + 1


@pytest.mark.anyio
async def test_an_open_circuit_fails_calls_without_sending_them() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        raise httpx.ConnectError("refused")

    clock = Clock()
    circuit = Circuit(failures=3, cooldown=10, clock=clock)
    client = RegistryClient(
        BASE, transport=httpx.MockTransport(handler), circuit=circuit, pause=wait_none()
    )
    try:
        with pytest.raises(RegistryUnavailable):
            await client.blob_exists("r", DIGEST)  # 3 tries: the circuit opens at the third
        assert circuit.state == "open"
        assert len(sent) == 3
        with pytest.raises(CircuitOpen) as fast:
            await client.get_manifest("r", "t")
        assert fast.value.retry_after == 10
        with pytest.raises(CircuitOpen):
            async with client.open_blob("r", DIGEST):
                pytest.fail("opened")
        assert len(sent) == 3  # nothing more reached the registry
        clock.now += 10
        sent.clear()

        def recovered(request: httpx.Request) -> httpx.Response:
            sent.append(request.url.path)
            return httpx.Response(200, content=b"{}")

        client._client._transport = httpx.MockTransport(recovered)
        assert (await client.get_manifest("r", "t")).body == b"{}"  # the probe
        assert circuit.state == "closed"
        assert await client.blob_exists("r", DIGEST)
    finally:
        await client.aclose()


@pytest.mark.anyio
async def test_answers_that_show_the_registry_is_there_keep_the_circuit_closed() -> None:
    circuit = Circuit(failures=2, cooldown=10)
    answers = iter([httpx.Response(500)] * 4 + [httpx.Response(404)] * 4)
    client = RegistryClient(
        BASE,
        transport=httpx.MockTransport(lambda request: next(answers)),
        circuit=circuit,
        pause=wait_none(),
    )
    try:
        with pytest.raises(RegistryUnavailable):
            await client.get_manifest("r", "t")
        for _ in range(4):
            assert not await client.blob_exists("r", DIGEST)
        assert circuit.state == "closed"
    finally:
        await client.aclose()
