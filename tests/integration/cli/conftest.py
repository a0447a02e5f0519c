"""artifactctl end to end: the binary built from cli/, run as a user runs it, against a
gateway that trusts the session's real Keycloak, with a HOME of its own per test (so no config
file, login or ARTIFACT_STORE_* variable of the developer leaks in)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cryptography.fernet import Fernet

from tests.conftest import ACCESS_KEY, SECRET_KEY, keycloak_gateway_settings
from tests.fixtures.artifactctl import build
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = ROOT / "cli" / "schema"
# Toolchain settings `go build` needs, passed through when set.
GO_SETTINGS = ("GOPATH", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOPROXY", "GONOSUMDB", "TMPDIR")


@pytest.fixture(scope="session")
def artifactctl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The binary, built once per session from the working tree."""
    return build(tmp_path_factory.mktemp("artifactctl-bin"))


@pytest.fixture(scope="session")
def cli_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    """A gateway trusting the session's Keycloak (Bearer tokens, STS), its own repositories."""
    settings = keycloak_gateway_settings(
        registry,
        keycloak,
        tmp_path_factory.mktemp("cli-gateway"),
        "cli",
        credentials_key=Fernet.generate_key().decode(),
    )
    with serve(settings) as running:
        yield running


def validate_output(doc: dict[str, Any]) -> None:
    """The JSON output contract: the envelope, and the result by its command's schema."""
    envelope = json.loads((SCHEMAS / "envelope.schema.json").read_text())
    jsonschema.validate(doc, envelope, format_checker=jsonschema.FormatChecker())
    if "result" in doc:
        name = doc["command"].replace(" ", "-")
        schema = json.loads((SCHEMAS / "results" / f"{name}.json").read_text())
        jsonschema.validate(doc["result"], schema, format_checker=jsonschema.FormatChecker())


def keep_example(doc: dict[str, Any]) -> None:
    """With ARTIFACTCTL_EXAMPLES=DIR, keep every successful document there, numbered per
    command: the real output cli/docs/examples/ (docs/cli.md's examples) is picked from."""
    target = os.environ.get("ARTIFACTCTL_EXAMPLES")
    if not target or "result" not in doc:
        return
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    name = doc["command"].replace(" ", "-")
    count = len(list(folder.glob(f"{name}.*.json")))
    (folder / f"{name}.{count}.json").write_text(json.dumps(doc, indent=2) + "\n")


@dataclass
class Run:
    """One artifactctl run: its exit code, its output and, with -o json, the document."""

    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Cli:
    """artifactctl with an environment of its own: HOME, config file and credentials."""

    binary: Path
    env: dict[str, str]
    home: Path

    def __call__(
        self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
        timeout: float = 300, cwd: Path | None = None,
    ) -> Run:  # fmt: skip
        result = subprocess.run(
            [str(self.binary), *args],
            env={**self.env, **(env or {})},
            input=input,
            capture_output=True,
            timeout=timeout,
            cwd=cwd or self.home,
        )
        return Run(result.returncode, result.stdout.decode(), result.stderr.decode())

    def ok(self, *args: str, **kwargs: Any) -> Run:
        """Run and require exit 0."""
        run = self(*args, **kwargs)
        assert run.code == 0, (
            f"artifactctl {' '.join(args)} exited {run.code}: {run.stderr}{run.stdout}"
        )
        return run

    def doc(self, *args: str, expect: int = 0, **kwargs: Any) -> dict[str, Any]:
        """Run with -o json, require exit code `expect`, and return the document after checking
        it against the envelope schema and the command's result schema."""
        run = self(*args, "-o", "json", **kwargs)
        assert run.code == expect, (
            f"artifactctl {' '.join(args)} exited {run.code}, not {expect}: "
            f"{run.stderr}{run.stdout}"
        )
        doc: dict[str, Any] = run.json
        validate_output(doc)
        keep_example(doc)
        return doc

    def without_credentials(self) -> Cli:
        env = {
            k: v
            for k, v in self.env.items()
            if not k.startswith("ARTIFACT_STORE_") or k == "ARTIFACT_STORE_ENDPOINT"
        }
        return Cli(self.binary, env, self.home)


@pytest.fixture
def cli(
    artifactctl: Path, cli_gateway: RunningGateway, keycloak: RunningKeycloak, tmp_path: Path
) -> Cli:
    """artifactctl as the admin (the root access key from the environment), HOME in tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        **{name: os.environ[name] for name in GO_SETTINGS if name in os.environ},
        "ARTIFACT_STORE_ENDPOINT": cli_gateway.url,
        "ARTIFACT_STORE_ACCESS_KEY_ID": ACCESS_KEY,
        "ARTIFACT_STORE_SECRET_ACCESS_KEY": SECRET_KEY,
        "ARTIFACT_STORE_OIDC_ISSUER": keycloak.issuer(),
        "ARTIFACT_STORE_OIDC_CLIENT": "artifactctl",
    }
    return Cli(artifactctl, env, home)
