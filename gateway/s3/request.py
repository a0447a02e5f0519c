"""The parsed S3 request every handler receives."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import ClientDisconnect, Request

from gateway.auth.sigv4 import SigV4Credential
from gateway.domain.store import Store
from gateway.domain.values import Principal
from gateway.s3.errors import S3Error


async def _anything(action: str, bucket: str, key: str = "") -> bool:
    return True


@dataclass
class S3Request:
    request: Request
    store: Store
    bucket: str
    key: str
    request_id: str
    query: dict[str, str]
    principal: Principal
    content_sha256: str | None = None  # hex digest the client signed, if it signed the payload
    payload_hash: str = (
        ""  # x-amz-content-sha256 as signed: a digest, UNSIGNED-PAYLOAD, STREAMING-*
    )
    credential: SigV4Credential | None = None
    # Whether the caller may do an action on a bucket (ListBuckets shows only those).
    can: Callable[..., Awaitable[bool]] = field(default=_anything)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    @property
    def resource(self) -> str:
        return f"/{self.bucket}/{self.key}" if self.key else f"/{self.bucket}"

    async def body(self) -> AsyncIterator[bytes]:
        """The request body as it arrives; a client that hangs up early sent too little."""
        try:
            async for chunk in self.request.stream():
                yield chunk
        except ClientDisconnect as exc:
            raise S3Error("IncompleteBody", "The client closed the connection mid-body.") from exc

    async def read_small_body(self, limit: int) -> bytes:
        """Read a small XML body; bodies on the data path are streamed, never read whole."""
        chunks: list[bytes] = []
        total = 0
        async for chunk in self.body():
            total += len(chunk)
            if total > limit:
                raise S3Error("InvalidRequest", "The request body is too large.")
            chunks.append(chunk)
        body = b"".join(chunks)
        if (
            self.content_sha256 is not None
            and hashlib.sha256(body).hexdigest() != self.content_sha256
        ):
            raise S3Error("XAmzContentSHA256Mismatch")
        return body


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date, or None if absent or unparseable (S3 then ignores the condition)."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
