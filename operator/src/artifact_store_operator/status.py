"""Status conditions derived from the objects the operator manages (no kubelet guesswork):
``Available`` (the gateway, and a managed Zot, have ready replicas), ``Progressing`` (a
rollout has not finished) and ``Degraded`` (the last reconcile failed, or a rollout is stuck).
Pure: the reconciler passes in what it read."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def _condition(kind: str, ok: bool, reason: str, message: str, generation: int) -> Obj:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def _rolling(workload: Obj) -> bool:
    spec, status = workload.get("spec", {}), workload.get("status", {})
    desired = spec.get("replicas", 1)
    generation = workload.get("metadata", {}).get("generation", 0)
    return bool(
        status.get("observedGeneration", 0) < generation
        or status.get("updatedReplicas", 0) < desired
        or status.get("availableReplicas", 0) < desired
    )


def _stuck(workload: Obj) -> str | None:
    for condition in workload.get("status", {}).get("conditions", []):
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return str(condition.get("message", "ReplicaFailure"))
        if condition.get("type") == "Progressing" and condition.get("status") == "False":
            return str(condition.get("message", condition.get("reason", "not progressing")))
    return None


def conditions(
    generation: int,
    gateway: Obj | None,
    zot: Obj | None,
    zot_managed: bool,
    error: str | None,
    reason: str = "ReconcileFailed",
) -> list[Obj]:
    """The three conditions for the CR at ``generation``; ``gateway`` is the Deployment (or
    DeploymentConfig), ``zot`` the StatefulSet, as read (None: absent); ``error`` the last
    reconcile failure and ``reason`` its Degraded reason (``ReconcileFailed``, or the
    Keycloak registration's: keycloak.KeycloakError)."""
    gateway_ready = (gateway or {}).get("status", {}).get("availableReplicas", 0) or 0
    zot_ready = (zot or {}).get("status", {}).get("readyReplicas", 0) or 0
    if gateway is None:
        available = _condition(
            "Available", False, "GatewayMissing", "no gateway workload", generation
        )
    elif gateway_ready < 1:
        available = _condition(
            "Available", False, "GatewayUnavailable", "no gateway replica is available", generation
        )
    elif zot_managed and zot_ready < 1:
        available = _condition("Available", False, "ZotUnavailable", "Zot is not ready", generation)
    else:
        available = _condition(
            "Available",
            True,
            "MinimumReplicasAvailable",
            f"{gateway_ready} gateway replica(s) available",
            generation,
        )
    rolling = [w for w in (gateway, zot if zot_managed else None) if w is not None and _rolling(w)]
    progressing = (
        _condition("Progressing", True, "RollingOut", "a rollout is in progress", generation)
        if rolling or gateway is None
        else _condition(
            "Progressing", False, "Reconciled", "every workload is up to date", generation
        )
    )
    stuck = next((m for w in (gateway, zot) if w is not None and (m := _stuck(w))), None)
    if error is not None:
        degraded = _condition("Degraded", True, reason, error, generation)
    elif stuck is not None:
        degraded = _condition("Degraded", True, "RolloutStuck", stuck, generation)
    else:
        degraded = _condition("Degraded", False, "AsExpected", "", generation)
    return [available, progressing, degraded]


def with_transitions(new: list[Obj], old: list[Obj], now: str) -> list[Obj]:
    """``new`` with ``lastTransitionTime``: kept from ``old`` while the status is unchanged."""
    before = {c.get("type"): c for c in old}
    stamped = []
    for condition in new:
        previous = before.get(condition["type"])
        unchanged = previous is not None and previous.get("status") == condition["status"]
        when = previous.get("lastTransitionTime", now) if unchanged and previous else now
        stamped.append({**condition, "lastTransitionTime": when})
    return stamped
