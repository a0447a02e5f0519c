"""What the caller may do in a bucket, under ``/_artifacts/permissions/{bucket}``: one boolean
per action the console shows a control for, each decided by the same decision function as the
S3 edge and the rest of the JSON API (``Authorizer.decide``: realm roles, bucket groups, the
bucket policy's allows and denies, session and access-key policies), so the answer cannot
disagree with what the gateway then does.

Object actions are decided on ``key`` when it is given, else on a key under ``prefix`` (the
prefix followed by ``*``, which a policy's ``arn:aws:s3:::bucket/prefix/*`` matches);
``s3:ListBucket`` is decided with ``s3:prefix`` set to ``prefix``; bucket actions on the
bucket. The answer is advice for showing controls: each request is decided again when made.
It writes no audit line (nothing is done) and does not say whether the bucket exists.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.access import Authorizer
from gateway.api.identity import reader
from gateway.api.problems import AUTH, UNAVAILABLE, problem_responses
from gateway.domain.values import Principal
from gateway.policy.roles import DELETE_REFERRER, GET_REFERRER, GET_TRUST, PUT_REFERRER, PUT_TRUST

router = APIRouter(tags=["permissions"])
Reader = Annotated[Principal, Depends(reader)]

BUCKET_ACTIONS = (
    "s3:ListBucket",
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:DeleteBucket",
    GET_TRUST,
    PUT_TRUST,
)
OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    GET_REFERRER,
    PUT_REFERRER,
    DELETE_REFERRER,
)
ACTIONS = (*BUCKET_ACTIONS, *OBJECT_ACTIONS)


class PermissionsModel(BaseModel):
    bucket: str
    prefix: str = Field(description="The prefix the object actions were decided under.")
    key: str = Field(description="The object key the object actions were decided on.")
    actions: dict[str, bool] = Field(
        description="Each action (" + ", ".join(f"`{a}`" for a in ACTIONS) + ") and whether "
        "the caller may do it here.",
        examples=[{"s3:ListBucket": True, "s3:PutObject": True, "s3:DeleteBucket": False}],
    )


@router.get(
    "/_artifacts/permissions/{bucket}",
    response_model=PermissionsModel,
    summary="What the caller may do in the bucket",
    responses=problem_responses(AUTH, UNAVAILABLE),
)
async def get_permissions(
    request: Request,
    bucket: str,
    who: Reader,
    prefix: Annotated[str, Query(description="Decide object actions under this prefix.")] = "",
    key: Annotated[str, Query(description="Decide object actions on this key instead.")] = "",
) -> PermissionsModel:
    access: Authorizer = request.app.state.access
    source_ip = request.client.host if request.client else None
    secure = request.url.scheme == "https"
    probe = key or f"{prefix}*"
    answers: dict[str, bool] = {}
    for action in ACTIONS:
        target = probe if action in OBJECT_ACTIONS else ""
        condition_keys = {"s3:prefix": prefix} if action == "s3:ListBucket" else None
        decision = await access.decide(
            who,
            action,
            bucket,
            target,
            source_ip=source_ip,
            secure=secure,
            condition_keys=condition_keys,
        )
        answers[action] = decision.allowed
    return PermissionsModel(bucket=bucket, prefix=prefix, key=probe, actions=answers)
