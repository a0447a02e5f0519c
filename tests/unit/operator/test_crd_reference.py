"""docs/crd-reference.md is what scripts/crd_reference.py makes of the committed CRD."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_committed_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location(
        "crd_reference", ROOT / "scripts/crd_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    assert (ROOT / "docs" / "crd-reference.md").read_text() == expected, (
        "run: .venv/bin/python scripts/crd_reference.py"
    )
    assert "| `spec.gateway.replicas` | integer | `1` |" in expected
    assert "index.type sqlite allows one gateway replica" in expected
