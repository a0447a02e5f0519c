"""The request as the S3 layers learn it (``Exchange``, kept in the ASGI scope), and where
its bucket and key are in the URL (path style or virtual-hosted)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote

from starlette.requests import Request
from starlette.types import Scope

from gateway.audit import AuditRecord
from gateway.auth.sigv4 import SigV4Credential
from gateway.config import Settings
from gateway.domain.values import Principal
from gateway.s3.errors import S3Error
from gateway.s3.routes import Route, Target

EXCHANGE = "artifact_store.s3"  # the scope key of the request's Exchange


@dataclass
class Exchange:
    """One S3 request as the layers learn it."""

    request_id: str
    request: Request
    resource: str  # "/", "/bucket" or "/bucket/key": what errors and audit lines name
    source_ip: str | None
    bucket: str = ""
    key: str = ""
    principal: Principal | None = None
    credential: SigV4Credential | None = None
    query: dict[str, str] | None = None  # the query string, parsed once
    route: Route | None = None
    audit: AuditRecord | None = None
    received: int = 0
    started: bool = False  # the answer's status line went out: no error document can follow


def exchange_of(scope: Scope) -> Exchange:
    return cast(Exchange, scope[EXCHANGE])


def split(settings: Settings, request: Request) -> tuple[str, str]:
    """(bucket, key) from a path-style or virtual-hosted-style request."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    try:
        path = unquote(raw.decode("latin-1").split("?", 1)[0], errors="strict")
    except UnicodeDecodeError as exc:
        raise S3Error("InvalidArgument", "The request path is not valid UTF-8.") from exc
    if virtual_host(settings, request):
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        return host[: -len(str(settings.virtual_host_domain)) - 1], path[1:]
    bucket, _, key = path[1:].partition("/")
    return bucket, key


def virtual_host(settings: Settings, request: Request) -> bool:
    domain = settings.virtual_host_domain
    host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
    return bool(domain) and host.endswith(f".{domain}")


def target_of(bucket: str, key: str) -> Target:
    return "object" if key else "bucket" if bucket else "service"
