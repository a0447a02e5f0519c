"""The Go SDK (clients/go): gofmt, go vet, staticcheck (pinned, through ``go run``), its unit
tests, and its contract runner against the live stack, which must run and pass every
scenario of clients/contract/scenarios/.

Cold, the first run downloads the SDK's modules and staticcheck's into GOMODCACHE (see
docs/sdk-go.md for the times measured)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.integration.sdk.conftest import runner_env

ROOT = Path(__file__).resolve().parents[3]
MODULE = ROOT / "clients" / "go"
STATICCHECK = "honnef.co/go/tools/cmd/staticcheck@v0.8.2"
LIVE = "^(TestContract|TestDeviceLoginLive)$"  # the tests that need the live stack


def go() -> str:
    found = shutil.which("go")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Go is required in CI (the Go SDK's tests)")
        pytest.skip("go is not installed")
    return found


def run(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    result = subprocess.run(
        args,
        cwd=MODULE,
        env={**os.environ, "GOTOOLCHAIN": "local", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
            log.write(result.stdout + result.stderr)  # a failing subtest may be far from the end
        failed = [
            line for line in result.stdout.splitlines() if "--- FAIL" in line or "FAIL:" in line
        ]
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}; whole output in {log.name}\n"
            + "\n".join(failed[:20])
            + f"\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def test_lint() -> None:
    tool = go()
    unformatted = run(shutil.which("gofmt") or str(Path(tool).parent / "gofmt"), "-l", ".")
    assert unformatted == "", f"gofmt would change: {unformatted}"
    run(tool, "vet", "./...")
    run(tool, "run", STATICCHECK, "./...")


def test_unit() -> None:
    """Pure logic (part planning, state files, error mapping, sizes, data, bundles) and the
    check that the generated API types are what oapi-codegen makes of clients/openapi.json."""
    run(go(), "test", "-count=1", "-skip", LIVE, "./...")


def test_contract(contract_env: dict[str, str]) -> None:
    """Every scenario, and a device-flow login approved on Keycloak's own pages."""
    env, scenarios = runner_env(contract_env)
    assert scenarios, "no scenario files"
    output = run(
        go(),
        "test",
        "-count=1",
        "-json",
        "-timeout=20m",
        "-run",
        LIVE,
        "./contract/",
        env=env,
        timeout=1500,
    )
    (Path(contract_env["CONTRACT_WORKDIR"]) / "go-contract.jsonl").write_text(output)
    results: dict[str, str] = {}
    for line in output.splitlines():
        event = json.loads(line)
        test = event.get("Test", "")
        if event.get("Action") == "output" and "runner_test.go" in event.get("Output", ""):
            print(test, event["Output"].strip())  # what each transfer did (pytest -s shows it)
        if test.startswith("TestContract/") and event.get("Action") in ("pass", "fail", "skip"):
            results[test.removeprefix("TestContract/")] = event["Action"]
        if test == "TestDeviceLoginLive" and event.get("Action") in ("pass", "fail", "skip"):
            results["(device login)"] = event["Action"]
    assert results == {name: "pass" for name in [*scenarios, "(device login)"]}
