"""``python -m gateway`` (or ``artifact-store``): serve the gateway, or rebuild its index."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvloop

from gateway.app import close_store, open_store
from gateway.config import DEFAULT_ROOT_SECRET_KEY, Settings, load_settings
from gateway.domain.reindex import reindex
from gateway.serving import configure_logging, serve, serve_workers


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
    serve.add_argument(
        "--workers", type=int, help="gateway processes sharing the ports (default 1)"
    )
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
        workers=getattr(args, "workers", None),
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings(args)
    configure_logging(settings)
    if args.command == "reindex":
        return asyncio.run(_reindex(settings))
    secret = (
        DEFAULT_ROOT_SECRET_KEY
        if settings.root_secret() == DEFAULT_ROOT_SECRET_KEY
        else "(configured)"
    )
    management = settings.management_listener()
    print(
        f"Artifact Store on http://{settings.host}:{settings.port}"
        f"  registry {settings.registry_url}\n"
        f"  root access key: {settings.root_access_key}   secret: {secret}"
        + (
            f"\n  metrics and probes: http://{management[0]}:{management[1]}/metrics"
            " (/livez /readyz /startupz)"
            if management
            else ""
        ),
        flush=True,
    )
    if settings.workers > 1:
        return serve_workers(settings)
    try:
        uvloop.run(serve(settings))
    except KeyboardInterrupt:  # Ctrl-C / SIGINT after uvicorn's graceful shutdown: no trace
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
