"""An offline admission check of a pod spec against an OpenShift SCC (restricted-v2), for
what the chart controls: volume types, host namespaces, ports and paths, privilege, the
user (MustRunAsRange without a range in the SCC: the namespace assigns the UID, so a pod
may not fix one, and must run as non-root), escalation, capabilities (required drops,
allowed adds), seccomp, SELinux, and fsGroup/supplementalGroups (no fixed values: the
namespace's ranges are unknown offline, so a fixed group could fall outside them).

Stricter than the admission plugin where the plugin would default a field (it sets
allowPrivilegeEscalation false and adds drops): the chart must say it itself, so the same
pod spec also passes Kubernetes' Pod Security "restricted" level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

RESTRICTED_V2 = Path(__file__).with_name("restricted-v2.yaml")

Doc = dict[str, Any]


def restricted_v2() -> Doc:
    loaded: Doc = yaml.safe_load(RESTRICTED_V2.read_text())
    return loaded


def violations(pod: Doc, scc: Doc) -> list[str]:
    """Why the SCC refuses the pod spec (empty: admitted)."""
    found: list[str] = []
    for host in ("Network", "PID", "IPC"):
        if pod.get(f"host{host}") and not scc[f"allowHost{host}"]:
            found.append(f"host{host}")
    for volume in pod.get("volumes", []):
        kinds = [key for key in volume if key != "name"]
        for kind in kinds:
            if kind not in scc["volumes"] and "*" not in scc["volumes"]:
                found.append(f"volume {volume['name']}: type {kind}")
    pod_context = pod.get("securityContext", {})
    found += _groups(pod_context, scc)
    if "seLinuxOptions" in pod_context and scc["seLinuxContext"]["type"] == "MustRunAs":
        found.append("pod: fixed seLinuxOptions")
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        found += [f"{container['name']}: {why}" for why in _container(container, pod_context, scc)]
    return found


def _groups(context: Doc, scc: Doc) -> list[str]:
    found = []
    if "fsGroup" in context and scc["fsGroup"]["type"] != "RunAsAny":
        found.append("pod: fixed fsGroup")
    if context.get("supplementalGroups"):
        found.append("pod: fixed supplementalGroups")
    return found


def _container(container: Doc, pod_context: Doc, scc: Doc) -> list[str]:
    found = []
    context = container.get("securityContext", {})

    def effective(key: str) -> Any:
        return context.get(key, pod_context.get(key))

    if context.get("privileged") and not scc["allowPrivilegedContainer"]:
        found.append("privileged")
    if context.get("allowPrivilegeEscalation") is not False and not scc["allowPrivilegeEscalation"]:
        found.append("allowPrivilegeEscalation is not false")
    assigned = (
        scc["runAsUser"]["type"] == "MustRunAsRange" and "uidRangeMin" not in scc["runAsUser"]
    )
    if assigned and effective("runAsUser") is not None:
        found.append("fixed runAsUser (the namespace assigns the UID)")
    if effective("runAsNonRoot") is not True:
        found.append("runAsNonRoot is not true")
    if "seLinuxOptions" in context and scc["seLinuxContext"]["type"] == "MustRunAs":
        found.append("fixed seLinuxOptions")
    capabilities = context.get("capabilities", {})
    for required in scc["requiredDropCapabilities"] or []:
        if required not in capabilities.get("drop", []):
            found.append(f"capability {required} not dropped")
    for added in capabilities.get("add", []):
        if added not in (scc["allowedCapabilities"] or []):
            found.append(f"capability {added} added")
    seccomp = effective("seccompProfile") or {}
    allowed = {"runtime/default": "RuntimeDefault", "docker/default": "RuntimeDefault"}
    if seccomp.get("type") not in {allowed.get(p, p) for p in scc["seccompProfiles"] or []}:
        found.append(f"seccompProfile {seccomp.get('type')}")
    for port in container.get("ports", []):
        if "hostPort" in port and not scc["allowHostPorts"]:
            found.append(f"hostPort {port['hostPort']}")
    if context.get("procMount", "Default") != "Default":
        found.append("procMount")
    return found
