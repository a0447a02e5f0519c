"""The console's sources as `make test` checks them: tsc (strict), eslint (typescript-eslint's
strict type-checked rules, as clients/js) and prettier, then the production build."""

from __future__ import annotations

import subprocess

from tests.integration.console.conftest import BUILD, ROOT


def test_console_typechecks_lints_formats_and_builds() -> None:
    result = subprocess.run(
        ["bash", str(BUILD), "--check"], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr[-6000:]
    assert (ROOT / "gateway" / "console_assets" / "index.html").is_file()
