"""The layers hold: no upward arrows, no cycles between packages, a domain free of web, HTTP
and SQL libraries, ports reached only through the domain (as polar lints its architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

from tests.architecture import layers

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return layers.build()


@pytest.fixture(scope="module")
def edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return layers.package_graph(graph)


def allowed(source: str, target: str) -> bool:
    if source in layers.ADAPTERS:
        return target in layers.ADAPTER_IMPORTS
    if target in layers.ADAPTERS:
        return source in layers.ROOT
    return layers.rank(source) <= layers.rank(target)


def test_every_package_has_a_layer(edges: dict[str, set[str]]) -> None:
    for package in edges:
        layers.rank(package)  # KeyError names a package that is in no layer


def test_no_arrow_points_up(edges: dict[str, set[str]]) -> None:
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in edges.items()
        for target in targets
        if not allowed(source, target)
    )
    assert upward == []


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk (each reported once per back edge)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the walk's path, 2 done

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            walk(start, [start])
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_cycles_between_packages(edges: dict[str, set[str]]) -> None:
    assert cycles(edges) == []


@pytest.mark.parametrize("library", sorted(layers.DOMAIN_FORBIDDEN_EXTERNAL))
def test_the_domain_imports_no_web_http_or_sql_library(
    graph: grimp.ImportGraph, library: str
) -> None:
    if library not in graph.modules:  # nothing in the gateway imports it at all
        return
    importers = sorted(
        module
        for module in graph.find_modules_that_directly_import(library)
        if module.startswith("gateway.domain")
    )
    assert importers == []


def _store_port_uses(text: str, name: str) -> list[str]:
    """``<...store...>.index`` / ``.registry`` attribute reads in one file's text."""
    return [
        f"{name}:{node.lineno} {ast.unparse(node)}"
        for node in ast.walk(ast.parse(text, name))
        if isinstance(node, ast.Attribute)
        and node.attr in {"index", "registry"}
        and "store" in ast.unparse(node.value)
    ]


def test_only_the_domain_and_the_composition_root_touch_the_ports() -> None:
    exempt = {GATEWAY / "domain", GATEWAY / "index", GATEWAY / "registry"}
    root_files = {GATEWAY / f"{name}.py" for name in layers.ROOT}
    found = [
        use
        for path in sorted(GATEWAY.rglob("*.py"))
        if path not in root_files and not any(path.is_relative_to(place) for place in exempt)
        for use in _store_port_uses(path.read_text(), str(path.relative_to(GATEWAY.parent)))
    ]
    assert found == []


def test_the_port_scan_sees_a_port_use() -> None:
    text = (
        "async def f(request, self):\n"
        "    await store_of(request).index.get_upload('x')\n"
        "    await self.store.registry.ping()\n"
        "    return self.statement.index\n"
    )
    assert _store_port_uses(text, "probe.py") == [
        "probe.py:2 store_of(request).index",
        "probe.py:3 self.store.registry",
    ]


def test_the_architecture_doc_shows_the_current_graph(edges: dict[str, set[str]]) -> None:
    doc = (GATEWAY.parent / "docs" / "ARCHITECTURE.md").read_text()
    assert layers.mermaid(edges) in doc, "run: .venv/bin/python scripts/import_graph.py --write"


# Core domain modules that may know the supply chain: the rebuild of the index (it reads
# referrers back too) and the Signer port (receipts are signed with the deployment's key).
SUPPLY_AWARE = frozenset({"gateway.domain.reindex", "gateway.domain.ports.signer"})


def test_object_storage_reaches_the_supply_chain_only_through_its_seams(
    graph: grimp.ImportGraph,
) -> None:
    supply = "gateway.domain.supply"
    core = {
        module
        for module in graph.find_descendants("gateway.domain")
        if not module.startswith(supply)
    }
    knowing = sorted(
        module
        for module in core - SUPPLY_AWARE
        if any(
            imported == supply or imported.startswith(supply + ".")
            for imported in graph.find_modules_directly_imported_by(module)
        )
    )
    assert knowing == []
