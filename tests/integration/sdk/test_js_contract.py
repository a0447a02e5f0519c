"""The JavaScript SDK (clients/js) as `make test` checks it: npm ci from the committed
lockfile (cached), tsc, eslint, prettier, the ESM and CJS builds (each imported once), the unit
tests, and the contract runner against the live stack, which must run and pass every
scenario in clients/contract/scenarios."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.sdk.conftest import runner_env

ROOT = Path(__file__).resolve().parents[3]
JS = ROOT / "clients" / "js"
STAMP = JS / "node_modules" / ".artifact-store-lock"


def _cache() -> Path:
    base = os.environ.get("ARTIFACT_STORE_CACHE")
    return (Path(base) if base else Path.home() / ".cache" / "artifact-store") / "npm"


def _run(*command: str, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        command,
        cwd=JS,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}:\n{output[-6000:]}"
    )
    return output


@pytest.fixture(scope="module")
def npm() -> str:
    """npm with clients/js's node_modules installed from the lockfile (again only when the
    lockfile changed)."""
    found = shutil.which("npm")
    if found is None or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("Node.js and npm are required in CI for the JS SDK")
        pytest.skip("Node.js/npm not installed")
    lock = hashlib.sha256((JS / "package-lock.json").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != lock:
        _run(found, "ci", "--cache", str(_cache()), "--no-audit", "--no-fund", "--prefer-offline")
        STAMP.write_text(lock)
    return found


def test_js_sdk_builds_lints_and_passes_unit_tests(npm: str) -> None:
    _run(npm, "run", "typecheck")
    _run(npm, "run", "lint")
    _run(npm, "run", "format:check")
    _run(npm, "run", "build")
    for entry in ("index", "node"):
        assert (JS / "dist" / f"{entry}.js").is_file()
        assert (JS / "dist" / f"{entry}.cjs").is_file()
        assert (JS / "dist" / f"{entry}.d.ts").is_file()
    # the main entry stays browser-safe: no Node built-in reaches it (they live in ./node)
    builtins = re.compile(r"""from ["'](node:)?(fs|crypto|os|path|zlib|stream|child_process)""")
    for built in [JS / "dist" / "index.js", *(JS / "dist").glob("chunk-*.js")]:
        assert not builtins.search(built.read_text()), f"{built.name} imports a Node built-in"
    # the package's own exports map, as a user's ESM and CJS code import it
    esm = _run(
        "node",
        "--input-type=module",
        "-e",
        "import {ArtifactStore, NotFoundError} from '@artifact-store/sdk';"
        "import {uploadFile, signObject} from '@artifact-store/sdk/node';"
        "const all = [ArtifactStore, NotFoundError, uploadFile, signObject];"
        "console.log(all.map(f => typeof f).join())",
    )
    assert "function,function,function,function" in esm
    cjs = _run(
        "node",
        "-e",
        "const {ArtifactStore} = require('@artifact-store/sdk');"
        "const {downloadFile} = require('@artifact-store/sdk/node');"
        "console.log(typeof ArtifactStore, typeof downloadFile)",
    )
    assert "function function" in cjs
    tests = sorted(str(p.relative_to(JS)) for p in (JS / "test" / "unit").glob("*.test.ts"))
    unit = _run("node", "--import", "tsx", "--test", "--test-reporter=tap", *tests)
    assert re.search(r"^# fail 0$", unit, re.M), unit[-3000:]
    passed = re.search(r"^# pass (\d+)$", unit, re.M)
    assert passed is not None, unit[-3000:]
    assert int(passed.group(1)) >= 20, unit[-3000:]


def test_js_contract(npm: str, contract_env: dict[str, str]) -> None:
    env, scenarios = runner_env(contract_env)
    assert scenarios, "no scenarios"
    output = _run(
        "node",
        "--import",
        "tsx",
        "--test",
        "--test-reporter=tap",
        "test/contract.test.ts",
        env=env,
        timeout=1800,
    )
    ran = re.findall(r"^ok \d+ - (\S+)", output, re.M)
    assert sorted(ran) == scenarios, output[-6000:]
    assert re.search(r"^# fail 0$", output, re.M), output[-6000:]
