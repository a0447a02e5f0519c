"""Just enough of GitHub's composite-action runner and of a Tekton TaskRun to execute the
committed integrations as their platforms would: inputs/params substituted where the platform
substitutes them (env values, never the script text: the unit tests hold the files to that),
$GITHUB_ENV and $GITHUB_OUTPUT carried between steps, workspaces as directories, Secrets as
env, results read from their files. Anything these runners do not understand fails the test
rather than being guessed."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

GITHUB_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
TEKTON_VARIABLE = re.compile(r"\$\((params|workspaces|results)\.([A-Za-z0-9_.-]+)\)")


@dataclass
class ActionRun:
    """A composite action's run: each step's exit code and outputs, the action's outputs."""

    returncode: int
    outputs: dict[str, str]
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""


def _read_github_file(path: Path) -> dict[str, str]:
    """KEY=value lines and KEY<<DELIM heredocs, as the runner reads $GITHUB_ENV/$GITHUB_OUTPUT."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            body = []
            for more in lines:
                if more == delimiter:
                    break
                body.append(more)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def _github_value(expression: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    parts = expression.split(".")
    if parts[0] == "inputs" and len(parts) == 2:
        return inputs[parts[1]]
    if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
        return steps.get(parts[1], {}).get(parts[3], "")
    raise AssertionError(f"the test runner does not evaluate ${{{{ {expression} }}}}")


def _github_condition(condition: str, inputs: dict[str, str]) -> bool:
    match = re.fullmatch(r"inputs\.([A-Za-z0-9_-]+)\s*==\s*'([^']*)'", condition.strip())
    assert match, f"the test runner does not evaluate `if: {condition}`"
    return inputs[match.group(1)] == match.group(2)


def run_composite_action(
    action_dir: Path, inputs: dict[str, str], env: dict[str, str], work: Path
) -> ActionRun:
    """Run action_dir/action.yml's steps with bash, as `runs.using: composite` does."""
    action: dict[str, Any] = yaml.safe_load((action_dir / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    declared = action.get("inputs", {})
    unknown = set(inputs) - set(declared)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update(inputs)
    missing = [n for n, spec in declared.items() if spec.get("required") and not values[n]]
    assert not missing, f"required inputs missing: {missing}"
    job_env = dict(env)
    steps: dict[str, dict[str, str]] = {}
    run = ActionRun(0, {})
    for index, step in enumerate(action["runs"]["steps"]):
        if "if" in step and not _github_condition(step["if"], values):
            continue
        assert step.get("shell") == "bash", f"step {index}: only bash steps"
        assert "run" in step, f"step {index}: only run steps"
        github_env, github_output = work / f"env-{index}", work / f"output-{index}"
        github_path = work / f"path-{index}"
        for file in (github_env, github_output, github_path):
            file.write_text("")
        step_env = {
            **job_env,
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_ENV": str(github_env),
            "GITHUB_OUTPUT": str(github_output),
            "GITHUB_PATH": str(github_path),
            "RUNNER_TEMP": str(work),
        }
        for name, value in (step.get("env") or {}).items():
            step_env[name] = GITHUB_EXPRESSION.sub(
                lambda m: _github_value(m.group(1), values, steps), str(value)
            )
        script = work / f"step-{index}.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=step_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=work,
        )
        run.stdout += done.stdout
        run.stderr += done.stderr
        if done.returncode != 0:
            run.returncode = done.returncode
            return run
        job_env.update(_read_github_file(github_env))
        for directory in github_path.read_text().splitlines():  # prepended, as the runner does
            job_env["PATH"] = f"{directory}:{job_env['PATH']}"
        if "id" in step:
            steps[step["id"]] = _read_github_file(github_output)
    run.steps = steps
    run.outputs = {
        name: GITHUB_EXPRESSION.sub(
            lambda m: _github_value(m.group(1), values, steps), spec["value"]
        )
        for name, spec in action.get("outputs", {}).items()
    }
    return run


@dataclass
class TaskRun:
    """A Task's run: the exit code of the first failing step (0 when all passed), the results."""

    returncode: int
    results: dict[str, str]
    stdout: str = ""
    stderr: str = ""


def run_tekton_task(
    task_file: Path,
    params: dict[str, str],
    workspaces: dict[str, Path],
    secrets: dict[str, dict[str, str]],
    env: dict[str, str],
    work: Path,
    image: tuple[Path, str] | None = None,
) -> TaskRun:
    """Run each step's script on this machine, or with image=(podman, image) in that image
    as UID 1001 on the host's network (workspaces and results mounted at the same paths),
    with Tekton's variable
    substitution in env values, workspaces as directories (unbound ones empty), secretKeyRef
    env from `secrets` (an optional key that is absent leaves the variable unset)."""
    task: dict[str, Any] = yaml.safe_load(task_file.read_text())
    spec = task["spec"]
    declared = {p["name"]: p for p in spec.get("params", [])}
    unknown = set(params) - set(declared)
    assert not unknown, f"params the Task does not declare: {unknown}"
    values = {name: str(p.get("default", "")) for name, p in declared.items() if "default" in p}
    values.update(params)
    missing = set(declared) - set(values)
    assert not missing, f"params without a value: {missing}"
    results_dir = work / "results"
    results_dir.mkdir(parents=True)
    if image is not None:  # the step's UID 1001 reads the scripts and writes the results
        work.chmod(0o755)
        results_dir.chmod(0o777)
    bound: dict[str, tuple[str, bool]] = {}
    for ws in spec.get("workspaces", []):
        name = ws["name"]
        if name in workspaces:
            bound[name] = (str(workspaces[name]), True)
        else:
            assert ws.get("optional"), f"workspace {name} is required"
            bound[name] = ("", False)

    def substitute(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            kind, rest = match.group(1), match.group(2)
            if kind == "params":
                return values[rest]
            name, attribute = rest.rsplit(".", 1)
            if kind == "workspaces":
                path, is_bound = bound[name]
                assert attribute in ("path", "bound"), rest
                return path if attribute == "path" else str(is_bound).lower()
            assert attribute == "path", rest
            return str(results_dir / name)

        return TEKTON_VARIABLE.sub(one, text)

    run = TaskRun(0, {})
    for index, step in enumerate(spec["steps"]):
        step_env = dict(env)
        for variable in step.get("env", []):
            if "value" in variable:
                step_env[variable["name"]] = substitute(str(variable["value"]))
                continue
            ref = variable["valueFrom"]["secretKeyRef"]
            secret = secrets.get(substitute(ref["name"]), {})
            if ref["key"] in secret:
                step_env[variable["name"]] = secret[ref["key"]]
            else:
                assert ref.get("optional"), f"secret {ref['name']} has no key {ref['key']}"
        script = work / f"step-{index}"
        text = step["script"]
        # Tekton runs a script without a shebang with /bin/sh.
        script.write_text(text if text.startswith("#!") else "#!/bin/sh\n" + text)
        script.chmod(0o755)
        command = [str(script)]
        if image is not None:
            command = _in_image(image, script, step_env, [results_dir, work, *workspaces.values()])
        done = subprocess.run(
            command, env=step_env, capture_output=True, text=True, timeout=600, check=False
        )
        run.stdout += done.stdout
        run.stderr += done.stderr
        if done.returncode != 0:
            run.returncode = done.returncode
            return run
    run.results = {path.name: path.read_text() for path in results_dir.iterdir()}
    return run


def _in_image(
    image: tuple[Path, str], script: Path, env: dict[str, str], mounts: list[Path]
) -> list[str]:
    """podman run of the script as a restricted step runs: UID 1001, no capabilities, no new
    privileges. The image's own PATH and HOME stay; the step's other variables are passed."""
    podman, name = image
    command = [
        str(podman), "run", "--rm", "--network", "host", "--user", "1001",
        "--cap-drop", "all", "--security-opt", "no-new-privileges",
    ]  # fmt: skip
    for directory in {*mounts, script.parent}:
        command += ["-v", f"{directory}:{directory}"]
    for key, value in env.items():
        if key not in ("PATH", "HOME"):
            command += ["-e", f"{key}={value}"]
    return [*command, "--entrypoint", "/bin/sh", name, str(script)]
