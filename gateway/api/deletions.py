"""Recursive bucket deletions as jobs of this process, and the referee that decides and
audits each item for the caller who asked (``domain/emptying.py`` does the deleting).

One job per bucket: a second request while one runs joins it. A job holds nothing that a
restart would miss: the bucket's remaining content is the state, so a new request after a
restart (or a failure) surveys what is left and goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from gateway.access import Authorizer
from gateway.api.problems import ApiError, problem_of
from gateway.audit import AuditLog, AuditRecord
from gateway.domain import emptying
from gateway.domain.errors import ContentRefused
from gateway.domain.store import Store
from gateway.domain.values import Principal
from gateway.policy.decide import Decision

log = logging.getLogger("gateway.api.deletions")
# What the audit log calls each removal (the names S3's server access logs give them).
OPERATIONS: dict[emptying.Kind, str] = {
    "objects": "S3.DELETE.OBJECT",
    "versions": "S3.DELETE.OBJECT",
    "delete_markers": "S3.DELETE.OBJECT",
    "uploads": "S3.DELETE.UPLOAD",
    "bucket": "S3.DELETE.BUCKET",
}
KEEP = 1000  # finished jobs remembered for their status, per process
State = Literal["running", "done", "failed"]


@dataclass
class AuditedReferee:
    """Decides each item for ``who`` through the same ``Authorizer`` as every request, and
    writes one audit line per removal (and per refusal), all with the request id of the
    DELETE that started the job."""

    access: Authorizer
    audit: AuditLog
    who: Principal
    bucket: str
    request_id: str
    source_ip: str | None
    secure: bool

    async def _decide(self, item: emptying.Item) -> Decision:
        return await self.access.decide(
            self.who,
            item.action,
            self.bucket,
            item.key,
            source_ip=self.source_ip,
            secure=self.secure,
        )

    def _write(self, item: emptying.Item, decision: Decision, status: int) -> None:
        resource = f"/{self.bucket}/{item.key}" if item.key else f"/{self.bucket}"
        record = AuditRecord.of(
            self.request_id, self.who, self.source_ip, item.action, resource, OPERATIONS[item.kind]
        )
        record.decision = "allow" if decision.allowed else "deny"
        record.rule, record.status = decision.rule, status
        self.audit.write(record)

    async def may(self, item: emptying.Item) -> bool:
        """The survey's question; a refusal is a line (403), a permission is not: the
        removal decides again and writes that line."""
        decision = await self._decide(item)
        if not decision.allowed:
            self._write(item, decision, 403)
        return decision.allowed

    @asynccontextmanager
    async def removing(self, item: emptying.Item) -> AsyncIterator[None]:
        decision = await self._decide(item)
        if not decision.allowed:
            self._write(item, decision, 403)
            if item.kind == "bucket":
                raise ContentRefused(refused=1, detail=emptying.BUCKET_REFUSED)
            raise ContentRefused(refused=1, keys=(item.key,))
        status = 503  # if the task is cancelled mid-removal: the gateway is stopping
        try:
            yield
            status = 204
        except Exception as exc:
            known = problem_of(exc)
            status = known.status if known is not None else 500
            raise
        finally:
            self._write(item, decision, status)


@dataclass
class Job:
    bucket: str
    request_id: str  # of the DELETE that started it: its audit lines carry it
    started: datetime
    progress: emptying.Progress = field(default_factory=emptying.Progress)
    finished: datetime | None = None
    failure: ApiError | None = None
    task: asyncio.Task[None] | None = None

    @property
    def state(self) -> State:
        if self.finished is None:
            return "running"
        return "failed" if self.failure is not None else "done"


class Deletions:
    """The recursive deletions this process runs or ran, by bucket."""

    def __init__(self, wait: float) -> None:
        self.wait = wait  # seconds a request waits for its job before answering 202
        self._jobs: dict[str, Job] = {}

    def get(self, bucket: str) -> Job | None:
        return self._jobs.get(bucket)

    def running(self, bucket: str) -> Job | None:
        job = self._jobs.get(bucket)
        return job if job is not None and job.state == "running" else None

    def start(self, store: Store, bucket: str, referee: AuditedReferee) -> Job:
        """A new job for ``bucket`` (none may be running), run as a task of the store's
        background set, which the gateway cancels at shutdown."""
        job = Job(bucket, referee.request_id, datetime.now(UTC))
        job.task = asyncio.create_task(self._run(store, job, referee))
        store.background.add(job.task)
        job.task.add_done_callback(store.background.discard)
        self._jobs.pop(bucket, None)
        self._jobs[bucket] = job
        self._forget_old()
        return job

    async def settle(self, job: Job) -> bool:
        """Wait for the job up to ``wait`` seconds (it goes on if this request ends);
        whether it has finished."""
        assert job.task is not None
        if self.wait > 0:
            await asyncio.wait({job.task}, timeout=self.wait)
        return job.finished is not None

    @staticmethod
    async def _run(store: Store, job: Job, referee: AuditedReferee) -> None:
        try:
            await emptying.delete_bucket_recursive(store, job.bucket, referee, job.progress)
        except asyncio.CancelledError:
            job.failure = ApiError(
                503,
                "Service Unavailable",
                "The gateway stopped during the deletion; delete again to resume.",
            )
            raise
        except Exception as exc:
            job.failure = problem_of(exc)
            if job.failure is None:
                log.exception("recursive deletion of bucket %s failed", job.bucket)
                job.failure = ApiError(
                    500, "Internal Server Error", "The deletion failed; delete again to resume."
                )
        finally:
            job.finished = datetime.now(UTC)

    def _forget_old(self) -> None:
        finished = [name for name, job in self._jobs.items() if job.state != "running"]
        for name in finished[: max(0, len(self._jobs) - KEEP)]:
            del self._jobs[name]
