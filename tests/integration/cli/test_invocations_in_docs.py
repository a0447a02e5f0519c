"""Every artifactctl command line written outside docs/cli.md (which is generated from the
command tree): in docs/ci.md, README.md, the CI integrations' scripts and the Tekton Tasks. Each
must name a command that exists and only flags that command takes, checked against the built
binary's --help, so the prose and the scripts cannot drift from the CLI."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [
    ROOT / "README.md",
    ROOT / "docs" / "ci.md",
    *sorted((ROOT / "integrations" / "github" / "scripts").glob("*.sh")),
    *sorted((ROOT / "integrations" / "tekton").glob("*.yaml")),
]
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b")


def code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines that are code: a Markdown file's fenced blocks and `inline` spans; a script's or
    Task's lines that are not comments, messages (echo) or PATH checks (command -v)."""
    lines = path.read_text().replace("\\\n", " ").splitlines()
    if path.suffix == ".md":
        found, fenced = [], False
        for number, line in enumerate(lines, 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif fenced:
                found.append((number, line))
            else:
                found += [(number, span) for span in re.findall(r"`([^`]+)`", line)]
        return found
    return [
        (number, line)
        for number, line in enumerate(lines, 1)
        if not line.lstrip().startswith("#") and "echo " not in line and "command -v" not in line
    ]


def invocations() -> list[tuple[str, str]]:
    """(where, the command line after `artifactctl`)."""
    found = []
    for path in SOURCES:
        for number, line in code_lines(path):
            for match in re.finditer(r"(?:^|[\s($])(?:\./)?artifactctl ([^|;&)]*)", line):
                found.append((f"{path.relative_to(ROOT)}:{number}", match.group(1).strip()))
    return found


def help_of(binary: Path, words: list[str]) -> str:
    done = subprocess.run(
        [str(binary), *words, "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"artifactctl {' '.join(words)} --help: {done.stderr}"
    return done.stdout


def test_there_are_invocations_to_check() -> None:
    where = {place.split(":")[0] for place, _ in invocations()}
    assert {"docs/ci.md", "integrations/github/scripts/upload.sh"} <= where


@pytest.mark.parametrize(("place", "line"), invocations())
def test_the_command_and_its_flags_exist(artifactctl: Path, place: str, line: str) -> None:
    words = shlex.split(line.replace('"$', '"X').replace("${", "X{"), comments=False)
    commands = help_of(artifactctl, [])
    path: list[str] = []
    for word in words:  # the command's words: as long as each is a subcommand of the last
        text = help_of(artifactctl, path)
        if word.startswith("-") or not re.search(rf"^\s+{re.escape(word)}\s", text, re.M):
            break
        path.append(word)
    assert path, f"{place}: `artifactctl {line}` names no command of:\n{commands}"
    text = help_of(artifactctl, path)
    for flag in FLAG.findall(" ".join(words[len(path) :])):
        assert re.search(rf"(^|\s){re.escape(flag)}[\s,=]", text), (
            f"{place}: `artifactctl {' '.join(path)}` takes no {flag}"
        )
