"""Run the local stack: a registry (Zot, see tests/fixtures/registries.py) and the gateway.

Ctrl-C or SIGTERM stops both. Flags override ARTIFACT_STORE_* variables; see --help.
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
from gateway.tls import self_signed
from tests.fixtures.registries import start


def main() -> int:
    defaults = Settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=defaults.port, help="S3 port (9000)")
    parser.add_argument("--data-dir", default=str(defaults.data_dir), help="data directory")
    parser.add_argument("--registry-port", type=int, default=None, help="registry port (free)")
    parser.add_argument(
        "--tls-port", type=int, default=None, help="also serve HTTPS here (self-signed certificate)"
    )
    args = parser.parse_args()
    data = Path(args.data_dir).resolve()
    registry = start(data / "registry", port=args.registry_port)
    print(f"registry ({registry.kind}) on {registry.url}, data in {data}", flush=True)
    env = {
        **os.environ,
        "ARTIFACT_STORE_REGISTRY_URL": registry.url,
        "ARTIFACT_STORE_DATA_DIR": str(data),
        "ARTIFACT_STORE_PORT": str(args.port),
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
    gateway = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=env)

    def stop(_signum: int, _frame: object) -> None:
        gateway.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        code = gateway.wait()
    finally:
        registry.stop()
        print("stopped gateway and registry", flush=True)
    return 0 if code in (0, -signal.SIGTERM) else code


if __name__ == "__main__":
    sys.exit(main())
