"""The OCI distribution-spec conformance suite through the gateway, against the same suite on
Zot directly in the same session: every test Zot alone passes passes through the gateway.
The suite logs in as a Keycloak user (an admin: its content-management tests delete), so
each of its requests goes through the challenge, the token endpoint's password grant and
a decision.

Each run gets a fresh Zot of its own: the suite pushes some blobs with fixed contents, and
on a Zot that already holds them elsewhere (dedupe) a deleted blob still answers a HEAD with
200 (../shared/TOOLING.md), so a second run on one registry fails tests the first passed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import gateway_settings
from tests.fixtures.conformance import FAILED, PASSED, read_junit, run_conformance
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import start
from tests.fixtures.servers import serve

MIN_TESTS = 600  # the pinned suite has 695 cases; far fewer means sections did not run


def _run(url: str, user: str | None, password: str | None, workdir: Path) -> dict[str, str]:
    prefix = f"conformance-{uuid.uuid4().hex[:8]}"
    return run_conformance(
        url,
        username=user,
        password=password,
        repo1=f"{prefix}/repo1",
        repo2=f"{prefix}/repo2",
        workdir=workdir,
    )


@pytest.fixture(scope="module")
def both(
    keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[dict[str, str], dict[str, str], Path]]:
    alone = start(tmp_path_factory.mktemp("zot-alone"))
    behind = start(tmp_path_factory.mktemp("zot-behind"))
    try:
        username, password = alone.auth or (None, None)
        direct = _run(alone.url, username, password, tmp_path_factory.mktemp("direct"))
        settings = gateway_settings(
            behind,
            tmp_path_factory.mktemp("conformance-gateway"),
            oidc_issuer=keycloak.issuer(),
            oidc_jwks_url=keycloak.jwks_url(),
        )
        workdir = tmp_path_factory.mktemp("through-gateway")
        with serve(settings) as gateway:
            through = _run(gateway.url, "carol", keycloak.passwords["carol"], workdir)
        yield direct, through, workdir
    finally:
        alone.stop()
        behind.stop()


def test_the_same_tests_run_both_ways(both: tuple[dict[str, str], dict[str, str], Path]) -> None:
    direct, through, _ = both
    assert len(direct) >= MIN_TESTS
    assert set(through) == set(direct)


def test_the_gateway_fails_no_test_zot_passes(
    both: tuple[dict[str, str], dict[str, str], Path],
) -> None:
    direct, through, workdir = both
    regressions = {
        name for name, status in through.items() if status == FAILED and direct[name] == PASSED
    }
    details = {
        case.name: case.details
        for case in read_junit(workdir / "junit.xml")
        if case.name in regressions
    }
    assert not regressions, json.dumps(details, indent=2)
    passed = sum(1 for status in through.values() if status == PASSED)
    assert passed >= sum(1 for status in direct.values() if status == PASSED)
