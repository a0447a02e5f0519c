"""The ``WWW-Authenticate`` challenge of ``/v2/``
(https://distribution.github.io/distribution/spec/auth/token/#how-to-authenticate): where
the token endpoint is, for which service, and which scope the refused request needed."""

from __future__ import annotations

from starlette.requests import Request

TOKEN_PATH = "/v2/token"  # noqa: S105 - a path, not a secret


def realm(request: Request) -> str:
    """The token endpoint on the host and scheme the client used (through a proxy that sets
    ``X-Forwarded-Proto``/``--forwarded-allow-ips``, uvicorn has put them in the scope)."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}{TOKEN_PATH}"


def bearer_challenge(
    request: Request, service: str, scope: str | None = None, error: str | None = None
) -> str:
    parts = [f'realm="{realm(request)}"', f'service="{service}"']
    if scope:
        parts.append(f'scope="{scope}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)
