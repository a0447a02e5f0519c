"""The Python SDK's contract runner (clients/python/tests/contract/) against the live stack,
in a subprocess as CI runs it: every scenario of clients/contract/scenarios must run and pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from tests.integration.sdk.conftest import ROOT, runner_env

PYTHON_SDK = ROOT / "clients" / "python"


def run_runner(env: dict[str, str], report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov",
            f"--junitxml={report}", "tests/contract",
        ],
        cwd=PYTHON_SDK,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip


def test_python_sdk_passes_the_contract(contract_env: dict[str, str], tmp_path: Path) -> None:
    env, wanted = runner_env(contract_env)
    report = tmp_path / "python-contract.xml"
    result = run_runner(env, report)
    output = result.stdout[-8000:] + result.stderr[-4000:]
    assert result.returncode == 0, output
    cases = ElementTree.parse(report).getroot().iter("testcase")
    ran = {}
    for case in cases:
        name = case.get("name", "")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
        ran[name.removeprefix("test_scenario[").removesuffix("]")] = outcome
    assert sorted(ran) == sorted(wanted), output
    assert set(ran.values()) == {"passed"}, (ran, output)
