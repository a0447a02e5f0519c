"""``python -m gateway`` (or ``artifact-store``): serve the gateway, or rebuild its index."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
import uvloop

from gateway.app import close_store, create_app, open_store
from gateway.config import DEFAULT_ROOT_SECRET_KEY, Settings, load_settings
from gateway.domain.reindex import reindex


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artifact-store",
        description="S3-compatible artifact store in front of an OCI registry (Zot).",
    )
    parser.add_argument("--config", help="YAML settings file (also ARTIFACT_STORE_CONFIG)")
    parser.add_argument("--registry-url", help="the registry's URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--data-dir", help="directory of the SQLite index (default .data)")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the index")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the S3 gateway")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="S3 port (default 9000)")
    serve.add_argument("--tls-port", type=int, help="also serve HTTPS on this port")
    serve.add_argument("--tls-cert-file", help="PEM certificate for --tls-port")
    serve.add_argument("--tls-key-file", help="PEM key for --tls-port")
    commands.add_parser("reindex", help="rebuild the index from the registry alone")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        args.config,
        registry_url=args.registry_url,
        data_dir=args.data_dir,
        database_url=args.database_url,
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        tls_port=getattr(args, "tls_port", None),
        tls_cert_file=getattr(args, "tls_cert_file", None),
        tls_key_file=getattr(args, "tls_key_file", None),
    )


async def _reindex(settings: Settings) -> int:
    store = await open_store(settings)
    try:
        report = await reindex(store)
    finally:
        await close_store(store)
    print(
        f"reindexed {report.buckets} buckets, {report.objects} objects ({report.skipped} skipped),"
        f" {report.referrers} referrers, {report.uploads} uploads ({report.parts} parts)"
    )
    return 0


class _Companion(uvicorn.Server):
    """A second listener (HTTPS) on the same app: the main server owns signals and lifespan."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _Main(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, companions: list[uvicorn.Server]) -> None:
        super().__init__(config)
        self.companions = companions

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        for companion in self.companions:
            companion.should_exit = True


async def serve(settings: Settings) -> None:
    """Serve S3 on ``port``, and on ``tls_port`` over HTTPS when configured."""
    app = create_app(settings)
    common: dict[str, Any] = {
        "host": settings.host,
        "log_level": settings.log_level,
        "http": "httptools",
        "timeout_graceful_shutdown": 10,
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
    main = _Main(uvicorn.Config(app, port=settings.port, lifespan="on", **common), companions)
    tasks = [asyncio.create_task(main.serve())]
    while not main.started and not tasks[0].done():  # noqa: ASYNC110 - uvicorn has a flag only
        await asyncio.sleep(0.05)
    tasks += [asyncio.create_task(companion.serve()) for companion in companions]
    await asyncio.gather(*tasks)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if args.command == "reindex":
        return asyncio.run(_reindex(settings))
    secret = (
        DEFAULT_ROOT_SECRET_KEY
        if settings.root_secret() == DEFAULT_ROOT_SECRET_KEY
        else "(configured)"
    )
    print(
        f"Artifact Store on http://{settings.host}:{settings.port}"
        f"  registry {settings.registry_url}\n"
        f"  root access key: {settings.root_access_key}   secret: {secret}",
        flush=True,
    )
    try:
        uvloop.run(serve(settings))
    except KeyboardInterrupt:  # Ctrl-C / SIGINT after uvicorn's graceful shutdown: no trace
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
