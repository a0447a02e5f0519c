"""Draw the gateway's package graph (Mermaid), as docs/ARCHITECTURE.md shows it.

.venv/bin/python scripts/import_graph.py           # print it
.venv/bin/python scripts/import_graph.py --write   # replace the block in docs/ARCHITECTURE.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.architecture.layers import build, mermaid, package_graph  # noqa: E402

DOC = ROOT / "docs" / "ARCHITECTURE.md"
BEGIN, END = "<!-- import-graph:begin -->", "<!-- import-graph:end -->"


def block() -> str:
    return f"{BEGIN}\n```mermaid\n{mermaid(package_graph(build()))}\n```\n{END}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/ARCHITECTURE.md")
    args = parser.parse_args()
    if not args.write:
        print(block())
        return 0
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + block() + text[end:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
