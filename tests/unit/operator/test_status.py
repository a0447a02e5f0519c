"""Conditions from workload status, and the Lease's expiry."""

from __future__ import annotations

import datetime

from artifact_store_operator.leader import expired
from artifact_store_operator.status import conditions, with_transitions


def _deployment(available: int, generation: int = 2, observed: int = 2) -> dict[str, object]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": observed,
            "updatedReplicas": available,
            "availableReplicas": available,
        },
    }


def _by_type(found: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["type"]: c for c in found}


def test_available_when_gateway_and_zot_are_ready() -> None:
    zot = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            "readyReplicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
        },
    }
    found = _by_type(conditions(5, _deployment(1), zot, True, None))
    assert found["Available"]["status"] == "True"
    assert found["Progressing"]["status"] == "False"
    assert found["Degraded"]["status"] == "False"
    assert {c["observedGeneration"] for c in found.values()} == {5}


def test_unavailable_and_progressing() -> None:
    found = _by_type(conditions(1, _deployment(0, generation=3, observed=2), None, False, None))
    assert (found["Available"]["status"], found["Available"]["reason"]) == (
        "False",
        "GatewayUnavailable",
    )
    assert found["Progressing"]["status"] == "True"
    missing = _by_type(conditions(1, None, None, False, None))
    assert missing["Available"]["reason"] == "GatewayMissing"


def test_degraded_on_error_or_stuck_rollout() -> None:
    assert _by_type(conditions(1, _deployment(1), None, False, "boom"))["Degraded"] == {
        "type": "Degraded",
        "status": "True",
        "reason": "ReconcileFailed",
        "message": "boom",
        "observedGeneration": 1,
    }
    stuck = _deployment(0)
    stuck["status"]["conditions"] = [
        {
            "type": "Progressing",
            "status": "False",  # type: ignore[index]
            "reason": "ProgressDeadlineExceeded",
            "message": "late",
        }
    ]
    assert _by_type(conditions(1, stuck, None, False, None))["Degraded"]["reason"] == "RolloutStuck"


def test_transition_time_kept_while_status_unchanged() -> None:
    old = [{"type": "Available", "status": "True", "lastTransitionTime": "T0"}]
    new = [{"type": "Available", "status": "True"}, {"type": "Degraded", "status": "False"}]
    stamped = with_transitions(new, old, "T1")
    assert [c["lastTransitionTime"] for c in stamped] == ["T0", "T1"]
    flipped = with_transitions([{"type": "Available", "status": "False"}], old, "T2")
    assert flipped[0]["lastTransitionTime"] == "T2"


def test_lease_expiry() -> None:
    now = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)
    lease = {
        "spec": {
            "holderIdentity": "a",
            "leaseDurationSeconds": 15,
            "renewTime": "2026-01-01T11:59:50.000000Z",
        }
    }
    assert not expired(lease, now)
    assert expired(lease, now + datetime.timedelta(seconds=6))
    assert expired({"spec": {}}, now)
