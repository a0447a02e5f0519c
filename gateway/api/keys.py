"""Access keys (service accounts) under ``/_artifacts/keys``: make one for yourself (the
secret is shown once), list yours, revoke one. SigV4 clients then use them like any S3 key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gateway.api.identity import caller
from gateway.api.problems import AUTH, UNAVAILABLE, ApiError, problem_responses
from gateway.api.state import keyring_of, store_of
from gateway.auth import access_keys
from gateway.domain.values import AccessKeyRecord, Principal

router = APIRouter(prefix="/_artifacts/keys", tags=["access keys"])
# A key must not outlive the session that made it, nor manage its owner's other keys (a key
# narrowed to reading one prefix could otherwise revoke them all).
MAKERS = frozenset({"bearer", "root"})


def manages_keys(who: Principal) -> bool:
    """Whether ``who`` may make, list and revoke access keys: a Bearer user or root."""
    return who.method in MAKERS


async def key_manager(who: Annotated[Principal, Depends(caller)]) -> Principal:
    if not manages_keys(who):
        raise ApiError(
            403, "Forbidden", "Access keys are managed with a Bearer token (or the root key)."
        )
    return who


Caller = Annotated[Principal, Depends(key_manager)]


class KeyRequest(BaseModel):
    description: str = Field("", max_length=256, description="What the key is for.")
    policy: str | None = Field(
        None, description="An IAM-style policy (JSON) that narrows what the key may do."
    )


class KeyInfo(BaseModel):
    access_key_id: str
    owner: str
    created: datetime
    description: str
    policy: str | None
    roles: list[str]
    groups: list[str]


class NewKeyInfo(KeyInfo):
    secret_access_key: str = Field(description="Shown once; it cannot be read back.")


def _info(record: AccessKeyRecord) -> dict[str, object]:
    return {
        "access_key_id": record.access_key_id,
        "owner": record.owner,
        "created": record.created,
        "description": record.description,
        "policy": record.policy,
        "roles": sorted(record.roles),
        "groups": sorted(record.groups),
    }


@router.post(
    "",
    status_code=201,
    response_model=NewKeyInfo,
    summary="Make an access key",
    responses=problem_responses(
        AUTH,
        UNAVAILABLE,
        {
            400: "The policy is malformed; `detail` says why.",
            409: "The caller has as many access keys as allowed; revoke one first.",
        },
    ),
)
async def create_key(request: Request, body: KeyRequest, who: Caller) -> dict[str, object]:
    keyring = keyring_of(request)
    made = await access_keys.create(
        store_of(request),
        keyring,
        who,
        description=body.description,
        policy=body.policy,
        check_policy=request.app.state.check_policy,
    )
    return {**_info(made.record), "secret_access_key": made.secret}


@router.get(
    "",
    response_model=list[KeyInfo],
    summary="Your access keys (without secrets)",
    responses=problem_responses(AUTH, UNAVAILABLE),
)
async def list_keys(request: Request, who: Caller) -> list[dict[str, object]]:
    return [_info(record) for record in await access_keys.list_keys(store_of(request), who)]


@router.delete(
    "/{access_key_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke one of your access keys",
    responses=problem_responses(
        AUTH, UNAVAILABLE, {404: "No such key, or it is revoked, or it is not yours."}
    ),
)
async def revoke_key(request: Request, access_key_id: str, who: Caller) -> Response:
    await access_keys.revoke(store_of(request), who, access_key_id)
    return Response(status_code=204)
