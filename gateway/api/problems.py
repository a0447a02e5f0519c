"""Errors of the JSON API under ``/_artifacts``: RFC 7807 problem documents.

https://www.rfc-editor.org/rfc/rfc7807
"""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from gateway.domain import resumable
from gateway.domain.errors import (
    BadDigest,
    DomainError,
    IncompleteBody,
    InvalidDocument,
    InvalidInput,
    NotFound,
    NotSigned,
    UnsupportedDocumentType,
)
from gateway.registry.errors import RegistryUnavailable

CHECKSUM_MISMATCH = 460  # tus checksum extension's own status
TUS_VERSION = "1.0.0"


class ApiError(Exception):
    def __init__(
        self, status: int, title: str, detail: str = "", headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.headers = headers or {}


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """RFC 7807. Every answer carries ``Tus-Resumable`` too: tus clients read it on errors,
    other clients ignore it."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
        headers={"Tus-Resumable": TUS_VERSION, **(headers or {})},
    )


def as_problem(exc: Exception) -> Response | None:
    """The RFC 7807 answer of a known error; None for anything else (a 500)."""
    if isinstance(exc, RequestValidationError):
        where = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        )
        return problem(422, "Unprocessable Content", where or "The request is not valid.")
    if isinstance(exc, ApiError):
        return problem(exc.status, exc.title, exc.detail, exc.headers)
    if isinstance(exc, resumable.OffsetMismatch):
        return problem(409, "Conflict", exc.message, {"Upload-Offset": str(exc.offset)})
    if isinstance(exc, BadDigest):
        return problem(CHECKSUM_MISMATCH, "Checksum Mismatch", exc.message)
    if isinstance(exc, InvalidDocument):
        return problem(400, "Invalid Document", exc.message)
    if isinstance(exc, UnsupportedDocumentType):
        return problem(415, "Unsupported Media Type", exc.message)
    if isinstance(exc, NotSigned):
        return problem(403, "Forbidden", exc.message)
    if isinstance(exc, NotFound):
        return problem(404, "Not Found", exc.message)
    if isinstance(exc, IncompleteBody | InvalidInput):
        return problem(400, "Bad Request", exc.message)
    if isinstance(exc, DomainError):
        return problem(409, "Conflict", exc.message)
    if isinstance(exc, RegistryUnavailable):
        return problem(
            503, "Service Unavailable", "The storage backend is unavailable.", {"Retry-After": "5"}
        )
    return None
