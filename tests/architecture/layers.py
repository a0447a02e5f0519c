"""The gateway's layers (DESIGN.md, docs/ARCHITECTURE.md) as data, and its package graph.

``tests/architecture/test_layers.py`` holds the code to them; ``scripts/import_graph.py``
draws the graph that docs/ARCHITECTURE.md shows.
"""

from __future__ import annotations

from collections import defaultdict

import grimp

PACKAGE = "gateway"
# Top to bottom: a package may import its own layer's and lower layers' packages, never a
# higher one's. Arrows inside one layer are allowed as long as they make no cycle.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "composition root",
        frozenset({"__main__", "app", "management", "serving", "drain", "htpasswd"}),
    ),
    ("protocol edge", frozenset({"s3", "sts", "api", "oci", "error_table", "shedding"})),
    ("settings", frozenset({"config"})),
    ("identity and decision", frozenset({"access", "audit", "auth", "policy"})),
    ("domain", frozenset({"domain"})),
    # Metrics every layer reports to, the request's context for log lines, and tracing:
    # they import nothing else of the gateway.
    ("observability", frozenset({"observability"})),
)
# The ports' adapters: they import only the domain (its ports and values) and observability,
# and only the composition root imports them.
ADAPTERS = frozenset({"index", "registry"})
ADAPTER_IMPORTS = frozenset({"domain", "observability"})
ROOT = LAYERS[0][1]
# What the domain must never import: web frameworks, HTTP clients, SQL.
DOMAIN_FORBIDDEN_EXTERNAL = frozenset({"starlette", "fastapi", "httpx", "httpcore", "sqlalchemy"})


def rank(package: str) -> int:
    """0 for the top layer; adapters sit below the domain (they import it)."""
    for number, (_name, members) in enumerate(LAYERS):
        if package in members:
            return number
    if package in ADAPTERS:
        return len(LAYERS)
    raise KeyError(f"{PACKAGE}.{package} is in no layer: add it to tests/architecture/layers.py")


def build() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, include_external_packages=True)


def top_level(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else None


def package_graph(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    """Top-level package -> the top-level packages it imports (arrows between packages only)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for module in graph.modules:
        source = top_level(module)
        if source is None:
            continue
        edges[source]
        for imported in graph.find_modules_directly_imported_by(module):
            target = top_level(imported)
            if target is not None and target != source:
                edges[source].add(target)
    return dict(edges)


def mermaid(edges: dict[str, set[str]]) -> str:
    """The package graph as a Mermaid flowchart, one subgraph per layer, top to bottom."""
    lines = ["flowchart TD"]
    for number, (name, members) in enumerate(LAYERS):
        lines.append(f'  subgraph L{number}["{name}"]')
        lines.extend(f'    {member.strip("_")}["{member}"]' for member in sorted(members))
        lines.append("  end")
    lines.append('  subgraph adapters["adapters (of the domain\'s ports)"]')
    lines.extend(f'    {member}["{member}"]' for member in sorted(ADAPTERS))
    lines.append("  end")
    for source in sorted(edges):
        for target in sorted(edges[source]):
            lines.append(f"  {source.strip('_')} --> {target.strip('_')}")
    return "\n".join(lines)
