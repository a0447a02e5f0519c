"""The registry's circuit: while Zot is unreachable, calls fail at once instead of each
waiting for a connect timeout and tying up a worker.

    closed     calls go through; ``failures`` consecutive unreachable answers open it
    open       calls fail at once (RegistryUnavailable, Retry-After: the cool-down left);
               after ``cooldown`` seconds the next call finds it half-open
    half-open  one call (the probe) goes through, the others fail at once; the probe's
               success closes the circuit, its failure opens it for another cool-down. A
               probe that has not answered within ``cooldown`` lets another one go.

Unreachable means a connection error, a timeout, or 502/503/504; any other answer (404, 400,
even 500) shows that the registry is there, and counts as a success. Each call takes a
ticket when admitted, and its outcome counts only while the circuit is still in the state
that admitted it: a slow call that started before the circuit opened cannot close it.

One circuit per process and registry, shared by the registry port and the ``/v2/`` proxy.
Written here rather than taken from PyPI: purgatory (last release 2024) routes every state
change through an async unit of work and lets every half-open call through; aiobreaker has
not been released since 2021; pybreaker and circuitbreaker are synchronous at heart and
keep no probe limit (docs/operations.md, "Registry faults").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter
from prometheus_client import Enum as StateMetric

from gateway.domain.ports.registry import RegistryUnavailable

State = Literal["closed", "open", "half_open"]

STATE = StateMetric(
    "artifact_store_registry_circuit_state",
    "The registry circuit: closed (calls go through), open (they fail at once), half_open "
    "(one probe goes through).",
    states=["closed", "half_open", "open"],
)
FAST_FAILURES = Counter(
    "artifact_store_registry_fast_failures_total",
    "Registry calls refused at once (503) because the circuit was open, by call.",
    ["call"],
)
OPENED = Counter(
    "artifact_store_registry_circuit_opened_total",
    "Times the registry circuit opened (from closed or after a failed probe).",
)


@dataclass(frozen=True)
class Ticket:
    """An admitted call: the circuit generation it was admitted in."""

    generation: int
    probe: bool = False


class CircuitOpen(RegistryUnavailable):
    """The registry was found unreachable just now: not tried, fail at once."""


class Circuit:
    def __init__(
        self,
        failures: int = 5,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or cooldown <= 0:
            raise ValueError("a circuit needs failures >= 1 and a positive cool-down")
        self.threshold, self.cooldown, self._clock = failures, cooldown, clock
        self._state: State = "closed"
        self._generation = 0
        self._failures = 0
        self._opened_at = 0.0
        self._probe_at: float | None = None  # when the half-open probe went, if one is out
        STATE.state("closed")

    @property
    def state(self) -> State:
        """The state as a call made now would find it (open turns half-open by time)."""
        if self._state == "open" and self._clock() >= self._opened_at + self.cooldown:
            return "half_open"
        return self._state

    def admit(self, call: str) -> Ticket:
        """A ticket for a call about to be sent, or :class:`CircuitOpen`."""
        now = self._clock()
        if self._state == "open" and now >= self._opened_at + self.cooldown:
            self._move("half_open")
        if self._state == "closed":
            return Ticket(self._generation)
        if self._state == "half_open" and (
            self._probe_at is None or now >= self._probe_at + self.cooldown
        ):
            self._probe_at = now
            return Ticket(self._generation, probe=True)
        FAST_FAILURES.labels(call).inc()
        left = self._opened_at + self.cooldown - now if self._state == "open" else 1.0
        raise CircuitOpen(
            f"{call}: the registry is unreachable (circuit open)",
            retry_after=max(1, math.ceil(left)),
        )

    def record(self, ticket: Ticket, ok: bool | None) -> None:
        """The outcome of an admitted call: True reached the registry, False found it
        unreachable, None says nothing (the caller went away)."""
        if ticket.generation != self._generation:
            return
        if self._state == "closed":
            if ok is None:
                return
            self._failures = 0 if ok else self._failures + 1
            if self._failures >= self.threshold:
                self._open()
        elif self._state == "half_open" and ticket.probe:
            if ok is None:
                self._probe_at = None  # let the next call probe
            elif ok:
                self._move("closed")
            else:
                self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move("open")
        OPENED.inc()

    def _move(self, state: State) -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._probe_at = None
        STATE.state(state)


class Unbroken:
    """No circuit: every call is admitted (tests, and the ``reindex`` command)."""

    def admit(self, call: str) -> Ticket:
        return Ticket(0)

    def record(self, ticket: Ticket, ok: bool | None) -> None:
        return None
