"""``/_artifacts/presign``: a presigned S3 URL for a Bearer user (who holds no S3 key), for
GET or PUT of one object, valid for a bounded time, carrying exactly the user's rights."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from gateway.api.identity import caller
from gateway.api.problems import AUTH, ApiError, problem_responses
from gateway.api.state import keyring_of
from gateway.auth.presign import presign
from gateway.domain.names import check_bucket_name, check_key
from gateway.domain.values import Principal

router = APIRouter(prefix="/_artifacts/presign", tags=["presigned URLs"])
MAX_EXPIRES = 7 * 24 * 3600  # SigV4's own limit


class PresignRequest(BaseModel):
    method: Literal["GET", "PUT"] = "GET"
    # The patterns state S3's rules for the document; the checks themselves (400) are the
    # S3 edge's own (``domain/names.py``), so both answer alike.
    bucket: str = Field(json_schema_extra={"pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"})
    key: str = Field(min_length=1, json_schema_extra={"pattern": "^[^\\x00]+$"})
    expires: int = Field(3600, ge=1, le=MAX_EXPIRES, description="Seconds the URL is valid.")


class PresignedUrl(BaseModel):
    url: str
    method: str
    expires_at: datetime


@router.post(
    "",
    response_model=PresignedUrl,
    summary="Presign a GET or PUT of one object",
    responses=problem_responses(
        AUTH,
        {
            400: "The bucket name or the key is not valid.",
            403: "Wrong credentials, or not a Bearer user (S3 key holders sign themselves).",
        },
    ),
)
async def presign_url(
    request: Request, body: PresignRequest, who: Annotated[Principal, Depends(caller)]
) -> dict[str, object]:
    if who.method != "bearer":
        raise ApiError(
            403, "Forbidden", "Presigning here is for Bearer users; S3 key holders sign themselves."
        )
    check_bucket_name(body.bucket)
    check_key(body.key)
    keyring = keyring_of(request)
    now = datetime.now(UTC).replace(microsecond=0)
    session = keyring.issue_session(who, body.expires)
    base = str(request.base_url).rstrip("/")
    url = presign(
        body.method,
        f"{base}/{quote(body.bucket)}/{quote(body.key)}",
        access_key=session.access_key,
        secret=session.secret,
        session_token=session.token,
        expires=body.expires,
        now=now,
        region=request.app.state.region,
    )
    expires_at = datetime.fromtimestamp(now.timestamp() + body.expires, tz=UTC)
    return {"url": url, "method": body.method, "expires_at": expires_at}
