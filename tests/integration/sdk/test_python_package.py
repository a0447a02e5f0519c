"""The Python SDK builds as a distribution of its own: a wheel with the package, its
generated models, the py.typed marker and the runtime dependencies, nothing of the gateway."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.integration.sdk.conftest import ROOT


def uv() -> list[str]:
    """uv as scripts/lib.sh finds it: on PATH, in the project's cache, or ``python3 -m uv``."""
    found = shutil.which("uv") or str(Path.home() / ".cache" / "artifact-store" / "bin" / "uv")
    if Path(found).exists():
        return [found]
    module = ["python3", "-m", "uv"]
    if subprocess.run([*module, "--version"], capture_output=True, check=False).returncode == 0:
        return module
    if os.environ.get("CI"):
        pytest.fail("uv is required in CI (scripts/lib.sh installs it)")
    pytest.skip("uv not found")


def test_the_sdk_builds_as_a_wheel(tmp_path: Path) -> None:
    result = subprocess.run(
        [*uv(), "build", "--package", "artifact-store-sdk", "--wheel", "-o", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("artifact_store_sdk-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(
            archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA")
        )
    assert {"artifactstore/py.typed", "artifactstore/_generated/models.py"} <= names
    assert not any(n.startswith(("gateway/", "tests/")) for n in names)
    for requirement in ("boto3", "httpx", "python-keycloak", "awscrt", "cryptography"):
        assert f"Requires-Dist: {requirement}" in metadata
