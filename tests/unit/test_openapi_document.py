"""clients/openapi.json, the source of the SDKs' generated types, is the app's document."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts/openapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_document_is_up_to_date() -> None:
    script = load_script()
    committed = (ROOT / "clients" / "openapi.json").read_text()
    assert committed == script.render(script.document()), "run: .venv/bin/python scripts/openapi.py"
    paths = json.loads(committed)["paths"]
    assert "/_artifacts/referrers/{bucket}" in paths
    assert "/_artifacts/verify/{bucket}" in paths


def test_check_flag_reports_a_stale_file(tmp_path: Path) -> None:
    script = load_script()
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n")
    script.OUT = stale
    assert script.main(["--check"]) == 1
    assert script.main([]) == 0
    assert script.main(["--check"]) == 0
