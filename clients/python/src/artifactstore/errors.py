"""One error model for S3 answers, the JSON API's RFC 7807 problems, Keycloak and the network.

Each family is a class, so callers write ``except NotFound`` whatever the route; every error
carries the server's code, message, HTTP status and request id (quote it when reporting) and
says whether repeating the call may help. Family names are the contract's
(clients/contract/README.md), the same in the Go and JS SDKs."""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "AccessDenied",
    "ArtifactStoreError",
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "PreconditionFailed",
    "Retryable",
    "Unauthorized",
    "Unavailable",
    "VerificationFailed",
    "error_for",
    "family_for",
]


class ArtifactStoreError(Exception):
    """Base of every error the SDK raises about the store."""

    family = "ArtifactStoreError"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.family
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}"]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.request_id:
            parts.append(f"[request id {self.request_id}]")
        return " ".join(parts)


class NotFound(ArtifactStoreError):
    family = "NotFound"


class AccessDenied(ArtifactStoreError):
    family = "AccessDenied"


class Unauthorized(ArtifactStoreError):
    family = "Unauthorized"


class Conflict(ArtifactStoreError):
    family = "Conflict"


class PreconditionFailed(ArtifactStoreError):
    family = "PreconditionFailed"


class InvalidRequest(ArtifactStoreError):
    family = "InvalidRequest"


class Retryable(ArtifactStoreError):
    """The server is busy or failed transiently: repeat after ``retry_after`` seconds."""

    family = "Retryable"
    retryable = True


class VerificationFailed(ArtifactStoreError):
    """A required signature is missing or untrusted, or a local check of bytes failed."""

    family = "VerificationFailed"


class Unavailable(ArtifactStoreError):
    """The endpoint could not be reached at all."""

    family = "Unavailable"
    retryable = True


_BY_CODE: dict[str, type[ArtifactStoreError]] = {
    "AccessDenied": AccessDenied,
    "AccessForbidden": AccessDenied,
    "InvalidAccessKeyId": AccessDenied,
    "SignatureDoesNotMatch": AccessDenied,
    "RequestTimeTooSkewed": AccessDenied,
    "InvalidClientTokenId": AccessDenied,
    "ExpiredToken": Unauthorized,
    "InvalidToken": Unauthorized,
    "InvalidIdentityToken": Unauthorized,
    "ExpiredTokenException": Unauthorized,
    "MissingAuthenticationToken": Unauthorized,
    "BucketNotEmpty": Conflict,
    "BucketAlreadyExists": Conflict,
    "BucketAlreadyOwnedByYou": Conflict,
    "ConditionalRequestConflict": Conflict,
    "InvalidBucketState": Conflict,
    "OperationAborted": Conflict,
    "PreconditionFailed": PreconditionFailed,
    "SlowDown": Retryable,
    "ServiceUnavailable": Retryable,
    "RequestTimeout": Retryable,
    "InternalError": Retryable,
    "Throttling": Retryable,
    "ThrottlingException": Retryable,
}

_BY_STATUS: dict[int, type[ArtifactStoreError]] = {
    401: Unauthorized,
    403: AccessDenied,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    429: Retryable,
}


def family_for(code: str | None, status: int | None) -> type[ArtifactStoreError]:
    """The family of an answer: its code first (S3's, STS's), then its HTTP status."""
    if code:
        if code in _BY_CODE:
            return _BY_CODE[code]
        if code.startswith("NoSuch"):
            return NotFound
    if status is not None:
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        if status >= 500:
            return Retryable
        if status >= 400:
            return InvalidRequest
    return ArtifactStoreError


def error_for(
    code: str | None,
    message: str,
    status: int | None,
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ArtifactStoreError:
    cls = family_for(code, status)
    return cls(message, code=code, status=status, request_id=request_id, retry_after=retry_after)


def retry_after_of(value: str | None) -> float | None:
    """``Retry-After`` in seconds (HTTP dates are not sent by the gateway: ignored)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def from_problem(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> ArtifactStoreError:
    """An RFC 7807 problem (the JSON API) as the family of its status."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    detail: Any = None
    title: Any = None
    request_id = headers.get("x-request-id")
    try:
        problem = json.loads(body)
        if isinstance(problem, dict):
            detail = problem.get("detail")
            title = problem.get("title")
            request_id = problem.get("request_id") or request_id
    except ValueError:
        detail = body[:200].decode("utf-8", "replace") or None
    message = str(detail or title or f"HTTP {status}")
    code = str(title).replace(" ", "") if title else None
    cls = family_for(None, status)
    return cls(
        message,
        code=code,
        status=status,
        request_id=str(request_id) if request_id else None,
        retry_after=retry_after_of(headers.get("retry-after")),
    )
