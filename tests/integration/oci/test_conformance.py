"""The OCI distribution-spec conformance suite through the gateway, against the same suite on
Zot directly in the same session: every test Zot alone passes passes through the gateway.
The suite logs in as a Keycloak user (an admin: its content-management tests delete), so
each of its requests goes through the challenge, the token endpoint's password grant and
a decision."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.fixtures.conformance import FAILED, PASSED, read_junit, run_conformance
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway

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
    registry: RunningRegistry,
    oci_gateway: RunningGateway,
    keycloak: RunningKeycloak,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, str], dict[str, str], Path]:
    username, password = registry.auth or (None, None)
    direct = _run(registry.url, username, password, tmp_path_factory.mktemp("direct"))
    workdir = tmp_path_factory.mktemp("through-gateway")
    through = _run(oci_gateway.url, "carol", keycloak.passwords["carol"], workdir)
    return direct, through, workdir


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
