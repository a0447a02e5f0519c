"""The Tekton Tasks (integrations/tekton/), checked offline: the Task CRD's v1 schema (vendored
from tektoncd/pipeline), tekton-lint (the rules Tekton's webhook applies that a CRD schema cannot:
undefined or unused params, results, workspaces), and this project's own rules: the results
Tekton Chains reads, and no parameter spliced into a script."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.fixtures.tools import installed
from tests.unit.deploy.chart import crd_schema

ROOT = Path(__file__).resolve().parents[3]
TASKS = sorted((ROOT / "integrations" / "tekton").glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def tekton_lint(*paths: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [
            str(installed("tekton-lint")),
            "--format",
            "json",
            "--max-warnings",
            "0",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = json.loads(done.stdout or "[]")
    assert isinstance(findings, list)
    assert (done.returncode == 0) == (findings == []), done.stderr
    return findings


def test_both_tasks_exist() -> None:
    assert [path.name for path in TASKS] == [
        "artifact-store-download.yaml",
        "artifact-store-upload.yaml",
    ]


@pytest.mark.parametrize("path", TASKS, ids=lambda path: path.stem)
def test_task_matches_the_crd_schema(path: Path) -> None:
    task = load(path)
    assert task["apiVersion"] == "tekton.dev/v1"
    assert task["kind"] == "Task"
    jsonschema.validate(task, crd_schema("tekton-task.crd.yaml", "v1"))


def test_tekton_lint_finds_nothing() -> None:
    assert tekton_lint(*TASKS) == []


def test_tekton_lint_would_catch_an_undefined_param(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TASKS[1].read_text().replace("$(params.bucket)", "$(params.bukket)"))
    rules = {finding["rule"] for finding in tekton_lint(broken)}
    assert "no-undefined-param" in rules


@pytest.mark.parametrize("path", TASKS, ids=lambda path: path.stem)
def test_chains_reads_the_artifact_results(path: Path) -> None:
    results = {result["name"]: result for result in load(path)["spec"]["results"]}
    assert set(results) == {"ARTIFACT_URI", "ARTIFACT_DIGEST"}
    script = load(path)["spec"]["steps"][0]["script"]
    assert 'printf \'sha256:%s\' "$digest" > "$RESULT_DIGEST"' in script


@pytest.mark.parametrize("path", TASKS, ids=lambda path: path.stem)
def test_parameters_reach_scripts_through_env_only(path: Path) -> None:
    """$(params.x) in a script is pasted into the shell text before it runs: injection."""
    for step in load(path)["spec"]["steps"]:
        assert not re.search(r"\$\((params|workspaces|results)\.", step["script"]), step["name"]
        assert step["script"].startswith("#!/bin/sh\nset -eu\n")


@pytest.mark.parametrize("path", TASKS, ids=lambda path: path.stem)
def test_steps_run_restricted(path: Path) -> None:
    for step in load(path)["spec"]["steps"]:
        context = step["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "runAsUser" not in context  # OpenShift's restricted-v2 assigns the UID
