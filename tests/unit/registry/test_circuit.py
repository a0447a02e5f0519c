"""The registry circuit (``gateway/registry/circuit.py``): its states by example, then
random sequences of calls, outcomes and time against the rules it must keep."""

from __future__ import annotations

import math

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from prometheus_client import REGISTRY

from gateway.domain.ports.registry import RegistryUnavailable
from gateway.registry.circuit import Circuit, CircuitOpen, Ticket, Unbroken


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(circuit: Circuit, times: int) -> None:
    for _ in range(times):
        circuit.record(circuit.admit("get_manifest"), False)


def state_metric(state: str) -> float:
    value = REGISTRY.get_sample_value(
        "artifact_store_registry_circuit_state", {"artifact_store_registry_circuit_state": state}
    )
    return value or 0.0


def test_consecutive_failures_open_it_and_a_success_between_resets_the_count() -> None:
    clock = Clock()
    circuit = Circuit(failures=3, cooldown=10, clock=clock)
    fail(circuit, 2)
    circuit.record(circuit.admit("head_blob"), True)
    fail(circuit, 2)
    assert circuit.state == "closed"
    fail(circuit, 1)
    assert circuit.state == "open"
    assert state_metric("open") == 1.0
    fast = REGISTRY.get_sample_value(
        "artifact_store_registry_fast_failures_total", {"call": "head_blob"}
    )
    with pytest.raises(CircuitOpen) as refused:
        circuit.admit("head_blob")
    assert isinstance(refused.value, RegistryUnavailable)  # S3 503, problem 503, OCI 503
    assert refused.value.retry_after == 10
    clock.now += 7.5
    with pytest.raises(CircuitOpen) as later:
        circuit.admit("head_blob")
    assert later.value.retry_after == 3  # the cool-down left, rounded up
    after = REGISTRY.get_sample_value(
        "artifact_store_registry_fast_failures_total", {"call": "head_blob"}
    )
    assert after == (fast or 0) + 2


def test_after_the_cool_down_one_probe_goes_and_its_success_closes_it() -> None:
    clock = Clock()
    circuit = Circuit(failures=1, cooldown=5, clock=clock)
    fail(circuit, 1)
    clock.now += 5
    assert circuit.state == "half_open"
    probe = circuit.admit("ping")
    assert probe.probe
    with pytest.raises(CircuitOpen) as refused:
        circuit.admit("get_blob")  # the probe is out: the others still fail fast
    assert refused.value.retry_after == 1
    circuit.record(probe, True)
    assert circuit.state == "closed"
    circuit.record(circuit.admit("get_blob"), True)


def test_a_failed_probe_opens_it_for_another_cool_down() -> None:
    clock = Clock()
    circuit = Circuit(failures=2, cooldown=5, clock=clock)
    fail(circuit, 2)
    clock.now += 6
    circuit.record(circuit.admit("ping"), False)
    assert circuit.state == "open"
    clock.now += 4.9
    with pytest.raises(CircuitOpen):
        circuit.admit("ping")
    clock.now += 0.1
    assert circuit.admit("ping").probe


def test_a_probe_that_never_answers_lets_another_go_after_a_cool_down() -> None:
    clock = Clock()
    circuit = Circuit(failures=1, cooldown=5, clock=clock)
    fail(circuit, 1)
    clock.now += 5
    hung = circuit.admit("ping")
    clock.now += 4
    with pytest.raises(CircuitOpen):
        circuit.admit("ping")
    clock.now += 1
    second = circuit.admit("ping")
    circuit.record(second, True)
    assert circuit.state == "closed"
    circuit.record(hung, False)  # answered at last, in a generation long gone
    assert circuit.state == "closed"


def test_a_probe_whose_caller_went_away_frees_the_probe_at_once() -> None:
    clock = Clock()
    circuit = Circuit(failures=1, cooldown=5, clock=clock)
    fail(circuit, 1)
    clock.now += 5
    circuit.record(circuit.admit("ping"), None)
    assert circuit.admit("ping").probe


def test_late_outcomes_of_calls_admitted_before_it_opened_change_nothing() -> None:
    clock = Clock()
    circuit = Circuit(failures=2, cooldown=5, clock=clock)
    slow = circuit.admit("get_blob")
    fail(circuit, 2)
    circuit.record(slow, True)
    assert circuit.state == "open"
    # A neutral outcome in the closed state counts as nothing.
    clock.now += 5
    circuit.record(circuit.admit("ping"), True)
    circuit.record(circuit.admit("x"), False)
    circuit.record(circuit.admit("x"), None)
    circuit.record(circuit.admit("x"), False)
    assert circuit.state == "open"


def test_failures_of_calls_from_before_the_last_close_do_not_count() -> None:
    clock = Clock()
    circuit = Circuit(failures=2, cooldown=5, clock=clock)
    stale = [circuit.admit("get_blob") for _ in range(2)]
    fail(circuit, 2)
    clock.now += 5
    circuit.record(circuit.admit("ping"), True)
    assert circuit.state == "closed"
    for ticket in stale:  # they hung through the outage and fail now
        circuit.record(ticket, False)
    fail(circuit, 1)
    assert circuit.state == "closed"  # one failure of this generation, not three


def test_bad_settings_are_refused_and_unbroken_admits_everything() -> None:
    with pytest.raises(ValueError, match="failures >= 1"):
        Circuit(failures=0)
    with pytest.raises(ValueError, match="positive cool-down"):
        Circuit(cooldown=0)
    unbroken = Unbroken()
    for _ in range(100):
        unbroken.record(unbroken.admit("x"), False)
    assert unbroken.admit("x") == Ticket(0)


class CircuitRules(RuleBasedStateMachine):
    """Random calls, outcomes (in any order) and time; after each step the circuit must
    agree with what a plain reading of the rules says it may do."""

    THRESHOLD, COOLDOWN = 2, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.circuit = Circuit(self.THRESHOLD, self.COOLDOWN, clock=self.clock)
        self.out: list[tuple[Ticket, str]] = []  # admitted calls and the state they met
        self.streak = 0  # consecutive failures recorded while closed, this generation
        self.opened_at: float | None = None
        self.probe_at: float | None = None

    @rule()
    def call(self) -> None:
        before = self.circuit.state
        refused: CircuitOpen | None = None
        try:
            ticket = self.circuit.admit("call")
        except CircuitOpen as exc:
            refused = exc
        if refused is not None:
            assert before in ("open", "half_open")
            if before == "open":
                assert self.opened_at is not None
                left = self.opened_at + self.COOLDOWN - self.clock.now
                assert refused.retry_after == max(1, math.ceil(left))
            else:  # a probe is out and young
                assert self.probe_at is not None
                assert self.clock.now < self.probe_at + self.COOLDOWN
            return
        assert before in ("closed", "half_open")
        if before == "half_open":
            assert ticket.probe
            assert self.probe_at is None or self.clock.now >= self.probe_at + self.COOLDOWN
            self.probe_at = self.clock.now
        self.out.append((ticket, before))

    @precondition(lambda self: bool(self.out))
    @rule(which=st.integers(min_value=0), ok=st.sampled_from([True, False, None]))
    def answer(self, which: int, ok: bool | None) -> None:
        ticket, met = self.out.pop(which % len(self.out))
        current = ticket.generation == self.circuit._generation  # admitted in this state
        before = self.circuit.state
        self.circuit.record(ticket, ok)
        after = self.circuit.state
        if not current:  # a late answer: changes nothing
            assert after == before
            return
        if met == "closed":
            if ok is not None:
                self.streak = 0 if ok else self.streak + 1
            if self.streak >= self.THRESHOLD:
                assert after == "open"
                self.opened_at, self.streak = self.clock.now, 0
            else:
                assert after == "closed"
            return
        assert ticket.probe
        if ok is None:  # the caller went away: the next call may probe
            assert after == "half_open"
            self.probe_at = None
            return
        assert after == ("closed" if ok else "open")
        self.probe_at = None
        if not ok:
            self.opened_at = self.clock.now

    @rule(seconds=st.floats(min_value=0, max_value=25))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @invariant()
    def never_closes_while_refusing(self) -> None:
        if self.circuit.state == "open":
            assert self.opened_at is not None
            assert self.clock.now < self.opened_at + self.COOLDOWN


CircuitRules.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
test_circuit_rules = CircuitRules.TestCase
