"""``python -m gateway`` (or ``artifact-store``): serve the gateway, rebuild its index, or
write the registry's htpasswd line for the gateway's user."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import uvloop

from gateway.app import close_store, open_store, open_store_to_check
from gateway.config import DEFAULT_ROOT_SECRET_KEY, Settings, load_settings
from gateway.domain.index_check import check
from gateway.domain.reindex import ReindexReport, reindex
from gateway.htpasswd import write as write_htpasswd
from gateway.index import IndexNotReady
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
    rebuild = commands.add_parser("reindex", help="rebuild the index from the registry alone")
    rebuild.add_argument(
        "--check",
        action="store_true",
        help="change nothing: print how the index differs from what a reindex would write;"
        " exit 0 if in nothing, 1 if it differs, 2 if it could not be checked",
    )
    rebuild.add_argument(
        "--json", action="store_true", help="with --check: the differences as one JSON document"
    )
    htpasswd = commands.add_parser(
        "registry-htpasswd",
        help="write Zot's htpasswd line for the gateway's user (bcrypt cost 4), e.g. from an "
        "init container beside Zot; reads no gateway settings",
    )
    htpasswd.add_argument("--username-file", type=Path, required=True)
    htpasswd.add_argument("--password-file", type=Path, required=True)
    htpasswd.add_argument("--out", type=Path, required=True, help="the htpasswd file to write")
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


def _counts(report: ReindexReport) -> str:
    return (
        f"{report.buckets} buckets, {report.objects} objects ({report.skipped} skipped),"
        f" {report.referrers} referrers, {report.uploads} uploads ({report.parts} parts)"
    )


async def _reindex(settings: Settings) -> int:
    store = await open_store(settings)
    try:
        report = await reindex(store)
    finally:
        await close_store(store)
    print(f"reindexed {_counts(report)}")
    return 0


async def _check(settings: Settings, as_json: bool) -> int:
    """``reindex --check``: 0 no difference, 1 differences (each printed), 2 not checked."""
    try:
        store = await open_store_to_check(settings)
    except IndexNotReady as exc:
        print(f"reindex --check: {exc}", file=sys.stderr)
        return 2
    try:
        differences, report = await check(store)
    finally:
        await close_store(store)
    if as_json:
        document = {
            "differences": [difference.as_json() for difference in differences],
            "registry": vars(report),
        }
        print(json.dumps(document, indent=2))
    else:
        for difference in differences:
            print(difference.describe())
        verdict = f"{len(differences)} differences" if differences else "no differences"
        print(f"{verdict}; the registry holds {_counts(report)}")
    return 1 if differences else 0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "registry-htpasswd":
        try:
            write_htpasswd(args.username_file, args.password_file, args.out)
        except (OSError, ValueError) as exc:
            print(f"artifact-store registry-htpasswd: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "reindex" and args.json and not args.check:
        parser.error("--json goes with --check")
    settings = _settings(args)
    configure_logging(settings)
    if args.command == "reindex":
        if args.check:
            return asyncio.run(_check(settings, args.json))
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
