"""Write clients/openapi.json, the JSON API's OpenAPI document as the gateway serves it at
/_artifacts/openapi.json. The three SDKs generate their types from this file; the unit test
tests/unit/test_openapi_document.py fails when it is stale, and an integration test compares it
with a live gateway's. Usage: python scripts/openapi.py [--check]"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "clients" / "openapi.json"


def document() -> dict[str, Any]:
    """The app's document; building it needs no registry, index or network."""
    from gateway.app import create_app
    from gateway.config import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(registry_url="http://127.0.0.1:1", data_dir=Path(data_dir))
        return create_app(settings, sweep=False).openapi()


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render(document())
    if "--check" in argv:
        if OUT.read_text() != text:
            print(f"{OUT} is stale: run python scripts/openapi.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
