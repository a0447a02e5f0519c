"""The objects an ArtifactStore stands for, rendered from its effective spec: pure and
deterministic (no clock, no randomness: generated secrets are made once by the reconciler, see
secrets.py). Every object carries the instance labels, the owner reference and the
``artifactstore.dev/component`` label naming the ``components`` entry that manages it."""

from __future__ import annotations

import json
from typing import Any

from . import zot
from .spec import PROJECT_VERSION, Obj, managed, overrides, registers

COMPONENT_LABEL = "artifactstore.dev/component"
MANAGED_BY = "artifact-store-operator"
SCC_CLUSTER_ROLE = "system:openshift:scc:restricted-v2"
DATA_DIR = "/var/lib/artifact-store"
ROOT_MOUNT = "/etc/artifact-store/root"
ZOT_MOUNT = "/etc/artifact-store/zot"
RECEIPT_MOUNT = "/etc/artifact-store/receipt"
CLIENT_SECRET_MOUNT = "/etc/artifact-store/oidc"  # noqa: S105 - a path
TLS_MOUNT = "/etc/artifact-store/tls"
TLS_PORT = 9443  # the gateway's HTTPS port for a reencrypt Route (as the chart's)
SERVING_CERT_ANNOTATION = "service.beta.openshift.io/serving-cert-secret-name"


def names(name: str) -> dict[str, str]:
    """The object names of an ArtifactStore called ``name`` (``<cr-name>-...``)."""
    return {
        "gateway": f"{name}-gateway",
        "zot": f"{name}-zot",
        "zotConfig": f"{name}-zot-config",
        "zotData": f"{name}-zot-data",
        "index": f"{name}-index",
        "rootCredentials": f"{name}-root-credentials",
        "credentialsKey": f"{name}-credentials-key",
        "receiptKey": f"{name}-receipt-key",
        "zotCredentials": f"{name}-zot-credentials",
        "scc": f"{name}-gateway-scc",
        "servingCert": f"{name}-gateway-tls",
        "keycloakClient": f"{name}-keycloak-client",
        "route": name,
    }


def secret_names(name: str, spec: Obj) -> dict[str, str]:
    """The Secret each credential is read from: the ``existingSecret`` when given, else the one
    the operator generates."""
    generated = names(name)
    return {
        "rootCredentials": spec["gateway"]["rootCredentials"]["existingSecret"]
        or generated["rootCredentials"],
        "credentialsKey": spec["gateway"]["credentialsKey"]["existingSecret"]
        or generated["credentialsKey"],
        "receiptKey": spec["gateway"]["receiptKey"]["existingSecret"] or generated["receiptKey"],
        "zotCredentials": spec["zot"]["credentials"]["existingSecret"]
        or generated["zotCredentials"],
    }


def labels(name: str, component: str) -> dict[str, str]:
    """The recommended labels; ``component`` is gateway or zot."""
    return {
        "app.kubernetes.io/name": "artifact-store",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "artifact-store",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector(name: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "artifact-store",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": component,
    }


def _meta(owner: Obj, name: str, component: str, part: str) -> Obj:
    meta = owner["metadata"]
    return {
        "name": name,
        "namespace": meta["namespace"],
        "labels": {**labels(meta["name"], component), COMPONENT_LABEL: part},
        "ownerReferences": [
            {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": meta["name"],
                "uid": meta["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def _image(image: Obj) -> str:
    return f"{image['repository']}:{image['tag'] or PROJECT_VERSION}"


def _restricted() -> Obj:
    """The container security context restricted-v2 (and Pod Security "restricted") admits; the
    UID is left to the namespace's range."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def reencrypt(spec: Obj) -> bool:
    """Whether the gateway serves HTTPS for a re-encrypting Route: the chart's condition
    (``route.enabled`` and ``route.tls.termination: reencrypt``), whether or not the operator
    manages the Route (a Route you bring yourself re-encrypts to the same port)."""
    route = spec["route"]
    return bool(route["enabled"] and route["tls"]["termination"] == "reencrypt")


def _secret_env(env: str, secret: str, key: str) -> Obj:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _gateway_env(name: str, spec: Obj) -> list[Obj]:
    gateway = spec["gateway"]
    secrets = secret_names(name, spec)
    plain: dict[str, str] = {
        "HOST": "0.0.0.0",  # noqa: S104 - inside the pod
        "PORT": str(spec["service"]["port"]),
        "MANAGEMENT_HOST": "0.0.0.0",  # noqa: S104
        "MANAGEMENT_PORT": str(spec["service"]["managementPort"]),
        "WORKERS": str(gateway["workers"]),
        "LOG_LEVEL": str(gateway["logLevel"]),
        "DATA_DIR": DATA_DIR,
        "REGISTRY_URL": registry_url(name, spec),
        "REGISTRY_PASSWORD_FILE": f"{ZOT_MOUNT}/password",
        "ROOT_SECRET_KEY_FILE": f"{ROOT_MOUNT}/secretKey",
        "RECEIPT_KEY_FILE": f"{RECEIPT_MOUNT}/receiptKey",
    }
    if managed(spec, "keycloak"):
        plain["OIDC_ISSUER"] = spec["keycloak"]["issuerUrl"]
        plain["OIDC_AUDIENCE"] = spec["keycloak"]["audience"]
        plain["OIDC_PASSWORD_CLIENT"] = spec["keycloak"]["passwordClient"]
        plain["CONSOLE_CLIENT_ID"] = spec["keycloak"]["consoleClient"]
        if registers(spec):
            # The confidential client the operator registers replaces passwordClient.
            plain["OIDC_PASSWORD_CLIENT"] = spec["keycloak"]["registration"]["confidentialClient"]
        if client_secret(name, spec) is not None:
            plain["OIDC_PASSWORD_CLIENT_SECRET_FILE"] = f"{CLIENT_SECRET_MOUNT}/clientSecret"
    if reencrypt(spec):
        plain["TLS_PORT"] = str(TLS_PORT)
        plain["TLS_CERT_FILE"] = f"{TLS_MOUNT}/tls.crt"
        plain["TLS_KEY_FILE"] = f"{TLS_MOUNT}/tls.key"
    for setting, value in sorted(gateway["settings"].items()):
        plain[setting.upper()] = value if isinstance(value, str) else json.dumps(value)
    env = [{"name": f"ARTIFACT_STORE_{key}", "value": value} for key, value in plain.items()]
    env.append(
        _secret_env("ARTIFACT_STORE_REGISTRY_USERNAME", secrets["zotCredentials"], "username")
    )
    env.append(
        _secret_env("ARTIFACT_STORE_ROOT_ACCESS_KEY", secrets["rootCredentials"], "accessKey")
    )
    env.append(
        _secret_env("ARTIFACT_STORE_CREDENTIALS_KEY", secrets["credentialsKey"], "credentialsKey")
    )
    if spec["index"]["type"] == "postgresql":
        postgresql = spec["index"]["postgresql"]
        env.append(
            _secret_env(
                "ARTIFACT_STORE_DATABASE_URL", postgresql["existingSecret"], postgresql["key"]
            )
        )
    env.extend(overrides(spec, "gateway").get("env", []))
    return env


def client_secret(name: str, spec: Obj) -> tuple[str, str] | None:
    """(Secret, key) of the gateway's confidential password client's secret: the existing
    Secret, or with registration the one the operator writes; None for a public client."""
    keycloak = spec["keycloak"]
    if not managed(spec, "keycloak"):
        return None
    if keycloak["clientSecret"]["existingSecret"]:
        return keycloak["clientSecret"]["existingSecret"], keycloak["clientSecret"]["key"]
    if registers(spec):
        return names(name)["keycloakClient"], "clientSecret"
    return None


def registry_url(name: str, spec: Obj) -> str:
    """Where the gateway reaches Zot: the managed StatefulSet's Service, or the external URL."""
    if managed(spec, "zot"):
        return f"http://{names(name)['zot']}:{zot.PORT}"
    return str(spec["zot"]["external"]["url"])


def _probe(path: str, period: int, failures: int) -> Obj:
    return {
        "httpGet": {"path": path, "port": "management"},
        "periodSeconds": period,
        "failureThreshold": failures,
    }


def _pod_template(owner: Obj, spec: Obj) -> Obj:
    name = owner["metadata"]["name"]
    gateway = spec["gateway"]
    extra = overrides(spec, "gateway")
    secrets = secret_names(name, spec)
    volumes: list[Obj] = [
        {
            "name": "root",
            "secret": {
                "secretName": secrets["rootCredentials"],
                "items": [{"key": "secretKey", "path": "secretKey"}],
            },
        },
        {
            "name": "zot",
            "secret": {
                "secretName": secrets["zotCredentials"],
                "items": [{"key": "password", "path": "password"}],
            },
        },
    ]
    # SQLite lives on the <name>-index claim, created by the index component or, when that is
    # unmanaged, by the user: never on an emptyDir that a restart would wipe.
    volumes.append(
        {
            "name": "receipt",
            "secret": {
                "secretName": secrets["receiptKey"],
                "items": [{"key": "receiptKey", "path": "receiptKey"}],
            },
        }
    )
    mounts: list[Obj] = []
    oidc = client_secret(name, spec)
    if oidc is not None:
        volumes.append(
            {
                "name": "oidc",
                "secret": {
                    "secretName": oidc[0],
                    "items": [{"key": oidc[1], "path": "clientSecret"}],
                },
            }
        )
        mounts.append({"name": "oidc", "mountPath": CLIENT_SECRET_MOUNT, "readOnly": True})
    if reencrypt(spec):
        # Issued by OpenShift's service CA into this Secret (the Service's serving-cert
        # annotation); the pod starts once it exists.
        volumes.append({"name": "tls", "secret": {"secretName": names(name)["servingCert"]}})
        mounts.append({"name": "tls", "mountPath": TLS_MOUNT, "readOnly": True})
    if spec["index"]["type"] == "sqlite":
        volumes.append(
            {"name": "data", "persistentVolumeClaim": {"claimName": names(name)["index"]}}
        )
    else:
        volumes.append({"name": "data", "emptyDir": {}})
    ports: list[Obj] = [
        {"name": "s3", "containerPort": spec["service"]["port"], "protocol": "TCP"},
        {
            "name": "management",
            "containerPort": spec["service"]["managementPort"],
            "protocol": "TCP",
        },
    ]
    if reencrypt(spec):
        ports.append({"name": "s3-tls", "containerPort": TLS_PORT, "protocol": "TCP"})
    container: Obj = {
        "name": "gateway",
        "image": _image(spec["image"]),
        "imagePullPolicy": spec["image"]["pullPolicy"],
        "ports": ports,
        "env": _gateway_env(name, spec),
        "resources": extra.get("resources", gateway["resources"]),
        "securityContext": _restricted(),
        "startupProbe": _probe("/startupz", 2, 60),
        "livenessProbe": _probe("/livez", 10, 3),
        "readinessProbe": _probe("/readyz", 5, 3),
        "volumeMounts": [
            {"name": "root", "mountPath": ROOT_MOUNT, "readOnly": True},
            {"name": "zot", "mountPath": ZOT_MOUNT, "readOnly": True},
            {"name": "receipt", "mountPath": RECEIPT_MOUNT, "readOnly": True},
            {"name": "data", "mountPath": DATA_DIR},
            *mounts,
        ],
    }
    pod_spec: Obj = {
        "serviceAccountName": service_account(name, spec),
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": volumes,
        "imagePullSecrets": spec["imagePullSecrets"],
        "nodeSelector": gateway["nodeSelector"],
        "tolerations": gateway["tolerations"],
        "affinity": gateway["affinity"],
        "terminationGracePeriodSeconds": 60,
    }
    return {
        "metadata": {
            "labels": {**selector(name, "gateway"), **extra.get("labels", {})},
            "annotations": dict(extra.get("annotations", {})),
        },
        "spec": pod_spec,
    }


def service_account(name: str, spec: Obj) -> str:
    return str(spec["serviceAccount"]["name"] or names(name)["gateway"])


def gateway_objects(owner: Obj, spec: Obj) -> list[Obj]:
    """The gateway component: workload, Service, ServiceAccount, SCC RoleBinding, PDB."""
    name = owner["metadata"]["name"]
    n = names(name)
    gateway = spec["gateway"]
    replicas = overrides(spec, "gateway").get("replicas", gateway["replicas"])
    objects: list[Obj] = []
    if spec["serviceAccount"]["create"]:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": _meta(owner, service_account(name, spec), "gateway", "gateway"),
            }
        )
    # restricted-v2 is what every authenticated service account may use on OpenShift 4.11+; the
    # binding states the need explicitly and survives clusters that narrowed the default.
    objects.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": _meta(owner, n["scc"], "gateway", "gateway"),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": SCC_CLUSTER_ROLE,
            },
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": service_account(name, spec),
                    "namespace": owner["metadata"]["namespace"],
                }
            ],
        }
    )
    template = _pod_template(owner, spec)
    if gateway["workload"] == "DeploymentConfig":
        workload: Obj = {
            "apiVersion": "apps.openshift.io/v1",
            "kind": "DeploymentConfig",
            "metadata": _meta(owner, n["gateway"], "gateway", "gateway"),
            "spec": {
                "replicas": replicas,
                "selector": selector(name, "gateway"),
                "strategy": {"type": "Rolling"},
                "triggers": [{"type": "ConfigChange"}],
                "template": template,
            },
        }
    else:
        workload = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": _meta(owner, n["gateway"], "gateway", "gateway"),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": selector(name, "gateway")},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                },
                "template": template,
            },
        }
        if spec["index"]["type"] == "sqlite":
            # One writer on a ReadWriteOnce volume: the old pod goes before the new one starts.
            workload["spec"]["strategy"] = {"type": "Recreate"}
    objects.append(workload)
    service_ports: list[Obj] = [
        {"name": "s3", "port": spec["service"]["port"], "targetPort": "s3", "protocol": "TCP"},
        {
            "name": "management",
            "port": spec["service"]["managementPort"],
            "targetPort": "management",
            "protocol": "TCP",
        },
    ]
    service_meta = _meta(owner, n["gateway"], "gateway", "gateway")
    if reencrypt(spec):
        service_ports.append(
            {"name": "s3-tls", "port": TLS_PORT, "targetPort": "s3-tls", "protocol": "TCP"}
        )
        # OpenShift's service CA issues the gateway's certificate (for the Service's DNS name)
        # into this Secret and renews it; the router trusts that CA for reencrypt Routes.
        service_meta["annotations"] = {SERVING_CERT_ANNOTATION: n["servingCert"]}
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": service_meta,
            "spec": {
                "type": spec["service"]["type"],
                "selector": selector(name, "gateway"),
                "ports": service_ports,
            },
        }
    )
    pdb = gateway["podDisruptionBudget"]
    if pdb["enabled"]:
        objects.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": _meta(owner, n["gateway"], "gateway", "gateway"),
                "spec": {
                    "minAvailable": pdb["minAvailable"],
                    "selector": {"matchLabels": selector(name, "gateway")},
                },
            }
        )
    return objects


def zot_objects(owner: Obj, spec: Obj) -> list[Obj]:
    """The zot component: config, StatefulSet, Service, data PVC, NetworkPolicy."""
    name = owner["metadata"]["name"]
    n = names(name)
    z = spec["zot"]
    extra = overrides(spec, "zot")
    secrets = secret_names(name, spec)
    config = json.dumps(zot.config(spec), indent=2, sort_keys=True)
    volumes: list[Obj] = [
        {"name": "config", "configMap": {"name": n["zotConfig"]}},
        {
            "name": "credentials",
            "secret": {
                "secretName": secrets["zotCredentials"],
                "items": [
                    {"key": "username", "path": "username"},
                    {"key": "password", "path": "password"},
                ],
            },
        },
        # The htpasswd line, written by the init container: in memory, never in a Secret.
        {"name": "auth", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ]
    # Zot's htpasswd line for the gateway's user, hashed in the pod at bcrypt cost 4 by the
    # gateway image's `artifact-store registry-htpasswd` (as the Helm chart does): the Secret holds
    # username and password only, whoever made it.
    htpasswd: Obj = {
        "name": "htpasswd",
        "image": _image(spec["image"]),
        "imagePullPolicy": spec["image"]["pullPolicy"],
        "command": [
            "artifact-store",
            "registry-htpasswd",
            "--username-file=/run/secrets/zot/username",
            "--password-file=/run/secrets/zot/password",
            f"--out={zot.HTPASSWD_PATH}",
        ],
        "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": _restricted(),
        "volumeMounts": [
            {"name": "credentials", "mountPath": "/run/secrets/zot", "readOnly": True},
            {"name": "auth", "mountPath": "/etc/zot/auth"},
        ],
    }
    env: list[Obj] = list(extra.get("env", []))
    objects: list[Obj] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": _meta(owner, n["zotConfig"], "zot", "zot"),
            "data": {"config.json": config},
        }
    ]
    if z["storage"]["type"] == "pvc":
        pvc = z["storage"]["pvc"]
        claim: Obj = {
            "accessModes": [pvc["accessMode"]],
            "resources": {"requests": {"storage": extra.get("volumeSize", pvc["size"])}},
        }
        if pvc["storageClass"]:
            claim["storageClassName"] = pvc["storageClass"]
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": _meta(owner, n["zotData"], "zot", "zot"),
                "spec": claim,
            }
        )
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": n["zotData"]}})
    else:
        s3_secret = z["storage"]["s3"]["existingSecret"]
        env.append(_secret_env("AWS_ACCESS_KEY_ID", s3_secret, "accessKey"))
        env.append(_secret_env("AWS_SECRET_ACCESS_KEY", s3_secret, "secretKey"))
        volumes.append({"name": "data", "emptyDir": {}})  # the dedupe cache and scratch space
    container: Obj = {
        "name": "zot",
        "image": _image(z["image"]),
        "imagePullPolicy": z["image"]["pullPolicy"],
        "args": ["serve", "/etc/zot/config.json"],
        "ports": [{"name": "registry", "containerPort": zot.PORT, "protocol": "TCP"}],
        "env": env,
        "resources": extra.get("resources", z["resources"]),
        "securityContext": _restricted(),
        # /v2/ needs credentials: a TCP check says the port serves, which is what matters here.
        "readinessProbe": {"tcpSocket": {"port": "registry"}, "periodSeconds": 5},
        "livenessProbe": {"tcpSocket": {"port": "registry"}, "periodSeconds": 10},
        "volumeMounts": [
            {
                "name": "config",
                "mountPath": "/etc/zot/config.json",
                "subPath": "config.json",
                "readOnly": True,
            },
            {"name": "auth", "mountPath": "/etc/zot/auth", "readOnly": True},
            {"name": "data", "mountPath": zot.STORAGE_ROOT},
        ],
    }
    objects.append(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": _meta(owner, n["zot"], "zot", "zot"),
            "spec": {
                "replicas": 1,  # Zot's local storage and GC have one writer
                "serviceName": n["zot"],
                "selector": {"matchLabels": selector(name, "zot")},
                "template": {
                    "metadata": {
                        "labels": {**selector(name, "zot"), **extra.get("labels", {})},
                        "annotations": {
                            **extra.get("annotations", {}),
                            # A config change rolls the pod: Zot reads its file once.
                            "artifactstore.dev/config-hash": _digest(config),
                        },
                    },
                    "spec": {
                        "securityContext": {
                            "runAsNonRoot": True,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "initContainers": [htpasswd],
                        "containers": [container],
                        "volumes": volumes,
                        "imagePullSecrets": spec["imagePullSecrets"],
                        "terminationGracePeriodSeconds": 60,
                    },
                },
            },
        }
    )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(owner, n["zot"], "zot", "zot"),
            "spec": {
                "type": "ClusterIP",
                "selector": selector(name, "zot"),
                "ports": [
                    {
                        "name": "registry",
                        "port": zot.PORT,
                        "targetPort": "registry",
                        "protocol": "TCP",
                    }
                ],
            },
        }
    )
    if spec["networkPolicy"]["enabled"]:
        peers: list[Obj] = [{"podSelector": {"matchLabels": selector(name, "gateway")}}]
        if managed(spec, "monitoring"):
            # Prometheus scrapes Zot's /metrics (with the gateway's credentials) from its own
            # namespace; OpenShift labels the monitoring namespaces with this key.
            peers.append(
                {
                    "namespaceSelector": {
                        "matchLabels": {"network.openshift.io/policy-group": "monitoring"}
                    }
                }
            )
        objects.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": _meta(owner, n["zot"], "zot", "zot"),
                "spec": {
                    "podSelector": {"matchLabels": selector(name, "zot")},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": peers, "ports": [{"port": zot.PORT, "protocol": "TCP"}]}],
                },
            }
        )
    return objects


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def index_objects(owner: Obj, spec: Obj) -> list[Obj]:
    """The index component: the SQLite volume (PostgreSQL is external: nothing to create)."""
    if spec["index"]["type"] != "sqlite":
        return []
    sqlite = spec["index"]["sqlite"]
    claim: Obj = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {
            "requests": {"storage": overrides(spec, "index").get("volumeSize", sqlite["size"])}
        },
    }
    if sqlite["storageClass"]:
        claim["storageClassName"] = sqlite["storageClass"]
    return [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": _meta(owner, names(owner["metadata"]["name"])["index"], "gateway", "index"),
            "spec": claim,
        }
    ]


def route_objects(owner: Obj, spec: Obj) -> list[Obj]:
    """The route component: the OpenShift Route to the S3 port (HTTPS port ``s3-tls`` when
    re-encrypting), with a long timeout. No ``destinationCACertificate``, as in the chart: the
    router trusts the service CA that issued the gateway's certificate."""
    name = owner["metadata"]["name"]
    route = spec["route"]
    meta = _meta(owner, names(name)["route"], "gateway", "route")
    meta["annotations"] = {"haproxy.router.openshift.io/timeout": route["timeout"]}
    body: Obj = {
        "to": {"kind": "Service", "name": names(name)["gateway"], "weight": 100},
        "port": {"targetPort": "s3-tls" if reencrypt(spec) else "s3"},
        "tls": {
            "termination": route["tls"]["termination"],
            "insecureEdgeTerminationPolicy": route["tls"]["insecureEdgeTerminationPolicy"],
        },
        "wildcardPolicy": "None",
    }
    if route["host"]:
        body["host"] = route["host"]
    return [
        {"apiVersion": "route.openshift.io/v1", "kind": "Route", "metadata": meta, "spec": body}
    ]


def monitoring_objects(owner: Obj, spec: Obj) -> list[Obj]:
    """The monitoring component: ServiceMonitors for the gateway's management port and, when
    managed, Zot's /metrics (with the gateway's Zot credentials: Zot serves metrics to that user
    only)."""
    name = owner["metadata"]["name"]
    n = names(name)
    interval = spec["monitoring"]["serviceMonitor"]["interval"]
    objects: list[Obj] = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": _meta(owner, n["gateway"], "gateway", "monitoring"),
            "spec": {
                "selector": {"matchLabels": selector(name, "gateway")},
                "endpoints": [{"port": "management", "path": "/metrics", "interval": interval}],
            },
        }
    ]
    if managed(spec, "zot"):
        secret = secret_names(name, spec)["zotCredentials"]
        objects.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": _meta(owner, n["zot"], "zot", "monitoring"),
                "spec": {
                    "selector": {"matchLabels": selector(name, "zot")},
                    "endpoints": [
                        {
                            "port": "registry",
                            "path": "/metrics",
                            "interval": interval,
                            "basicAuth": {
                                "username": {"name": secret, "key": "username"},
                                "password": {"name": secret, "key": "password"},
                            },
                        }
                    ],
                },
            }
        )
    return objects


RENDERERS = {
    "gateway": gateway_objects,
    "zot": zot_objects,
    "index": index_objects,
    "route": route_objects,
    "monitoring": monitoring_objects,
}


def render(owner: Obj, spec: Obj) -> dict[str, list[Obj]]:
    """The objects of every managed component, by component kind (keycloak renders none: it is
    wired into the gateway's environment, and its registration, keycloak.py, writes its
    client-secret Secret)."""
    return {kind: fn(owner, spec) for kind, fn in RENDERERS.items() if managed(spec, kind)}


def dumps(objects: Any) -> str:
    """A canonical text of rendered objects (determinism checks)."""
    return json.dumps(objects, sort_keys=True)
