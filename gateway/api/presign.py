"""``/_artifacts/presign``: a presigned S3 URL for a Bearer user (who holds no S3 key), for
GET or PUT of one object, valid for a bounded time, carrying exactly the user's rights."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from gateway.api.identity import caller
from gateway.api.problems import ApiError
from gateway.auth.keyring import SESSION_PREFIX, Keyring, new_key_id, new_secret
from gateway.auth.presign import presign
from gateway.domain.names import check_bucket_name, check_key
from gateway.domain.values import Principal

router = APIRouter(prefix="/_artifacts/presign", tags=["presigned URLs"])
MAX_EXPIRES = 7 * 24 * 3600  # SigV4's own limit


class PresignRequest(BaseModel):
    method: Literal["GET", "PUT"] = "GET"
    bucket: str
    key: str = Field(min_length=1)
    expires: int = Field(3600, ge=1, le=MAX_EXPIRES, description="Seconds the URL is valid.")


class PresignedUrl(BaseModel):
    url: str
    method: str
    expires_at: datetime


@router.post("", response_model=PresignedUrl, summary="Presign a GET or PUT of one object")
async def presign_url(
    request: Request, body: PresignRequest, who: Annotated[Principal, Depends(caller)]
) -> dict[str, object]:
    if who.method != "bearer":
        raise ApiError(
            403, "Forbidden", "Presigning here is for Bearer users; S3 key holders sign themselves."
        )
    check_bucket_name(body.bucket)
    check_key(body.key)
    keyring: Keyring = request.app.state.keyring
    now = datetime.now(UTC).replace(microsecond=0)
    access_key, secret = new_key_id(SESSION_PREFIX), new_secret()
    token = keyring.session_token(
        {
            "ak": access_key,
            "sk": secret,
            "exp": int(time.time()) + body.expires,
            "name": who.name,
            "sub": who.subject,
            "roles": sorted(who.roles),
            "groups": sorted(who.groups),
            "policies": list(who.policies),
        }
    )
    base = str(request.base_url).rstrip("/")
    url = presign(
        body.method,
        f"{base}/{quote(body.bucket)}/{quote(body.key)}",
        access_key=access_key,
        secret=secret,
        session_token=token,
        expires=body.expires,
        now=now,
        region=request.app.state.region,
    )
    expires_at = datetime.fromtimestamp(now.timestamp() + body.expires, tz=UTC)
    return {"url": url, "method": body.method, "expires_at": expires_at}
