"""The ArtifactStore spec with its defaults: the same vocabulary as the Helm chart's values
(one configuration language for container, chart and operator), plus QuayRegistry-style
``components``. Pure functions: the rendering and the tests start from :func:`effective`."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

GATEWAY_IMAGE = "quay.io/artifact-store/gateway"
ZOT_IMAGE = "quay.io/artifact-store/zot"
PROJECT_VERSION = "0.1.0"
COMPONENT_KINDS = ("gateway", "zot", "index", "keycloak", "route", "monitoring")

DEFAULTS: Obj = {
    "image": {"repository": GATEWAY_IMAGE, "tag": "", "pullPolicy": "IfNotPresent"},
    "imagePullSecrets": [],
    "gateway": {
        "replicas": 1,
        "workload": "Deployment",
        "workers": 2,
        "logLevel": "info",
        "settings": {},
        "rootCredentials": {"existingSecret": ""},
        "credentialsKey": {"existingSecret": ""},
        "receiptKey": {"existingSecret": ""},
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "nodeSelector": {},
        "tolerations": [],
        "affinity": {},
    },
    "zot": {
        "managed": True,
        "image": {"repository": ZOT_IMAGE, "tag": "v2.1.20", "pullPolicy": "IfNotPresent"},
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "storage": {
            "type": "pvc",
            "pvc": {"size": "50Gi", "storageClass": "", "accessMode": "ReadWriteOnce"},
            "s3": {
                "bucket": "",
                "region": "us-east-1",
                "endpoint": "",
                "rootDirectory": "/zot",
                "forcePathStyle": True,
                "secure": True,
                "existingSecret": "",
            },
        },
        "gc": {"delay": "1h", "interval": "24h"},
        "credentials": {"existingSecret": ""},
        "external": {"url": ""},
    },
    "index": {
        "type": "sqlite",
        "sqlite": {"size": "1Gi", "storageClass": ""},
        "postgresql": {"existingSecret": "", "key": "databaseUrl"},
    },
    "keycloak": {
        "enabled": False,
        "issuerUrl": "",
        "audience": "artifact-store",
        "passwordClient": "artifactctl",
        "consoleClient": "artifact-store-console",
        "clientSecret": {"existingSecret": "", "key": "clientSecret"},
        # Operator only (the chart cannot call Keycloak): register the clients the gateway needs.
        "registration": {
            "enabled": False,
            "url": "",
            "adminRealm": "master",
            "adminCredentials": {
                "existingSecret": "",
                "usernameKey": "username",
                "passwordKey": "password",
            },
            "confidentialClient": "artifact-store-login",
            "cliClient": "artifactctl",
            "publicUrl": "",
        },
    },
    "service": {"type": "ClusterIP", "port": 9000, "managementPort": 9100},
    "route": {
        "enabled": True,
        "host": "",
        "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
        "timeout": "30m",
    },
    "monitoring": {"serviceMonitor": {"enabled": True, "interval": "30s"}},
    "networkPolicy": {"enabled": True},
    "serviceAccount": {"create": True, "name": ""},
    "components": [],
}


def merge(base: Obj, override: Obj) -> Obj:
    """``override`` over ``base``, mappings merged key by key (lists and scalars replace)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def effective(spec: Obj) -> Obj:
    """The spec with every default filled in."""
    return merge(DEFAULTS, spec)


def component(spec: Obj, kind: str) -> Obj:
    """The ``components`` entry of ``kind`` (``managed: true``, no overrides when absent)."""
    for entry in spec.get("components", []):
        if entry.get("kind") == kind:
            return {"kind": kind, "managed": entry.get("managed", True), **entry}
    return {"kind": kind, "managed": True, "overrides": {}}


def managed(spec: Obj, kind: str) -> bool:
    """Whether the operator creates and reconciles ``kind``'s objects: its components entry says
    so and the chart vocabulary's switch for it is on (``zot.managed``, ``route.enabled``,
    ``monitoring.serviceMonitor.enabled``, ``keycloak.enabled``)."""
    if not component(spec, kind).get("managed", True):
        return False
    switches = {
        "zot": spec["zot"]["managed"],
        "route": spec["route"]["enabled"],
        "monitoring": spec["monitoring"]["serviceMonitor"]["enabled"],
        "keycloak": spec["keycloak"]["enabled"],
    }
    return bool(switches.get(kind, True))


def registers(spec: Obj) -> bool:
    """Whether the operator registers the gateway's clients in Keycloak (keycloak.py)."""
    return managed(spec, "keycloak") and bool(spec["keycloak"]["registration"]["enabled"])


def overrides(spec: Obj, kind: str) -> Obj:
    """The component's ``overrides`` (replicas, resources, env, labels, annotations,
    volumeSize)."""
    found = component(spec, kind).get("overrides") or {}
    return dict(found)
