"""``measured``: each public coroutine method of the index timed under its own name; a
domain answer is not a failure; classmethods and private helpers are left alone."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from prometheus_client import REGISTRY

from gateway.domain.errors import NoSuchUpload
from gateway.index.measured import measured


def sample(name: str, call: str) -> float:
    return REGISTRY.get_sample_value(name, {"call": call}) or 0.0


def timed(call: str) -> float:
    return sample("artifact_store_index_call_duration_seconds_count", call)


def errors(call: str) -> float:
    return sample("artifact_store_index_errors_total", call)


@measured
class Probe:
    opened = 0

    @classmethod
    async def open(cls) -> Probe:
        cls.opened += 1
        return cls()

    async def fine(self, value: int, *, twice: bool = False) -> int:
        """Doubles."""
        return value * 2 if twice else value

    async def missing(self) -> None:
        raise NoSuchUpload()

    async def broken(self) -> None:
        raise OSError("disk I/O error")

    async def _helper(self) -> int:
        return 1

    def plain(self) -> int:
        return 2


def test_calls_are_timed_by_method_name_and_keep_their_signature() -> None:
    before = timed("fine")
    probe = asyncio.run(Probe.open())
    assert asyncio.run(probe.fine(3, twice=True)) == 6
    assert timed("fine") == before + 1
    assert inspect.iscoroutinefunction(Probe.fine)
    assert list(inspect.signature(Probe.fine).parameters) == ["self", "value", "twice"]
    assert Probe.fine.__doc__ == "Doubles."


def test_a_domain_answer_is_timed_but_no_error() -> None:
    before, failed = timed("missing"), errors("missing")
    with pytest.raises(NoSuchUpload):
        asyncio.run(Probe().missing())
    assert (timed("missing"), errors("missing")) == (before + 1, failed)


def test_a_database_failure_is_an_error() -> None:
    before, failed = timed("broken"), errors("broken")
    with pytest.raises(OSError, match="disk I/O"):
        asyncio.run(Probe().broken())
    assert (timed("broken"), errors("broken")) == (before + 1, failed + 1)


def test_classmethods_private_and_plain_methods_are_left_alone() -> None:
    before = timed("open")
    asyncio.run(Probe.open())
    assert timed("open") == before
    assert isinstance(inspect.getattr_static(Probe, "open"), classmethod)
    assert not hasattr(Probe._helper, "__wrapped__")
    assert Probe().plain() == 2
