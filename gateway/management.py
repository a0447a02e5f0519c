"""The management port: what operators and Kubernetes ask of the gateway, on a listener of
its own (``management_host``:``management_port``), so that the users' S3 port answers S3
alone and the probes and metrics need not be exposed to users.

    /metrics    Prometheus text (or OpenMetrics) of every metric in the default registry
    /livez      the process answers: 200 as long as its event loop runs
    /readyz     each check named with ok or failed and a detail; 503 when any failed
    /startupz   200 once the S3 listener is open (the index migrated, the ports bound)

The port is served by the same process (and event loop) as the S3 port, and starts first:
during start-up it answers ``/livez``, and ``/startupz`` and ``/readyz`` with 503.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from gateway.app import Gateway
from gateway.observability import metrics
from gateway.observability.exposition import exposition

log = logging.getLogger("gateway.management")
PROBE_ROW = "readyz"  # the health table's row the readiness probe rewrites
OK, FAILED = "ok", "failed"
Check = Callable[[], Awaitable[str]]  # the detail on success; raises on failure


class Management:
    def __init__(self, gateway: Gateway, started: Callable[[], bool]) -> None:
        """``started``: whether the S3 listener is open (uvicorn's ``Server.started``)."""
        self.gateway, self.started = gateway, started
        self.timeout = gateway.settings.readiness_timeout_seconds
        self.app = Starlette(
            routes=[
                Route("/metrics", self.metrics),
                Route("/livez", self.livez),
                Route("/readyz", self.readyz),
                Route("/startupz", self.startupz),
            ]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    async def livez(self, _request: Request) -> Response:
        return JSONResponse({"status": OK})

    async def startupz(self, _request: Request) -> Response:
        if self.started():
            return JSONResponse({"status": "started"})
        return JSONResponse({"status": "starting"}, status_code=503)

    async def readyz(self, _request: Request) -> Response:
        checks = await self.checks()
        ready = all(check["status"] == OK for check in checks.values())
        body = {"status": OK if ready else FAILED, "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def checks(self) -> dict[str, dict[str, str]]:
        """Every check at once, each within the timeout: the registry with the gateway's own
        credentials, a committed index write, and Keycloak's keys when Keycloak is set."""
        store = self.gateway.store
        if not self.started() or store is None:
            return {"startup": {"status": FAILED, "detail": "the gateway is still starting"}}

        async def registry() -> str:
            await store.registry.ping()
            return "GET /v2/ answered with the gateway's credentials"

        async def index() -> str:
            await store.index.write_probe(PROBE_ROW)
            return "a write to the health table committed"

        named: dict[str, Check] = {"registry": registry, "index": index}
        jwks_ready = self.gateway.jwks_ready
        if jwks_ready is not None:

            async def jwks() -> str:
                known, detail = await jwks_ready()
                if not known:
                    raise RuntimeError(detail)
                return detail

            named["jwks"] = jwks
        results = await asyncio.gather(*(self.run(check) for check in named.values()))
        return dict(zip(named, results, strict=True))

    async def run(self, check: Check) -> dict[str, str]:
        try:
            detail = await asyncio.wait_for(check(), self.timeout)
        except TimeoutError:
            return {"status": FAILED, "detail": f"no answer within {self.timeout:g} s"}
        except Exception as exc:  # a probe reports, it never raises
            return {"status": FAILED, "detail": str(exc) or exc.__class__.__name__}
        return {"status": OK, "detail": detail}

    async def metrics(self, request: Request) -> Response:
        await self.count_uploads()
        body, content_type = exposition(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    async def count_uploads(self) -> None:
        """The uploads-in-flight gauge is the index's count, read when scraped."""
        store = self.gateway.store
        if store is None:
            return
        try:
            count = await asyncio.wait_for(store.index.count_live_uploads(), self.timeout)
        except Exception as exc:  # the other metrics are still worth answering
            log.warning("counting uploads in flight for /metrics failed: %s", exc)
            return
        metrics.UPLOADS_IN_FLIGHT.set(count)
