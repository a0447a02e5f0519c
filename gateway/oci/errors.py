"""Answers in the OCI error form (spec "Error Codes":
https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes)."""

from __future__ import annotations

import json

from starlette.responses import Response


class OciError(Exception):
    """An answer the gateway gives itself (the registry's pass through as they are)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        detail: object = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.detail = detail

    def response(self, method: str) -> Response:
        error: dict[str, object] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            error["detail"] = self.detail
        body = b"" if method == "HEAD" else json.dumps({"errors": [error]}).encode()
        return Response(
            body, status_code=self.status, headers=self.headers, media_type="application/json"
        )


def unauthorized(message: str, challenge: str) -> OciError:
    return OciError(401, "UNAUTHORIZED", message, {"WWW-Authenticate": challenge})


def denied(message: str) -> OciError:
    return OciError(403, "DENIED", message)


def unavailable(message: str, retry_after: int | None = None) -> OciError:
    return OciError(503, "UNAVAILABLE", message, {"Retry-After": str(retry_after or 1)})
