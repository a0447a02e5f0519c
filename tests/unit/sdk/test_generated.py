"""The SDK's JSON API models are datamodel-codegen's output for clients/openapi.json: running
the generator again (with the options in clients/python/pyproject.toml) changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SDK = ROOT / "clients" / "python"
MODELS = SDK / "src" / "artifactstore" / "_generated" / "models.py"


def test_regenerating_the_models_gives_the_committed_file(tmp_path: Path) -> None:
    # The same layout (the generator formats with ruff, configured by the root pyproject).
    work = tmp_path / "clients" / "python"
    shutil.copytree(SDK, work, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    shutil.copy(ROOT / "clients" / "openapi.json", tmp_path / "clients" / "openapi.json")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "datamodel-codegen")],
        cwd=work,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    regenerated = (work / "src" / "artifactstore" / "_generated" / "models.py").read_text()
    assert regenerated == MODELS.read_text(), "run datamodel-codegen in clients/python"
