"""The cap on data requests in flight (``gateway/shedding.py``) and its S3 layer."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from gateway.s3.exchange import EXCHANGE, Exchange
from gateway.s3.limited import DATA_OPERATIONS, Limited
from gateway.s3.routes import match
from gateway.shedding import Limiter, Overloaded


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def sample(name: str, protocol: str | None = None) -> float:
    labels = {"protocol": protocol} if protocol else {}
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.anyio
async def test_the_cap_refuses_one_more_at_once_and_counts_it() -> None:
    limiter = Limiter(2, retry_after=3)
    shed = sample("artifact_store_shed_data_requests_total", "unit")
    base = sample("artifact_store_inflight_data_requests", "unit")
    async with limiter.slot("unit"), limiter.slot("unit"):
        assert limiter.in_flight == 2
        assert sample("artifact_store_inflight_data_requests", "unit") == base + 2
        with pytest.raises(Overloaded) as refused:
            async with limiter.slot("unit"):
                pytest.fail("a third slot was given")
        assert refused.value.retry_after == 3
        assert str(refused.value) == "Please reduce your request rate."
    assert limiter.in_flight == 0
    assert sample("artifact_store_inflight_data_requests", "unit") == base
    assert sample("artifact_store_shed_data_requests_total", "unit") == shed + 1
    assert sample("artifact_store_inflight_data_requests_limit") == 2


@pytest.mark.anyio
async def test_a_slot_is_given_back_when_the_request_fails_or_is_cancelled() -> None:
    limiter = Limiter(1)
    with pytest.raises(RuntimeError):
        async with limiter.slot("unit"):
            raise RuntimeError("handler failed")
    assert limiter.in_flight == 0

    entered = asyncio.Event()

    async def held() -> None:
        async with limiter.slot("unit"):
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(held())
    await entered.wait()
    assert limiter.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.in_flight == 0
    async with limiter.slot("unit"):  # free again
        pass


@pytest.mark.anyio
async def test_no_cap_counts_without_refusing() -> None:
    limiter = Limiter(0)
    async with limiter.slot("unit"), limiter.slot("unit"), limiter.slot("unit"):
        assert limiter.in_flight == 3


def scope_for(method: str, target: str, query: dict[str, str], headers: dict[str, str]) -> Scope:
    scope: Scope = {"type": "http", "method": method, "path": "/b/k", "headers": []}
    exchange = Exchange("rid", Request(scope), "/b/k", None)
    exchange.route = match(method, target, query, headers)  # type: ignore[arg-type]
    scope[EXCHANGE] = exchange
    return scope


async def nothing() -> Message:
    return {"type": "http.disconnect"}


async def drop(message: Message) -> None:
    return None


@pytest.mark.parametrize(
    ("method", "query", "headers", "limited"),
    [
        pytest.param("GET", {}, {}, True, id="GetObject"),
        pytest.param("PUT", {}, {}, True, id="PutObject"),
        pytest.param("PUT", {"uploadId": "u", "partNumber": "1"}, {}, True, id="UploadPart"),
        pytest.param("PUT", {}, {"x-amz-copy-source": "/a/b"}, True, id="CopyObject"),
        pytest.param("HEAD", {}, {}, False, id="HeadObject"),
        pytest.param("GET", {"tagging": ""}, {}, False, id="GetObjectTagging"),
        pytest.param("POST", {"uploadId": "u"}, {}, False, id="CompleteMultipartUpload"),
        pytest.param("DELETE", {}, {}, False, id="DeleteObject"),
    ],
)
@pytest.mark.anyio
async def test_s3_data_operations_take_a_slot_and_the_rest_do_not(
    method: str, query: dict[str, str], headers: dict[str, str], limited: bool
) -> None:
    limiter = Limiter(1)
    seen: list[int] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(limiter.in_flight)

    scope = scope_for(method, "object", query, headers)
    assert (scope[EXCHANGE].route.operation in DATA_OPERATIONS) is limited
    await Limited(endpoint, limiter)(scope, nothing, drop)
    assert seen == [1 if limited else 0]
    async with limiter.slot("unit"):  # the cap is taken: data operations are refused
        if limited:
            with pytest.raises(Overloaded):
                await Limited(endpoint, limiter)(scope, nothing, drop)
        else:
            await Limited(endpoint, limiter)(scope, nothing, drop)
