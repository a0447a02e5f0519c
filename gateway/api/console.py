"""``/_artifacts/ui/``: the web console (console/, a single-page app built by
``scripts/console/build.sh``), served as static files beside the JSON API it is a client of.

Built assets under ``assets/`` are content-hashed and cached for good; every other path is a
route of the app and gets ``index.html`` (never cached, so a new build is picked up at once).
``config.json`` tells the app where to log in: the Keycloak realm (``oidc_issuer``) and the
realm's public client for it (``console_client_id``). Every answer carries a Content Security
Policy that allows this origin and the realm's origin only: no CDN, no inline script.
A gateway whose console was not built answers 503 with a problem saying how to build it.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from gateway.api.problems import problem

BUILT_INTO = Path(__file__).resolve().parent.parent / "console_assets"
NOT_BUILT = (
    "The web console was not built: run scripts/console/build.sh (npm ci and npm run build in "
    "console/), or point console_dir at a built copy."
)


def security_headers(identity_origin: str | None) -> list[tuple[bytes, bytes]]:
    """CSP (https://www.w3.org/TR/CSP3/) and friends: scripts, styles and fetches from this
    origin; the identity provider's origin only where the login needs it (token and refresh
    fetches, its login form's posts)."""
    extra = f" {identity_origin}" if identity_origin else ""
    policy = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self'{extra}",
            f"frame-src 'self'{extra}",
            f"form-action 'self'{extra}",
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        )
    )
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Console:
    """The ASGI app mounted at ``/_artifacts/ui``."""

    def __init__(self, directory: Path | None, issuer: str | None, client_id: str) -> None:
        self.directory = directory or BUILT_INTO
        self.config = json.dumps({"issuer": issuer, "clientId": client_id}).encode()
        self.headers = security_headers(origin_of(issuer))
        self.assets = StaticFiles(directory=self.directory, check_dir=False)

    def built(self) -> bool:
        return (self.directory / "index.html").is_file()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.answer(scope, receive, secured)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope)
        if path == "/config.json":
            response: Response = Response(
                self.config, media_type="application/json", headers={"cache-control": "no-store"}
            )
        elif not self.built():
            response = problem(503, "Service Unavailable", NOT_BUILT)
        elif path.startswith("/assets/"):
            await self.assets(scope, receive, forever(send))
            return
        else:
            response = FileResponse(
                self.directory / "index.html", headers={"cache-control": "no-cache"}
            )
        await response(scope, receive, send)


def forever(send: Send) -> Send:
    """Built assets are named by their content's hash: a client may keep them for good."""

    async def cached(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            immutable = (b"cache-control", b"public, max-age=31536000, immutable")
            message["headers"] = [*message.get("headers", []), immutable]
        await send(message)

    return cached


def route_path(scope: Scope) -> str:
    """The path below the mount point (Starlette keeps the full path in ``path`` and the
    mount point in ``root_path``)."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path
