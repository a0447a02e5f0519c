"""The GitHub Actions (integrations/github/), checked offline: each action.yml against the
action-metadata schema (check-jsonschema's vendored copy), zizmor's security audits, and
actionlint over the example workflow with the actions resolved locally, so a wrong or missing
input in the example (or a renamed one in an action) fails here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.tools import installed

ROOT = Path(__file__).resolve().parents[3]
GITHUB = ROOT / "integrations" / "github"
ACTIONS = [GITHUB / "upload" / "action.yml", GITHUB / "download" / "action.yml"]
EXAMPLE = GITHUB / "example-workflow.yml"
REMOTE = "artifact-store/artifact-store/integrations/github/"
VENV_BIN = Path(__file__).resolve().parents[3] / ".venv" / "bin"


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=cwd)


def venv_tool(name: str) -> str:
    found = shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)
    assert found, f"{name} is a dev dependency: uv sync"
    return found


def test_action_metadata_matches_the_schema() -> None:
    checked = run(
        venv_tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.github-actions",
        *map(str, ACTIONS),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_zizmor_finds_nothing() -> None:
    audited = run(
        venv_tool("zizmor"),
        "--offline",
        "--config",
        str(GITHUB / "zizmor.yml"),
        *map(str, [*ACTIONS, EXAMPLE]),
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr


def local_project(tmp_path: Path, workflow: str) -> Path:
    """A repository holding the actions and the example as a workflow that uses them by path
    (actionlint reads a local action's inputs; a remote one it cannot fetch)."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copytree(GITHUB, tmp_path / "integrations" / "github")
    text = workflow.replace(REMOTE, "./integrations/github/").replace("@v1", "")
    (tmp_path / ".github" / "workflows" / "release.yml").write_text(text)
    assert run("git", "init", "-q", ".", cwd=tmp_path).returncode == 0
    return tmp_path


def actionlint(project: Path) -> subprocess.CompletedProcess[str]:
    return run(str(installed("actionlint")), "-no-color", cwd=project)


def test_actionlint_accepts_the_example(tmp_path: Path) -> None:
    linted = actionlint(local_project(tmp_path, EXAMPLE.read_text()))
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_actionlint_would_catch_a_wrong_input(tmp_path: Path) -> None:
    wrong = EXAMPLE.read_text().replace("bucket: releases", "bukket: releases")
    linted = actionlint(local_project(tmp_path, wrong))
    assert linted.returncode == 1
    assert 'missing input "bucket"' in linted.stdout
    assert 'input "bukket" is not defined' in linted.stdout


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("path", ACTIONS, ids=lambda path: path.parent.name)
def test_outputs_come_from_a_step_that_exists(path: Path) -> None:
    action = load(path)
    ids = {step.get("id") for step in action["runs"]["steps"]}
    for name, output in action["outputs"].items():
        step = output["value"].split("steps.")[1].split(".")[0]
        assert step in ids, name
    assert set(action["outputs"]) == {"uri", "digest"}


@pytest.mark.parametrize("path", ACTIONS, ids=lambda path: path.parent.name)
def test_inputs_reach_scripts_through_env_only(path: Path) -> None:
    """`${{ inputs.x }}` in `run:` is pasted into the shell text: injection (zizmor's
    template-injection audit says the same; this keeps it true for every step)."""
    for step in load(path)["runs"]["steps"]:
        assert "${{" not in step["run"], step["name"]
        assert step["shell"] == "bash"


@pytest.mark.parametrize("path", ACTIONS, ids=lambda path: path.parent.name)
def test_every_input_is_used(path: Path) -> None:
    action = load(path)
    text = path.read_text().split("runs:", 1)[1]
    for name in action["inputs"]:
        assert f"inputs.{name}" in text, name
