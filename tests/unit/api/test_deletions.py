"""The JSON API's side of recursive bucket deletion (``api/deletions.py``): the referee's
decisions and audit lines, and the jobs' states (done, failed with the problem a request
would have had, stopped with the gateway, unexpected errors) and their bound."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, cast

import pytest

from gateway.api import deletions
from gateway.api.deletions import AuditedReferee, Deletions
from gateway.audit import AuditLog
from gateway.domain import emptying
from gateway.domain.emptying import Item
from gateway.domain.errors import ContentRefused, NoSuchBucket, NoSuchUpload
from gateway.domain.store import Store
from gateway.domain.values import Principal
from gateway.policy.decide import Decision

pytestmark = pytest.mark.anyio
OBJECT = Item("objects", emptying.DELETE_OBJECT, "k/1")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


class Access:
    """Refuses the (action, key) pairs it is given."""

    def __init__(self, refused: set[tuple[str, str]] = frozenset()) -> None:  # type: ignore[assignment]
        self.refused = refused

    async def decide(
        self, principal: Principal, action: str, bucket: str, key: str, **_: Any
    ) -> Decision:
        if (action, key) in self.refused:
            return Decision(False, "default-deny")
        return Decision(True, "role:artifact-admin")


def referee(tmp_path: Path, refused: set[tuple[str, str]] = frozenset()) -> AuditedReferee:  # type: ignore[assignment]
    return AuditedReferee(
        cast(Any, Access(refused)),
        AuditLog(str(tmp_path / "audit.log")),
        Principal("carol", "bearer"),
        "b",
        "0123456789ABCDEF",
        "127.0.0.1",
        False,
    )


def lines(tmp_path: Path) -> list[tuple[str, str, str, str, int]]:
    path = tmp_path / "audit.log"
    if not path.exists():
        return []
    found = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["request_id"] for line in found} <= {"0123456789ABCDEF"}
    return [
        (line["operation"], line["action"], line["resource"], line["decision"], line["status"])
        for line in found
    ]


async def test_the_survey_writes_refusals_only(tmp_path: Path):
    judge = referee(tmp_path, {(emptying.DELETE_OBJECT, "k/2")})
    assert await judge.may(OBJECT)
    assert not await judge.may(Item("objects", emptying.DELETE_OBJECT, "k/2"))
    assert lines(tmp_path) == [
        ("S3.DELETE.OBJECT", "s3:DeleteObject", "/b/k/2", "deny", 403),
    ]


@pytest.mark.parametrize(
    ("raised", "status"),
    [(None, 204), (NoSuchUpload(), 404), (RuntimeError("boom"), 500)],
    ids=["done", "domain-error", "unexpected"],
)
async def test_each_removal_is_one_line_with_its_outcome(
    tmp_path: Path, raised: Exception | None, status: int
):
    judge = referee(tmp_path)
    upload = Item("uploads", emptying.ABORT_UPLOAD, "big", upload_id="u1")
    with pytest.raises(type(raised)) if raised is not None else nullcontext():
        async with judge.removing(upload):
            if raised is not None:
                raise raised
    assert lines(tmp_path) == [
        ("S3.DELETE.UPLOAD", "s3:AbortMultipartUpload", "/b/big", "allow", status)
    ]


async def test_a_removal_cancelled_with_the_gateway_is_a_503_line(tmp_path: Path):
    judge = referee(tmp_path)

    async def remove() -> None:
        async with judge.removing(emptying.BUCKET):
            await asyncio.sleep(60)

    task = asyncio.create_task(remove())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert lines(tmp_path) == [("S3.DELETE.BUCKET", "s3:DeleteBucket", "/b", "allow", 503)]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (OBJECT, None),
        (emptying.BUCKET, emptying.BUCKET_REFUSED),
    ],
    ids=["object", "bucket"],
)
async def test_a_refused_removal_raises_and_deletes_nothing(
    tmp_path: Path, item: Item, message: str | None
):
    judge = referee(tmp_path, {(item.action, item.key)})
    ran = False
    with pytest.raises(ContentRefused) as caught:
        async with judge.removing(item):
            ran = True
    assert not ran
    assert caught.value.refused == 1
    assert caught.value.keys == ((item.key,) if item.key else ())
    if message is not None:
        assert caught.value.message == message
    assert [line[3:] for line in lines(tmp_path)] == [("deny", 403)]


def store() -> Store:
    return Store(registry=cast(Any, None), index=cast(Any, None))


async def run_job(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, outcome: Callable[[], Any], wait: float
) -> deletions.Job:
    async def fake(store: Store, bucket: str, referee: Any, progress: Any) -> Any:
        return await outcome()

    monkeypatch.setattr(emptying, "delete_bucket_recursive", fake)
    jobs = Deletions(wait)
    job = jobs.start(store(), "b", referee(tmp_path))
    await jobs.settle(job)
    return job


async def test_a_job_done_within_the_wait(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    async def done() -> None:
        return None

    job = await run_job(monkeypatch, tmp_path, done, wait=5)
    assert (job.state, job.failure) == ("done", None)
    assert job.finished is not None


async def test_a_job_longer_than_the_wait_is_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    jobs_store = store()
    monkeypatch.setattr(emptying, "delete_bucket_recursive", lambda *a, **k: slow())
    jobs = Deletions(0.01)
    job = jobs.start(jobs_store, "b", referee(tmp_path))
    assert not await jobs.settle(job)
    assert jobs.running("b") is job
    assert job.finished is None
    assert job.task in jobs_store.background
    gate.set()
    assert job.task is not None
    await job.task
    assert jobs.running("b") is None
    assert jobs.get("b") is job
    assert job.state == "done"
    assert job.task not in jobs_store.background


async def test_a_job_that_fails_keeps_the_problem_a_request_would_have_had(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    async def refused() -> None:
        raise ContentRefused(locked=2, keys=("a", "b"), left={"versions": 2})

    job = await run_job(monkeypatch, tmp_path, refused, wait=5)
    assert job.state == "failed"
    assert job.failure is not None
    document = job.failure.document()
    assert (document["status"], document["title"]) == (403, "Forbidden")
    assert (document["locked"], document["keys"], document["left"]) == (
        2,
        ["a", "b"],
        {"versions": 2},
    )


async def test_an_unexpected_error_is_a_500_and_logged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    async def broken() -> None:
        raise RuntimeError("a bug")

    job = await run_job(monkeypatch, tmp_path, broken, wait=5)
    assert job.failure is not None
    assert job.failure.status == 500
    assert "a bug" not in job.failure.detail  # never leaked
    assert "recursive deletion of bucket b failed" in caplog.text


async def test_a_job_cancelled_with_the_gateway_says_to_delete_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    async def forever() -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(emptying, "delete_bucket_recursive", lambda *a, **k: forever())
    jobs = Deletions(0)
    job = jobs.start(store(), "b", referee(tmp_path))
    await asyncio.sleep(0.01)
    assert job.task is not None
    job.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job.task
    assert job.state == "failed"
    assert job.failure is not None
    assert job.failure.status == 503
    assert "delete again" in job.failure.detail


async def test_finished_jobs_are_remembered_up_to_a_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(deletions, "KEEP", 3)

    async def missing() -> None:
        raise NoSuchBucket()

    monkeypatch.setattr(emptying, "delete_bucket_recursive", lambda *a, **k: missing())
    jobs = Deletions(5)
    for name in ("b1", "b2", "b3", "b4", "b5"):
        job = jobs.start(store(), name, referee(tmp_path))
        await jobs.settle(job)
        assert job.failure is not None
        assert job.failure.status == 404
    remembered = [name for name in ("b1", "b2", "b3", "b4", "b5") if jobs.get(name)]
    assert remembered == ["b3", "b4", "b5"]
