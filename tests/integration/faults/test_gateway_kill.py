"""``kill -9`` of the gateway at each registry request of PutObject, UploadPart, Complete,
DeleteObject and attaching a signature (operations.py), then a restart on the same index.

The proxy stalls the operation's n-th registry request, either before any of it reaches Zot
(``request``) or once Zot answered it (``response``: Zot did the work, the gateway never
learns of it); the gateway is killed while it waits. Reads, blob uploads and referrer
listings are followed by no index write before the next request, so their ``response``
point is the next request's ``request`` point; only the writes (operations.WRITES) are
stopped at both. Afterwards, with the gateway started again:

- the key reads wholly old or wholly new; every acknowledged object reads back whole and
  nothing else is listed (checks.py);
- ``reindex --check`` finds no difference, but at the points of KNOWN, where it finds
  exactly the documented one;
- the client's retry of the operation succeeds and ends wholly new, and the check is clean
  again (test_the_index_matches_the_registry_after_every_scenario, at the end, checks every
  bucket at once).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from gateway.domain import mapping
from tests.fixtures.fault_proxy import Rule, Stage
from tests.fixtures.gateway_forks import GatewayForks
from tests.integration.faults import known
from tests.integration.faults.checks import Background, assert_objects
from tests.integration.faults.operations import OPERATIONS, Operation, points
from tests.integration.faults.stack import Stack, eventually, running


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, forks: GatewayForks) -> Iterator[Stack]:
    with running(
        tmp_path_factory.mktemp("gateway-kill"), forks, {"ARTIFACT_STORE_MIN_PART_SIZE": "1"}
    ) as s:
        warm_up(s)
        yield s


def warm_up(stack: Stack) -> None:
    """Zot has the empty config blob and the signature's document somewhere, so that with
    dedupe a HEAD for either in a new repository finds it: every run makes the same requests."""
    op = OPERATIONS["attach"](bucket="warm-up", url=stack.url)
    op.prepare()
    op.run()


def operation(stack: Stack, name: str, bucket: str) -> Operation:
    return OPERATIONS[name](bucket=bucket, url=stack.url)


def made_by(stack: Stack, op: Operation, mark: int) -> list[tuple[str, str]]:
    """The registry requests to the operation's repository since ``mark``, each target
    without the repository."""
    repository = op.repository()
    return [(m, re.sub(repository, "", t)) for m, t in stack.proxy.since(mark, repository)]


@pytest.mark.parametrize("name", OPERATIONS)
def test_a_clean_run_makes_exactly_these_requests(stack: Stack, name: str) -> None:
    op = operation(stack, name, f"clean-{name}")
    op.prepare()
    mark = stack.proxy.mark()
    op.run()
    made = made_by(stack, op, mark)
    assert len(made) == len(op.requests), made
    for (method, target), (expected, pattern) in zip(made, op.requests, strict=True):
        assert method == expected, made
        assert re.match(pattern, target), made
    assert op.read() == op.new


@pytest.mark.parametrize(("name", "n", "stage"), points())
def test_a_gateway_killed_at_each_request_leaves_old_or_new_and_recovers(
    stack: Stack, name: str, n: int, stage: Stage
) -> None:
    op = operation(stack, name, f"a-{name}-{stage[:3]}-{n}")
    op.prepare()
    old = op.tagged(stack.registry)
    stack.proxy.arm(Rule("stall", path=op.repository(), nth=n, stage=stage))
    client = Background(op.run)
    assert stack.proxy.wait_triggered(60), "the operation made fewer requests"
    stack.kill_gateway()
    stack.proxy.drop()
    assert client.join() is not None  # the client got no answer
    stack.start_gateway()
    view = op.read()
    assert view in (op.old, op.new)
    assert_objects(op, view)
    window = known.expected(op, (name, n, stage), old, *after(stack, op))
    assert stack.check_index() == window
    eventually(op.run)  # the client's retry
    assert op.read() == op.new
    assert_objects(op, op.new)
    if window:
        assert stack.check_index() == []


def after(stack: Stack, op: Operation) -> tuple[str | None, str | None]:
    """What the key's tag and part 1's tag name in the registry now."""
    part = mapping.part_tag(op.upload_id, 1) if op.upload_id else None
    return op.tagged(stack.registry), part and op.tagged(stack.registry, part)


def test_the_index_matches_the_registry_after_every_scenario(stack: Stack) -> None:
    assert stack.check_index() == []
