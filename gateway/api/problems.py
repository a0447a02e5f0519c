"""Errors of the JSON API under ``/_artifacts``: RFC 7807 problem documents.

https://www.rfc-editor.org/rfc/rfc7807
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from gateway.error_table import answer_for
from gateway.observability.context import current

CHECKSUM_MISMATCH = 460  # tus checksum extension's own status
TUS_VERSION = "1.0.0"
MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """An RFC 7807 problem document: the body of every error the JSON API answers."""

    type: str = Field("about:blank", description="Always `about:blank`: `title` says it all.")
    title: str = Field(description="The status's reason phrase (or tus's own).")
    status: int = Field(description="The HTTP status, repeated.")
    detail: str = Field(description="What went wrong with this request.")
    request_id: str | None = Field(
        None,
        description="The request's id (an extension member), as in its `x-request-id` header "
        "and the service and audit logs' lines.",
    )


# Statuses most routes share; a route adds its own with ``problem_responses``.
AUTH = {
    401: "No or unusable credentials; `WWW-Authenticate` names the schemes.",
    403: "Wrong credentials, or the caller may not do this.",
}
UNAVAILABLE = {503: "The registry is unavailable; retry after `Retry-After` seconds."}
_REF = {"$ref": "#/components/schemas/Problem"}
_INVALID = "A field does not validate; `detail` names each failing field path."


def problem_responses(*groups: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the problems a route answers, status -> why."""
    merged: dict[int, str] = {}
    for group in groups:
        merged.update(group)
    return {
        status: {"description": why, "content": {MEDIA_TYPE: {"schema": _REF}}}
        for status, why in sorted(merged.items())
    }


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Add the Problem schema to an OpenAPI document, and make FastAPI's own 422 entries say
    what the handler below answers (a problem, not FastAPI's ``HTTPValidationError``)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    for path in document.get("paths", {}).values():
        for operation in path.values():
            if "422" in operation.get("responses", {}):
                operation["responses"]["422"] = problem_responses({422: _INVALID})[422]
    for generated in ("HTTPValidationError", "ValidationError"):
        schemas.pop(generated, None)
    return document


class ApiError(Exception):
    """A problem to answer; ``extensions`` are its extra members (RFC 7807 §3.2)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        headers: dict[str, str] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.headers = headers or {}
        self.extensions = extensions or {}

    def document(self) -> dict[str, Any]:
        """The problem's body."""
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extensions,
        }


def problem(
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """RFC 7807, with the request's id as an extension member. Every answer carries
    ``Tus-Resumable`` too: tus clients read it on errors, other clients ignore it."""
    body = ApiError(status, title, detail, extensions=extensions).document()
    context = current()
    if context is not None:
        body["request_id"] = context.request_id
    return JSONResponse(
        body,
        status_code=status,
        media_type=MEDIA_TYPE,
        headers={"Tus-Resumable": TUS_VERSION, **(headers or {})},
    )


def problem_of(exc: Exception) -> ApiError | None:
    """A known error as the problem it is answered with; None for anything else (a 500)."""
    if isinstance(exc, RequestValidationError):
        where = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        )
        return ApiError(422, "Unprocessable Content", where or "The request is not valid.")
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, HTTPException):  # the router's own 404 and 405
        title = HTTPStatus(exc.status_code).phrase
        return ApiError(exc.status_code, title, str(exc.detail), dict(exc.headers or {}))
    answer = answer_for(exc)
    if answer is None:
        return None
    return ApiError(
        answer.problem.status,
        answer.problem.title,
        answer.message or str(exc),
        answer.headers(exc),
        answer.extensions(exc),
    )


def as_problem(exc: Exception) -> Response | None:
    """The RFC 7807 answer of a known error; None for anything else (a 500)."""
    known = problem_of(exc)
    if known is None:
        return None
    return problem(known.status, known.title, known.detail, known.headers, known.extensions)
