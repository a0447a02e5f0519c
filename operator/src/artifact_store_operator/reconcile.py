"""One reconcile of an ArtifactStore: generated Secrets created once, every managed component's
objects server-side applied, objects a managed component no longer renders deleted, status
conditions derived from the workloads. Unmanaged components are neither applied nor pruned, and
their objects are released: the CR's ownerReference is removed, so the garbage collector does
not delete them with the CR.
And the finalizer's cleanup: the API server's garbage collector deletes owned objects
eventually and in no order; the operator deletes its objects itself, the gateway before Zot."""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram

from . import GROUP, VERSION, keycloak
from .kube import ApiError, Kube
from .render import COMPONENT_LABEL, RENDERERS, names, render
from .secrets import generated, generated_for
from .spec import COMPONENT_KINDS, Obj, effective, managed, registers
from .status import conditions, with_transitions

RECONCILES = Counter(
    "artifact_store_operator_reconciles_total", "Reconciles by result.", ["result"]
)
DURATION = Histogram("artifact_store_operator_reconcile_seconds", "Time of one reconcile.")
APPLIED = Counter(
    "artifact_store_operator_applied_objects_total", "Objects applied, by kind.", ["kind"]
)

# Kinds a managed component may stop rendering (a disabled PDB, NetworkPolicy, PVC...).
PRUNABLE = (
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "ServiceAccount"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("apps/v1", "Deployment"),
    ("apps.openshift.io/v1", "DeploymentConfig"),
)
# Cleanup order: entry points first, then the gateway, then the registry it writes to.
CLEANUP_ORDER = ("route", "monitoring", "gateway", "index", "zot")


def owner_of(body: Obj) -> Obj:
    meta = body["metadata"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ArtifactStore",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"]},
    }


def _owned(obj: Obj, uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences", []))


async def _prune(kube: Kube, owner: Obj, spec: Obj, rendered: dict[str, list[Obj]]) -> None:
    meta = owner["metadata"]
    wanted = {(o["kind"], o["metadata"]["name"]) for objs in rendered.values() for o in objs}
    for kind_name in COMPONENT_KINDS:
        if not managed(spec, kind_name):
            continue
        selector = f"app.kubernetes.io/instance={meta['name']},{COMPONENT_LABEL}={kind_name}"
        for api_version, kind in PRUNABLE:
            try:
                found = await kube.list(api_version, kind, meta["namespace"], selector)
            except ApiError as error:
                if error.status == 404:  # the kind is not served (no CRD): nothing to prune
                    continue
                raise
            for obj in found:
                key = (kind, obj["metadata"]["name"])
                if key not in wanted and _owned(obj, meta["uid"]):
                    await kube.delete(api_version, kind, meta["namespace"], key[1])


RELEASED = Counter(
    "artifact_store_operator_released_objects_total",
    "Objects of unmanaged components whose owner reference to the CR was removed, by kind.",
    ["kind"],
)


async def _release(kube: Kube, owner: Obj, spec: Obj) -> None:
    """Each unmanaged component's objects lose the CR's ownerReference (and nothing else): the
    operator left them, so the garbage collector must not delete them with the CR. The candidates
    are what the component renders and generates for the spec as it is, plus what the prunable
    kinds' label selector finds (the spec may have changed since they were made)."""
    meta = owner["metadata"]
    namespace, uid = meta["namespace"], meta["uid"]
    for kind_name in COMPONENT_KINDS:
        if managed(spec, kind_name):
            continue
        candidates: dict[tuple[str, str, str], None] = {}
        renderer = RENDERERS.get(kind_name)
        for obj in (renderer(owner, spec) if renderer else []) + generated_for(
            owner, spec, kind_name
        ):
            candidates[(obj["apiVersion"], obj["kind"], obj["metadata"]["name"])] = None
        if kind_name == "keycloak":  # written by the registration, when it ran
            candidates[("v1", "Secret", names(meta["name"])["keycloakClient"])] = None
        selector = f"app.kubernetes.io/instance={meta['name']},{COMPONENT_LABEL}={kind_name}"
        # keycloak renders no objects (only the Secret above): no lists on every resync for it.
        for api_version, kind in PRUNABLE if renderer else ():
            try:
                found = await kube.list(api_version, kind, namespace, selector)
            except ApiError as error:
                if error.status == 404:
                    continue
                raise
            for obj in found:
                candidates[(api_version, kind, obj["metadata"]["name"])] = None
        for api_version, kind, name in candidates:
            try:
                current = await kube.get(api_version, kind, namespace, name)
            except ApiError as error:
                if error.status == 404:  # the kind is not served
                    continue
                raise
            refs = (current or {}).get("metadata", {}).get("ownerReferences", [])
            for index, ref in enumerate(refs):
                if ref.get("uid") == uid:
                    # Conditional on the list being as read: a concurrent change fails the patch
                    # and the next reconcile tries again.
                    await kube.patch_json(
                        api_version,
                        kind,
                        namespace,
                        name,
                        [
                            {
                                "op": "test",
                                "path": f"/metadata/ownerReferences/{index}/uid",
                                "value": uid,
                            },
                            {"op": "remove", "path": f"/metadata/ownerReferences/{index}"},
                        ],
                    )
                    RELEASED.labels(kind).inc()
                    break


async def apply_all(kube: Kube, body: Obj) -> None:
    """Secrets, then every managed component's objects, then the prune."""
    owner, spec = owner_of(body), effective(body.get("spec", {}))
    for secret in generated(owner, spec):
        existing = await kube.get(
            "v1", "Secret", owner["metadata"]["namespace"], secret["metadata"]["name"]
        )
        if existing is None:
            await kube.create(secret)
    rendered = render(owner, spec)
    for objects in rendered.values():
        for obj in objects:
            await kube.apply(obj)
            APPLIED.labels(obj["kind"]).inc()
    await _prune(kube, owner, spec, rendered)
    await _release(kube, owner, spec)
    if registers(spec):
        await keycloak.register(kube, owner, spec)


async def update_status(
    kube: Kube, body: Obj, error: str | None, reason: str = "ReconcileFailed"
) -> None:
    """Conditions from the gateway workload and Zot's StatefulSet as they are now."""
    meta = body["metadata"]
    spec = effective(body.get("spec", {}))
    n = names(meta["name"])
    if spec["gateway"]["workload"] == "DeploymentConfig":
        gateway = await kube.get(
            "apps.openshift.io/v1", "DeploymentConfig", meta["namespace"], n["gateway"]
        )
    else:
        gateway = await kube.get("apps/v1", "Deployment", meta["namespace"], n["gateway"])
    zot_managed = managed(spec, "zot")
    zot = (
        await kube.get("apps/v1", "StatefulSet", meta["namespace"], n["zot"])
        if zot_managed
        else None
    )
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    generation = meta.get("generation", 0)
    old = body.get("status", {}).get("conditions", [])
    new = with_transitions(
        conditions(generation, gateway, zot, zot_managed, error, reason), old, now
    )
    status: Obj = {
        "observedGeneration": generation,
        "conditions": new,
        "gatewayReplicas": (gateway or {}).get("status", {}).get("availableReplicas", 0) or 0,
        "available": new[0]["status"],
        "components": [{"kind": k, "managed": managed(spec, k)} for k in COMPONENT_KINDS],
    }
    if status != {key: body.get("status", {}).get(key) for key in status}:
        await kube.patch_status(body, status)


async def reconcile(kube: Kube, body: Obj, logger: logging.Logger | Any) -> None:
    """Apply, then record the outcome in the status; a failure is raised again after the
    Degraded condition says why (kopf retries)."""
    started = time.monotonic()
    error: Exception | None = None
    try:
        await apply_all(kube, body)
    except Exception as failure:
        error = failure
    try:
        await update_status(
            kube,
            body,
            None if error is None else str(error),
            error.reason if isinstance(error, keycloak.KeycloakError) else "ReconcileFailed",
        )
    finally:
        DURATION.observe(time.monotonic() - started)
        RECONCILES.labels("error" if error else "ok").inc()
    if error is not None:
        logger.warning("reconcile of %s failed: %s", body["metadata"]["name"], error)
        raise error


async def cleanup(kube: Kube, body: Obj) -> None:
    """Delete every object of the managed components and the Secrets the operator generated;
    unmanaged components' objects stay."""
    owner, spec = owner_of(body), effective(body.get("spec", {}))
    rendered = render(owner, spec)
    namespace = owner["metadata"]["namespace"]
    for kind_name in CLEANUP_ORDER:
        for obj in reversed(rendered.get(kind_name, [])):
            try:
                await kube.delete(
                    obj["apiVersion"], obj["kind"], namespace, obj["metadata"]["name"]
                )
            except ApiError as error:
                if error.status != 404:
                    raise
    secrets = [s["metadata"]["name"] for s in generated(owner, spec)]  # the names only
    if registers(spec) and not spec["keycloak"]["clientSecret"]["existingSecret"]:
        secrets.append(names(owner["metadata"]["name"])["keycloakClient"])
    for secret in secrets:
        await kube.delete("v1", "Secret", namespace, secret)
