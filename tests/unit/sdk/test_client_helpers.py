"""The client's pure helpers: boto3 errors into families, the thread fan-out that stops at
the first failure, bounded reads from streams."""

from __future__ import annotations

import io
import threading

import pytest
from artifactstore import AccessDenied, NotFound, Retryable
from artifactstore.client import Client, _read_up_to, _run_all
from botocore.exceptions import ClientError


def client_error(code: str, status: int, **headers: str) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": f"{code} happened"},
        "ResponseMetadata": {
            "HTTPStatusCode": status,
            "RequestId": "R1",
            "HTTPHeaders": headers,
        },
    }
    return ClientError(response, "GetObject")  # type: ignore[arg-type]


def test_boto_errors_become_families() -> None:
    missing = Client._client_error(client_error("NoSuchKey", 404))
    assert isinstance(missing, NotFound)
    assert (missing.code, missing.status, missing.request_id) == ("NoSuchKey", 404, "R1")
    assert isinstance(Client._client_error(client_error("403", 403)), AccessDenied)
    busy = Client._client_error(client_error("SlowDown", 503, **{"retry-after": "2"}))
    assert isinstance(busy, Retryable)
    assert busy.retry_after == 2.0


def test_run_all_runs_everything_on_threads() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> None:
        with lock:
            seen.append(item)

    _run_all(work, list(range(50)), 4)
    assert sorted(seen) == list(range(50))
    _run_all(work, [], 4)
    _run_all(work, [99], 1)
    assert 99 in seen


def test_run_all_raises_the_first_failure() -> None:
    def work(item: int) -> None:
        if item == 3:
            raise NotFound("part 3")

    with pytest.raises(NotFound, match="part 3"):
        _run_all(work, list(range(8)), 3)


def test_read_up_to_stops_at_the_limit_or_the_end() -> None:
    stream = io.BytesIO(b"x" * (3 << 20))
    assert len(_read_up_to(stream, 2 << 20)) == 2 << 20
    assert len(_read_up_to(stream, 2 << 20)) == 1 << 20
    assert _read_up_to(stream, 10) == b""


def test_the_async_client_has_every_public_call_of_the_sync_one() -> None:
    import inspect

    from artifactstore import AsyncClient

    public = {n for n, _ in inspect.getmembers(Client, inspect.isfunction) if n[0] != "_"}
    twins = {n for n, f in inspect.getmembers(AsyncClient) if n[0] != "_"}
    assert public - twins == set()
    for name in public - {"close", "login_password", "login_device"}:
        assert inspect.iscoroutinefunction(
            getattr(AsyncClient, name)
        ) or inspect.isasyncgenfunction(getattr(AsyncClient, name)), name
