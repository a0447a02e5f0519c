"""Run the local stack: a registry (Zot, see tests/fixtures/registries.py) and the gateway,
and with --keycloak a Keycloak with the project's realm (deploy/keycloak/), whose tokens the
gateway then accepts (Bearer and STS). ``--profile scale-out`` starts instead two gateway
replicas behind HAProxy on PostgreSQL, over three Zot members in a scale-out cluster on S3
storage (versitygw) with Redis (tests/fixtures/scale_out.py, docs/scale-out.md).

Ctrl-C or SIGTERM stops them all. Flags override ARTIFACT_STORE_* variables; see --help.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.config import Settings
from tests.fixtures.registries import start
from tests.fixtures.tls import self_signed


def main() -> int:
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=defaults.port, help="S3 port (9000)")
    parser.add_argument(
        "--management-port",
        type=int,
        default=defaults.management_port or 0,
        help="metrics and probes (9100; 0: none)",
    )
    parser.add_argument("--data-dir", default=str(defaults.data_dir), help="data directory")
    parser.add_argument("--registry-port", type=int, default=None, help="registry port (free)")
    parser.add_argument(
        "--tls-port", type=int, default=None, help="also serve HTTPS here (self-signed certificate)"
    )
    parser.add_argument(
        "--keycloak",
        action="store_true",
        help="also start Keycloak 26.7.4 with deploy/keycloak/ (Java needed; about a minute)",
    )
    parser.add_argument("--keycloak-port", type=int, default=8180, help="Keycloak's port (8180)")
    parser.add_argument(
        "--profile",
        choices=["single", "scale-out"],
        default="single",
        help="single: one gateway, one Zot (default); scale-out: 2 gateways behind HAProxy, "
        "PostgreSQL, 3 Zot members on S3 storage with Redis",
    )
    args = parser.parse_args()
    data = Path(args.data_dir).resolve()
    if args.profile == "scale-out":
        return run_scale_out(data, args.port, defaults)
    registry = start(data / "registry", port=args.registry_port)
    print(f"registry ({registry.kind}) on {registry.url}, data in {data}", flush=True)
    env = {
        **os.environ,
        **registry.env(),
        "ARTIFACT_STORE_DATA_DIR": str(data),
        "ARTIFACT_STORE_PORT": str(args.port),
        "ARTIFACT_STORE_MANAGEMENT_PORT": str(args.management_port),
    }
    if args.tls_port:
        cert, key = data / "tls" / "cert.pem", data / "tls" / "key.pem"
        if not cert.exists():
            self_signed(cert, key)
        env.update(
            ARTIFACT_STORE_TLS_PORT=str(args.tls_port),
            ARTIFACT_STORE_TLS_CERT_FILE=str(cert),
            ARTIFACT_STORE_TLS_KEY_FILE=str(key),
        )
        print(f"HTTPS on https://127.0.0.1:{args.tls_port} (self-signed: {cert})", flush=True)
    keycloak = None
    if args.keycloak:
        from tests.fixtures.keycloak import start as start_keycloak

        print("starting Keycloak (about a minute on two cores)...", flush=True)
        keycloak = start_keycloak(data / "keycloak", port=args.keycloak_port)
        env.update(
            ARTIFACT_STORE_OIDC_ISSUER=keycloak.issuer(),
            ARTIFACT_STORE_OIDC_JWKS_URL=keycloak.jwks_url(),
        )
        print(
            f"Keycloak on {keycloak.url} (admin/admin); realm {keycloak.issuer()}; test users "
            "alice/bob/carol/dave with password <name>-password (deploy/keycloak/README.md)",
            flush=True,
        )
        print(f"web console on http://127.0.0.1:{args.port}/_artifacts/ui/", flush=True)
    gateway = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=env)

    def stop(_signum: int, _frame: object) -> None:
        gateway.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        code = gateway.wait()
    finally:
        registry.stop()
        if keycloak is not None:
            keycloak.stop()
        print("stopped gateway and registry" + (" and Keycloak" if keycloak else ""), flush=True)
    # Ctrl-C reaches the gateway too (the terminal signals the whole process group): 130.
    return 0 if code in (0, 130, -signal.SIGTERM, -signal.SIGINT) else code


def run_scale_out(data: Path, port: int, defaults: Settings) -> int:
    """Until SIGINT or SIGTERM; the state (processes, addresses) in <data>/scale-out/state.json."""
    from tests.fixtures.scale_out import scale_out

    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    credentials = (defaults.root_access_key, defaults.root_secret())
    components = "PostgreSQL, Redis, versitygw, 3 Zot members, 2 gateways, HAProxy"
    print(f"starting the scale-out profile ({components})...", flush=True)
    with scale_out(data / "scale-out", port, credentials) as stack:
        state = stack.root / "state.json"
        print(
            f"S3 on {stack.url} (HAProxy over 2 gateways); Zot members behind "
            f"{stack.registry.url}; state in {state}",
            flush=True,
        )
        while not stopping:
            signal.pause()
    print("stopped the scale-out stack", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
