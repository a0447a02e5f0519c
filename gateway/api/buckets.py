"""Deleting a bucket under ``/_artifacts/buckets``: with ``recursive=true`` together with
everything in it (R8.3); without, as S3's DeleteBucket (an empty bucket only).

The recursive delete is decided item by item as S3 would decide each request
(``s3:DeleteBucket`` for the bucket, ``s3:DeleteObject`` per object, ``s3:DeleteObjectVersion``
per version and delete marker of a versioned bucket, ``s3:AbortMultipartUpload`` per upload),
each removal one audit line. It answers 200 when done within ``bucket_deletion_wait_seconds``,
else 202 with the job's status resource in ``Location``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from gateway.api.authorize import authorized
from gateway.api.deletions import AuditedReferee, Deletions, Job, State
from gateway.api.identity import caller
from gateway.api.problems import AUTH, MEDIA_TYPE, UNAVAILABLE, ApiError, problem_responses
from gateway.api.state import store_of
from gateway.domain import buckets, emptying
from gateway.domain.errors import BucketNotEmpty
from gateway.domain.values import Principal
from gateway.observability.context import request_id

router = APIRouter(prefix="/_artifacts/buckets", tags=["buckets"])
Caller = Annotated[Principal, Depends(caller)]
_DELETION_PROBLEM = {"$ref": "#/components/schemas/DeletionProblem"}


class DeletionCounts(BaseModel):
    objects: int = Field(description="Objects of a bucket never versioned.")
    versions: int = Field(description="Versions of a versioned bucket (not delete markers).")
    delete_markers: int
    uploads: int = Field(description="Multipart (and tus) uploads in flight, aborted.")


class DeletionProblem(BaseModel):
    """An RFC 7807 problem; a refusal (403) adds what stands in the way."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    refused: int | None = Field(None, description="Items the caller may not delete.")
    locked: int | None = Field(None, description="Versions Object Lock keeps.")
    keys: list[str] | None = Field(None, description="Some of the keys in the way (20 at most).")
    left: DeletionCounts | None = Field(None, description="What the bucket still holds.")


class DeletionStatus(BaseModel):
    bucket: str
    state: State = Field(description="`failed`: see `problem`; delete again to resume.")
    step: Literal["survey", "removal", "bucket", "done"] = Field(
        description="`survey` checks every item before anything goes; `removal` deletes."
    )
    round: int = Field(description="Survey and removal passes so far (content written "
                       "meanwhile takes another).")  # fmt: skip
    started: datetime
    finished: datetime | None = None
    found: DeletionCounts = Field(description="What the current round's survey found so far.")
    deleted: DeletionCounts = Field(description="What this job deleted so far.")
    problem: DeletionProblem | None = None


def _status(job: Job) -> dict[str, Any]:
    progress = job.progress
    status: dict[str, Any] = {
        "bucket": job.bucket,
        "state": job.state,
        "step": progress.step,
        "round": progress.round,
        "started": job.started,
        "finished": job.finished,
        "found": progress.found.as_dict(),
        "deleted": progress.deleted.as_dict(),
    }
    if job.failure is not None:
        status["problem"] = job.failure.document()
    return status


def _location(bucket: str) -> str:
    return f"/_artifacts/buckets/{quote(bucket, safe='')}/deletion"


def _deletions(request: Request) -> Deletions:
    deletions: Deletions = request.app.state.deletions
    return deletions


@router.delete(
    "/{bucket}",
    response_model=DeletionStatus,
    response_model_exclude_none=True,
    summary="Delete a bucket; with recursive=true, with everything in it (admins)",
    response_description="Done: the bucket is gone; what was deleted.",
    responses={
        202: {
            "description": "Still running: `Location` names the status resource; the job goes "
            "on. A request while a job runs joins it.",
            "model": DeletionStatus,
            "headers": {
                "Location": {
                    "description": "The job's status: /_artifacts/buckets/{bucket}/deletion.",
                    "schema": {"type": "string"},
                }
            },
        },
        204: {"description": "Without `recursive`: the empty bucket is deleted."},
        **problem_responses(
            AUTH,
            UNAVAILABLE,
            {
                404: "No such bucket.",
                409: "Without `recursive`: the bucket is not empty (S3's BucketNotEmpty). "
                "With it: content kept arriving while it was emptied.",
            },
        ),
        403: {
            "description": "The caller may not delete the bucket, or some of its content, or "
            "Object Lock keeps a version: nothing was deleted (or, for a refusal met after the "
            "survey, the rest was left); `left`, `refused`, `locked` and `keys` say what.",
            "content": {MEDIA_TYPE: {"schema": _DELETION_PROBLEM}},
        },
    },
)
async def delete_bucket(
    request: Request,
    bucket: str,
    who: Caller,
    recursive: Annotated[
        bool, Query(description="Delete every object, version, delete marker and upload too.")
    ] = False,
) -> Any:
    """With `recursive=true`: every upload in flight, object, version and delete marker is
    first checked (may the caller delete it, does Object Lock keep it), then deleted, then
    the bucket. Done within the configured wait: 200 with what was deleted; otherwise 202.
    Calling again after a failure or a restart resumes with what is left."""
    if not recursive:
        return await _delete_empty(request, bucket, who)
    deletions = _deletions(request)
    referee = AuditedReferee(
        request.app.state.access,
        request.app.state.audit,
        who,
        bucket,
        request_id(),
        request.client.host if request.client else None,
        request.url.scheme == "https",
    )
    if not await referee.may(emptying.BUCKET):
        raise ApiError(403, "Forbidden", f"{who.name} may not s3:DeleteBucket on /{bucket}.")
    job = deletions.running(bucket)
    if job is None:
        store = store_of(request)
        await buckets.get_bucket(store, bucket)  # NoSuchBucket: 404
        job = deletions.start(store, bucket, referee)
        if await deletions.settle(job):
            failure = job.failure
            if failure is not None:
                raise ApiError(
                    failure.status,
                    failure.title,
                    failure.detail,
                    failure.headers,
                    failure.extensions,
                )
            return _status(job)
    return JSONResponse(
        DeletionStatus.model_validate(_status(job)).model_dump(mode="json", exclude_none=True),
        status_code=202,
        headers={"Location": _location(bucket)},
    )


async def _delete_empty(request: Request, bucket: str, who: Principal) -> Response:
    """S3's DeleteBucket: an empty bucket only (its uploads in flight go with it)."""
    async with authorized(request, who, emptying.DELETE_BUCKET, bucket, "") as audit:
        try:
            await buckets.delete_bucket(store_of(request), bucket)
        except BucketNotEmpty as exc:
            raise ApiError(
                409,
                "Conflict",
                "The bucket you tried to delete is not empty (BucketNotEmpty); delete it with "
                "recursive=true to delete its content too.",
            ) from exc
        audit.status = 204
    return Response(status_code=204)


@router.get(
    "/{bucket}/deletion",
    response_model=DeletionStatus,
    response_model_exclude_none=True,
    summary="The progress of a recursive deletion (admins)",
    responses=problem_responses(
        AUTH, {404: "No deletion of this bucket is known to this gateway process."}
    ),
)
async def get_bucket_deletion(request: Request, bucket: str, who: Caller) -> dict[str, Any]:
    """Decided as `s3:DeleteBucket`. Jobs are per gateway process: after a restart, or on
    another worker, it is unknown (404); deleting again resumes."""
    async with authorized(request, who, emptying.DELETE_BUCKET, bucket, "") as audit:
        job = _deletions(request).get(bucket)
        if job is None:
            raise ApiError(
                404, "Not Found", f"No deletion of bucket {bucket} is known to this process."
            )
        audit.status = 200
    return _status(job)
