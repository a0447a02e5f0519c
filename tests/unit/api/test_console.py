"""The console's static serving (gateway/api/console.py) on a bare Starlette app: index.html
for client routes, assets cached for good, config.json, the CSP, 503 when not built."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from gateway.api.console import Console, origin_of

ISSUER = "http://127.0.0.1:8180/realms/artifact-store"


class Client:
    """GETs through httpx's ASGI transport, one event loop each."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def get(self, path: str) -> httpx.Response:
        async def ask() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
                return await http.get(path)

        return asyncio.run(ask())


def client(directory: Path, issuer: str | None = ISSUER) -> Client:
    return Client(
        Starlette(routes=[Mount("/_artifacts/ui", Console(directory, issuer, "console"))])
    )


def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<div id="app"></div>')
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    return tmp_path


def test_client_routes_get_index_html_uncached(tmp_path: Path) -> None:
    answer = client(built(tmp_path)).get("/_artifacts/ui/b/bucket/o/a/b.txt")
    assert answer.status_code == 200
    assert answer.text == '<div id="app"></div>'
    assert answer.headers["cache-control"] == "no-cache"


def test_assets_are_cached_for_good_and_missing_ones_are_404(tmp_path: Path) -> None:
    http = client(built(tmp_path))
    asset = http.get("/_artifacts/ui/assets/index-abc.js")
    assert asset.status_code == 200
    assert "immutable" in asset.headers["cache-control"]
    missing = http.get("/_artifacts/ui/assets/gone.js")
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("cache-control", "")


def test_config_names_the_realm_and_client(tmp_path: Path) -> None:
    answer = client(built(tmp_path)).get("/_artifacts/ui/config.json")
    assert answer.json() == {"issuer": ISSUER, "clientId": "console"}
    assert answer.headers["cache-control"] == "no-store"


def test_every_answer_carries_the_csp_with_the_realm_origin(tmp_path: Path) -> None:
    answer = client(built(tmp_path)).get("/_artifacts/ui/")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self' http://127.0.0.1:8180;" in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_without_an_issuer_the_csp_names_only_this_origin(tmp_path: Path) -> None:
    answer = client(built(tmp_path), issuer=None).get("/_artifacts/ui/config.json")
    assert answer.json()["issuer"] is None
    assert "connect-src 'self';" in answer.headers["content-security-policy"]


def test_not_built_is_a_503_problem_saying_how_to_build(tmp_path: Path) -> None:
    answer = client(tmp_path / "nothing").get("/_artifacts/ui/")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "scripts/console/build.sh" in answer.json()["detail"]


def test_origin_of() -> None:
    assert origin_of("https://id.example/realms/x") == "https://id.example"
    assert origin_of(None) is None
