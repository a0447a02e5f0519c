"""``artifact-store-operator``: log in (in-cluster service account, else KUBECONFIG), serve
metrics on :8080 and health on :8081, wait for the Lease, then run kopf while leading; exit
when the lease is lost (the Deployment restarts the pod as a standby)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

import kopf
from aiohttp import web
from prometheus_client import Gauge, start_http_server

from . import handlers  # noqa: F401 - registers the handlers
from .kube import Connection, Kube
from .leader import LeaderElector

LEADER = Gauge("artifact_store_operator_leader", "1 while this replica holds the Lease.")
SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path
log = logging.getLogger("artifact_store_operator")


def _login() -> kopf.ConnectionInfo:
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(
        settings=settings
    )
    if info is None:
        raise SystemExit("no in-cluster service account and no KUBECONFIG")
    return info


def _token_path() -> str | None:
    return SA_TOKEN if os.path.exists(SA_TOKEN) else None


def _namespace(info: kopf.ConnectionInfo) -> str:
    return os.environ.get("POD_NAMESPACE") or info.default_namespace or "default"


async def _health(elector: LeaderElector, port: int) -> web.AppRunner:
    async def livez(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        # Ready once the API server answered the Lease: a standby is ready to take over.
        if elector.connected.is_set():
            leading = "leader" if elector.leading.is_set() else "standby"
            return web.Response(text=f"ok ({leading})")
        return web.Response(status=503, text="not connected")

    app = web.Application()
    app.router.add_get("/healthz", livez)
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, os.environ.get("HEALTH_HOST", "0.0.0.0"), port).start()  # noqa: S104
    return runner


async def run() -> int:
    info = _login()
    token_path = _token_path()
    ca = info.ca_path if isinstance(info.ca_path, str) else None
    kube = Kube(Connection(info.server, info.token, ca, bool(info.insecure), token_path))
    identity = os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"
    elector = LeaderElector(
        kube,
        _namespace(info),
        os.environ.get("ARTIFACT_STORE_OPERATOR_LEASE", "artifact-store-operator"),
        identity,
        duration=int(os.environ.get("ARTIFACT_STORE_OPERATOR_LEASE_SECONDS", "15")),
        renew=float(os.environ.get("ARTIFACT_STORE_OPERATOR_RENEW_SECONDS", "5")),
    )
    metrics_host = os.environ.get("METRICS_HOST", "0.0.0.0")  # noqa: S104 - a pod's address
    start_http_server(int(os.environ.get("METRICS_PORT", "8080")), addr=metrics_host)
    health = await _health(elector, int(os.environ.get("HEALTH_PORT", "8081")))
    election = asyncio.create_task(elector.run())
    try:
        await elector.leading.wait()
        LEADER.set(1)

        @kopf.on.login()
        def login(**_: Any) -> kopf.ConnectionInfo:
            return info

        watched = os.environ.get("WATCH_NAMESPACE", "")
        stop = asyncio.Event()
        operator = asyncio.create_task(
            kopf.operator(
                standalone=True,
                clusterwide=not watched,
                namespaces=[n for n in watched.split(",") if n],
                stop_flag=stop,
                memo=kopf.Memo(kube=kube),
            )
        )
        lost = asyncio.create_task(elector.lost.wait())
        done, _ = await asyncio.wait({operator, lost}, return_when=asyncio.FIRST_COMPLETED)
        if lost in done:
            log.error("leadership lost: stopping")
            stop.set()
            await asyncio.wait_for(operator, 30)
            return 1
        operator.result()
        return 0
    finally:
        LEADER.set(0)
        election.cancel()
        await health.cleanup()
        await kube.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
