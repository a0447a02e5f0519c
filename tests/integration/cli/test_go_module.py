"""artifactctl's Go module (cli/): gofmt, go vet, staticcheck (pinned, through ``go run``, as
the SDK's test does) and its unit tests (config precedence, exit codes, the JSON envelope, the
commands' pure parts, and docs/cli.md against the command tree). Its JSON examples
(cli/docs/examples) are checked here against the result schemas too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.artifactctl import MODULE, go
from tests.integration.cli.conftest import validate_output

STATICCHECK = "honnef.co/go/tools/cmd/staticcheck@v0.8.2"


def run(*args: str, timeout: float = 900) -> str:
    result = subprocess.run(
        args,
        cwd=MODULE,
        env={**os.environ, "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
            log.write(result.stdout + result.stderr)
        failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
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
    """Includes TestDocs: docs/cli.md must be what the generator writes for the command tree."""
    out = run(go(), "test", "-count=1", "./...")
    assert "ok  \tgithub.com/artifact-store/artifact-store/cli/internal/cmd" in out


def test_doc_examples_match_the_schemas() -> None:
    """Each command's example in docs/cli.md is a document the schemas accept, of that command."""
    examples = sorted((MODULE / "docs" / "examples").glob("*.json"))
    assert len(examples) >= 15
    for path in examples:
        doc = json.loads(path.read_text())
        assert doc["command"].replace(" ", "-") == path.stem, path
        validate_output(doc)
