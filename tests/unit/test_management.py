"""The management port's answers, over fakes of the registry and the index: each readiness
check named with its detail, 503 when one fails or hangs, startup, and /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from prometheus_client import REGISTRY

from gateway.app import Gateway
from gateway.config import Settings
from gateway.domain.ports.registry import RegistryRejected, RegistryUnavailable
from gateway.management import Management


@dataclass
class FakeRegistry:
    failure: Exception | None = None
    hang: bool = False

    async def ping(self) -> None:
        if self.hang:
            await asyncio.sleep(30)
        if self.failure is not None:
            raise self.failure


@dataclass
class FakeIndex:
    failure: Exception | None = None
    uploads: int = 0
    probes: list[str] = field(default_factory=list)

    async def write_probe(self, name: str) -> None:
        if self.failure is not None:
            raise self.failure
        self.probes.append(name)

    async def count_live_uploads(self) -> int:
        if self.failure is not None:
            raise self.failure
        return self.uploads


@dataclass
class Fixture:
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    index: FakeIndex = field(default_factory=FakeIndex)
    started: bool = True
    jwks: Callable[[], Awaitable[tuple[bool, str]]] | None = None
    opened: bool = True

    def get(self, path: str, **headers: str) -> httpx.Response:
        store = SimpleNamespace(registry=self.registry, index=self.index)
        gateway = SimpleNamespace(
            settings=Settings(readiness_timeout_seconds=0.2),
            store=store if self.opened else None,
            jwks_ready=self.jwks,
        )
        management = Management(cast(Gateway, gateway), lambda: self.started)

        async def ask() -> httpx.Response:
            transport = httpx.ASGITransport(app=management)
            async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
                return await client.get(path, headers=headers)

        return asyncio.run(ask())


def test_livez_answers_even_while_starting() -> None:
    answer = Fixture(started=False, opened=False).get("/livez")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_startupz_follows_the_s3_listener() -> None:
    starting = Fixture(started=False).get("/startupz")
    assert (starting.status_code, starting.json()) == (503, {"status": "starting"})
    started = Fixture().get("/startupz")
    assert (started.status_code, started.json()) == (200, {"status": "started"})


def test_readyz_while_starting_names_startup() -> None:
    answer = Fixture(started=False, opened=False).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"] == {
        "startup": {"status": "failed", "detail": "the gateway is still starting"}
    }


def test_readyz_ok_names_every_check_and_writes_the_probe_row() -> None:
    fixture = Fixture()
    answer = fixture.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "checks": {
            "registry": {
                "status": "ok",
                "detail": "GET /v2/ answered with the gateway's credentials",
            },
            "index": {"status": "ok", "detail": "a write to the health table committed"},
        },
    }
    assert fixture.index.probes == ["readyz"]


@pytest.mark.parametrize(
    ("registry", "detail"),
    [
        pytest.param(
            FakeRegistry(RegistryRejected("ping: UNAUTHORIZED", status=401)),
            "ping: UNAUTHORIZED",
            id="credentials-refused",
        ),
        pytest.param(
            FakeRegistry(RegistryUnavailable("ping: ConnectError refused")),
            "ping: ConnectError refused",
            id="unreachable",
        ),
        pytest.param(FakeRegistry(hang=True), "no answer within 0.2 s", id="hangs"),
    ],
)
def test_readyz_fails_naming_the_registry(registry: FakeRegistry, detail: str) -> None:
    answer = Fixture(registry=registry).get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "failed"
    assert body["checks"]["registry"] == {"status": "failed", "detail": detail}
    assert body["checks"]["index"]["status"] == "ok"  # the others still ran


def test_readyz_fails_naming_the_index() -> None:
    answer = Fixture(index=FakeIndex(failure=OSError("attempt to write a readonly database")))
    body = answer.get("/readyz").json()
    assert body["checks"]["index"] == {
        "status": "failed",
        "detail": "attempt to write a readonly database",
    }


def test_a_failure_without_a_message_is_named_by_its_kind() -> None:
    body = Fixture(index=FakeIndex(failure=OSError())).get("/readyz").json()
    assert body["checks"]["index"]["detail"] == "OSError"


def jwks(known: bool, detail: str) -> Callable[[], Awaitable[tuple[bool, str]]]:
    async def ready() -> tuple[bool, str]:
        return known, detail

    return ready


def test_readyz_checks_the_jwks_when_keycloak_is_configured() -> None:
    ok = Fixture(jwks=jwks(True, "2 signing keys from https://kc/certs")).get("/readyz")
    assert ok.status_code == 200
    assert ok.json()["checks"]["jwks"] == {
        "status": "ok",
        "detail": "2 signing keys from https://kc/certs",
    }
    failed = Fixture(jwks=jwks(False, "no signing keys: fetching failed")).get("/readyz")
    assert failed.status_code == 503
    assert failed.json()["checks"]["jwks"] == {
        "status": "failed",
        "detail": "no signing keys: fetching failed",
    }


def uploads_gauge() -> float | None:
    return REGISTRY.get_sample_value("artifact_store_uploads_in_flight")


def test_metrics_counts_the_uploads_in_flight_when_scraped() -> None:
    answer = Fixture(index=FakeIndex(uploads=7)).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "artifact_store_uploads_in_flight 7.0" in answer.text
    assert uploads_gauge() == 7


def test_metrics_answers_when_the_index_does_not(caplog: pytest.LogCaptureFixture) -> None:
    Fixture(index=FakeIndex(uploads=3)).get("/metrics")
    answer = Fixture(index=FakeIndex(failure=OSError("database is locked"))).get("/metrics")
    assert answer.status_code == 200
    assert uploads_gauge() == 3  # the last count stands
    assert "counting uploads in flight for /metrics failed: database is locked" in caplog.text
    assert Fixture(opened=False).get("/metrics").status_code == 200


def test_openmetrics_on_request() -> None:
    answer = Fixture().get("/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert answer.headers["content-type"].startswith("application/openmetrics-text")


def test_unknown_paths_and_methods() -> None:
    assert Fixture().get("/_artifacts/readyz").status_code == 404

    async def post() -> int:
        gateway = SimpleNamespace(settings=Settings(), store=None, jwks_ready=None)
        app: Any = Management(cast(Gateway, gateway), lambda: True)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
            return (await client.post("/metrics")).status_code

    assert asyncio.run(post()) == 405
