"""Serving: one gateway process, or several that share the ports (``workers``).

Several processes make use of every core a deployment gives the gateway (one Python process
uses one). They bind the same ports with SO_REUSEPORT, so the kernel spreads connections over
them; they share the data directory (SQLite index, keys) and take turns on a key's writes
through file locks (domain/locks.py). The supervisor makes the shared state once before they
start, passes a stop signal on once, and stops them all when one dies, for the deployment's
own supervisor to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import uvicorn
import uvloop

from gateway.app import Gateway, create_app
from gateway.config import Settings
from gateway.domain.supply import receipts
from gateway.index.store import SqlIndex
from gateway.management import Management
from gateway.observability import exposition, logs, tracing


class _Companion(uvicorn.Server):
    """A second listener (HTTPS, management) in the same process: the main server owns
    signals and lifespan."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Main(uvicorn.Server):
    """The listener that owns signals and the lifespan, and starts the drain (drain.py).

    SIGTERM is a request to stop, answered by a graceful drain and exit status 0: uvicorn
    would raise the signal again once done, and the process would die of it (status 143)."""

    def __init__(
        self, config: uvicorn.Config, companions: list[uvicorn.Server], gateway: Gateway
    ) -> None:
        super().__init__(config)
        self.companions, self.gateway = companions, gateway

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if sig == signal.SIGTERM:
            self._captured_signals.remove(sig)
        for companion in self.companions:
            companion.should_exit = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.gateway.drain.begin(self.gateway.settings.drain_seconds)
        await super().shutdown(sockets)


def _shared_listener(host: str, port: int) -> socket.socket:
    """A listening socket the other worker processes bind as well (SO_REUSEPORT): the kernel
    spreads new connections over them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(2048)
    return listener


def management_server(
    settings: Settings, app: Gateway, started: Callable[[], bool]
) -> uvicorn.Server | None:
    """The management listener (management.py), or None when ``management_port`` is off.
    Probes and scrapes every few seconds would drown the access log: it keeps none."""
    listener = settings.management_listener()
    if listener is None:
        return None
    host, port = listener
    config = uvicorn.Config(
        Management(app, started),
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,
        lifespan="off",
        http="httptools",
    )
    return _Companion(config)


async def serve(settings: Settings, worker: int | None = None) -> None:
    """Serve S3 on ``port``, and on ``tls_port`` over HTTPS when configured; as ``worker``
    (0, 1, ...) of several processes, on ports they share. The management port opens first,
    so that its probes answer (not yet started, not ready) while the index migrates."""
    if tracing.wanted(settings.tracing, os.environ):
        tracing.start_exporting()
    app = create_app(settings, sweep=worker in (None, 0))
    common: dict[str, Any] = {
        "host": settings.host,
        "log_level": settings.log_level,
        # The root logger's handler (configure_logging) writes uvicorn's lines too; the
        # request's access line is the gateway's own (observability/requests.py): uvicorn's
        # would show the query string, which is a credential in a presigned URL.
        "log_config": None,
        "access_log": False,
        "http": "httptools",
        # The drain cuts what still moves bytes at drain_seconds (drain.py); what is still
        # running drain_grace_seconds later is cancelled.
        "timeout_graceful_shutdown": math.ceil(
            settings.drain_seconds + settings.drain_grace_seconds
        ),
    }
    companions: list[uvicorn.Server] = []
    if settings.tls_port is not None:
        if settings.tls_cert_file is None or settings.tls_key_file is None:
            raise SystemExit("tls_port needs tls_cert_file and tls_key_file")
        companions.append(
            _Companion(
                uvicorn.Config(
                    app,
                    port=settings.tls_port,
                    ssl_certfile=settings.tls_cert_file,
                    ssl_keyfile=settings.tls_key_file,
                    lifespan="off",
                    **common,
                )
            )
        )
    config = uvicorn.Config(app, port=settings.port, lifespan="on", **common)
    main = _Main(config, list(companions), app)  # the management listener joins them below
    ports = [settings.port, *([settings.tls_port] if settings.tls_port is not None else [])]
    sockets = [
        [_shared_listener(settings.host, port)] if worker is not None else None for port in ports
    ]
    early: list[asyncio.Task[None]] = []
    management = management_server(settings, app, lambda: main.started)
    if management is not None:
        main.companions.append(management)
        listener = settings.management_listener()
        shared = [_shared_listener(*listener)] if worker is not None and listener else None
        early.append(asyncio.create_task(management.serve(sockets=shared)))
    first = asyncio.create_task(main.serve(sockets=sockets[0]))
    while not main.started and not first.done():  # noqa: ASYNC110 - uvicorn has a flag only
        await asyncio.sleep(0.05)
    later = [
        asyncio.create_task(companion.serve(sockets=listeners))
        for companion, listeners in zip(companions, sockets[1:], strict=True)
    ]
    try:
        await first
    finally:  # the S3 listener ended (or never started): the others end with it
        for companion in main.companions:
            companion.should_exit = True
        await asyncio.gather(*early, *later)


def _prepare(settings: Settings) -> None:
    """What the worker processes share is made once, before they start: the index's schema
    (migrations) and the keys a local stack makes on first use."""

    async def migrate() -> None:
        index = await SqlIndex.open(settings.index_url)
        await index.close()

    asyncio.run(migrate())
    settings.credentials_keys()
    receipts.load_or_create(settings.receipt_key_path())


def _worker(settings: Settings, number: int) -> None:
    """One worker process. Its own process group: a terminal's Ctrl-C reaches the supervisor
    alone, which passes one SIGTERM on (uvicorn takes a second signal as 'exit now')."""
    os.setpgrp()
    configure_logging(settings)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(settings, worker=number))


def serve_workers(settings: Settings) -> int:
    """Run ``settings.workers`` gateway processes and wait. A signal stops them all,
    gracefully; a worker that dies on its own stops the rest too (exit 1), so that the
    supervisor of the deployment (Kubernetes, systemd) restarts the whole. Their metrics add
    up in a directory they share (observability/exposition.py)."""
    _prepare(settings)
    exposition.share(settings.metrics_directory())
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_worker, args=(settings, number), name=f"gateway-worker-{number}")
        for number in range(settings.workers)
    ]
    stopping: list[int] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        if not stopping:
            stopping.append(signum)
            for process in workers:
                if process.pid is not None and process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for process in workers:
        process.start()
    running = list(workers)
    while running:
        multiprocessing.connection.wait([process.sentinel for process in running])
        for process in [p for p in running if not p.is_alive()]:
            running.remove(process)
            if process.pid is not None:
                exposition.process_gone(process.pid)
            if not stopping:
                logging.getLogger("gateway").error(
                    "%s exited with %s: stopping the other workers", process.name, process.exitcode
                )
                stop(signal.SIGTERM, None)
                stopping.append(-1)
    if -1 in stopping:
        return 1
    return 130 if stopping == [signal.SIGINT] else 0


def configure_logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)
