"""The web console in a real browser: Debian's Chromium driven by Playwright (PyPI) through its
executable path, against the gateway with a real Keycloak, real Zot, and the console built from
console/ by ``scripts/console/build.sh`` (npm ci from the lockfile, vite build).

One browser for the package; a context (cookies, storage) per user. The console's public client
(``artifact-store-console`` in deploy/keycloak/) gets this gateway's URL among its redirect URIs
through Keycloak's admin API, as an operator adds a deployment's public URL. Screenshots go to
docs/images/console/ (shown in docs/console.md); axe-core (npm, console's devDependencies) checks
each page. Without npm or Chromium the tests skip, and fail under CI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.conftest import keycloak_gateway_settings
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.fixtures.tools import installed

ROOT = Path(__file__).resolve().parents[3]
BUILD = ROOT / "scripts" / "console" / "build.sh"
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / "docs" / "images" / "console"))
CLIENT_ID = "artifact-store-console"
# What the machine notes ask of a headless Chromium here: no background connections (the
# network is closed), no sandbox (root), a fresh profile (Playwright makes one).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000  # a loaded 2-core machine: the gateway may take seconds to answer
expect.set_options(timeout=TIMEOUT_MS)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def console_assets() -> Path:
    """The console, built (npm ci only when the lockfile changed; vite build, about a second)."""
    try:
        result = subprocess.run(
            ["bash", str(BUILD)], capture_output=True, text=True, timeout=900, check=False
        )
    except FileNotFoundError as error:  # pragma: no cover - bash is everywhere
        _unavailable(str(error))
    if result.returncode != 0:
        _unavailable(
            f"scripts/console/build.sh exited {result.returncode}: {result.stderr[-3000:]}"
        )
    built = Path(result.stdout.strip().splitlines()[-1])
    assert (built / "index.html").is_file()
    return built


def register_redirect(keycloak: RunningKeycloak, url: str) -> None:
    """Add the gateway's console URL to the console client's redirect URIs (its web origins
    follow them: ``+``), through Keycloak's admin REST API."""
    token = httpx.post(
        f"{keycloak.url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": keycloak.admin[0],
            "password": keycloak.admin[1],
        },
        timeout=30,
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    clients = f"{keycloak.url}/admin/realms/artifact-store/clients"
    found = httpx.get(clients, params={"clientId": CLIENT_ID}, headers=headers, timeout=30)
    client = found.json()[0]
    client["redirectUris"] = sorted({*client["redirectUris"], f"{url}/_artifacts/ui/*"})
    answer = httpx.put(f"{clients}/{client['id']}", json=client, headers=headers, timeout=30)
    assert answer.status_code == 204, answer.text


@pytest.fixture(scope="package")
def console_gateway(
    registry: RunningRegistry,
    keycloak: RunningKeycloak,
    console_assets: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningGateway]:
    settings = keycloak_gateway_settings(
        registry,
        keycloak,
        tmp_path_factory.mktemp("console-gateway"),
        "console",
        console_dir=console_assets,
    )
    with serve(settings) as running:
        register_redirect(keycloak, running.url)
        yield running


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = installed("chromium")
    launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


class Session:
    """One user's browser context and page, with the checks every page gets."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.context, self.base = context, base
        self.page: Page = context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.csp_violations: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def login(self, username: str, password: str) -> None:
        """Through Keycloak's own login page, as a person would."""
        page = self.page
        page.goto(f"{self.base}/_artifacts/ui/")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/protocol/openid-connect/auth**")
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("#kc-login").click()
        page.wait_for_url(f"{self.base}/_artifacts/ui/**")
        page.get_by_test_id("username").wait_for()

    def axe(self, name: str) -> None:
        """axe-core on the page as it stands: no serious or critical violation (WCAG 2 A/AA).
        The script is evaluated through the DevTools protocol (not injected as a <script>),
        so the console's CSP stays on."""
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "() => axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
        )
        serious = [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, f"axe on {name}: {json.dumps(serious, indent=1)}"

    def shot(self, name: str) -> None:
        """A full-page screenshot; a secret on the page (a new key's) is painted over."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        secrets = [self.page.get_by_test_id("new-key-secret")]
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, mask=secrets)


@pytest.fixture(scope="package")
def new_session(browser: Browser, console_gateway: RunningGateway) -> Iterator[Any]:
    contexts: list[BrowserContext] = []

    def make() -> Session:
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, accept_downloads=True
        )
        contexts.append(context)
        return Session(context, console_gateway.url)

    yield make
    for context in contexts:
        context.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
