"""``kill -9`` of Zot at each registry request of the same operations as
test_gateway_kill.py, then Zot started again on the same storage; the gateway is never
restarted.

The proxy stalls the n-th request (before Zot sees it, or once Zot answered it); Zot is
killed while it waits, and the proxy resets the stalled connection. The client gets an
answer at once: a success (what failed was best effort, such as deleting an old version's
manifest) or a clean S3 503 ServiceUnavailable (JSON API: 503), never another error. Once
Zot is back the same gateway process serves again without a restart, and as after a
gateway kill: the key reads wholly old or wholly new, every acknowledged object reads back,
``reindex --check`` finds nothing but the documented windows (known.py), and the client's
retry ends wholly new.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.fixtures.fault_proxy import Rule, Stage
from tests.fixtures.gateway_forks import GatewayForks
from tests.integration.faults import known
from tests.integration.faults.checks import Background, assert_objects
from tests.integration.faults.operations import points
from tests.integration.faults.stack import Stack, eventually, running
from tests.integration.faults.test_gateway_kill import after, operation, warm_up

# The registry circuit's cool-down. The circuit is per worker process: after a case, a worker
# that the client's retries did not reach may still hold its circuit open (failing fast, by
# design) until the cool-down has passed, so each case starts after one.
COOLDOWN = 1

# A clean failure: what S3 clients retry (the JSON API's own 503 problem for attach).
CLEAN = {"ServiceUnavailable", "SlowDown", "503"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, forks: GatewayForks) -> Iterator[Stack]:
    with running(
        tmp_path_factory.mktemp("registry-kill"),
        forks,
        {
            "ARTIFACT_STORE_MIN_PART_SIZE": "1",
            "ARTIFACT_STORE_REGISTRY_CIRCUIT_COOLDOWN_SECONDS": str(COOLDOWN),
        },
    ) as s:
        warm_up(s)
        yield s


@pytest.mark.parametrize(("name", "n", "stage"), points())
def test_zot_killed_at_each_request_leaves_old_or_new_and_the_gateway_recovers(
    stack: Stack, name: str, n: int, stage: Stage
) -> None:
    op = operation(stack, name, f"b-{name}-{stage[:3]}-{n}")
    time.sleep(COOLDOWN + 0.2)  # every worker's circuit half-open at most (see COOLDOWN)
    op.prepare()
    old = op.tagged(stack.registry)
    gateway = stack.gateway.pid
    stack.proxy.arm(Rule("stall", path=op.repository(), nth=n, stage=stage))
    client = Background(op.run)
    assert stack.proxy.wait_triggered(60), "the operation made fewer requests"
    stack.kill_registry()
    stack.proxy.drop()
    error = client.join()
    if error is not None:
        assert isinstance(error, ClientError), repr(error)
        assert error.response["Error"]["Code"] in CLEAN, error.response
    stack.restart_registry()
    view = eventually(op.read)
    assert view in (op.old, op.new)
    assert_objects(op, view)
    window = known.expected(op, (name, n, stage), old, *after(stack, op))
    assert stack.check_index() == window
    eventually(op.run)  # the client's retry
    assert op.read() == op.new
    assert_objects(op, op.new)
    if window:
        assert stack.check_index() == []
    assert (stack.gateway.pid, stack.gateway.alive()) == (gateway, True)


def test_the_index_matches_the_registry_after_every_scenario(stack: Stack) -> None:
    assert stack.check_index() == []
    assert httpx.get(f"{stack.url}/_artifacts/readyz", timeout=5).status_code == 200
