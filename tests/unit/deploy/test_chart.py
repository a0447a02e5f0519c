"""The Helm chart, offline: ``helm lint --strict``; ``helm template`` of a matrix of values
(minimal, production, external Zot, S3 storage, DeploymentConfig, everything optional off)
with every object valid for Kubernetes 1.31 and OpenShift's schemas and every pod admitted
by restricted-v2; the values schema refusing bad values; and what each piece is wired to
(Zot's configuration equals the tests' own, secrets, probes, Route, NetworkPolicies,
ServiceMonitors)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.supply import receipts
from tests.fixtures.registries import GATEWAY_USER
from tests.unit.deploy.chart import (
    CHART,
    RELEASE,
    ROOT,
    Doc,
    crd_schema,
    find,
    helm,
    pod_specs,
    render,
    template,
    validate,
    values_table,
)
from tests.unit.deploy.scc import restricted_v2, violations

GATEWAY = f"{RELEASE}-artifact-store-gateway"
ZOT = f"{RELEASE}-artifact-store-zot"

PRODUCTION: Doc = {
    "gateway": {
        "replicas": 3,
        "workers": 4,
        "settings": {
            "max_object_size": 53687091200,
            "blob_cache_mib": 0.5,
            "virtual_host_domain": "s3.example.com",
        },
        "rootCredentials": {"existingSecret": "store-root"},
        "credentialsKey": {"existingSecret": "store-credentials-key"},
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {
                                "matchLabels": {"app.kubernetes.io/component": "gateway"}
                            },
                        },
                    }
                ]
            }
        },
    },
    "imagePullSecrets": ["quay-pull"],
    "index": {"type": "postgresql", "postgresql": {"existingSecret": "store-db"}},
    "keycloak": {
        "enabled": True,
        "issuerUrl": "https://sso.example.com/realms/artifact-store",
        "clientSecret": {"existingSecret": "store-keycloak"},
    },
    "route": {"host": "s3.example.com", "tls": {"termination": "reencrypt"}},
    "zot": {"storage": {"pvc": {"size": "2Ti", "storageClass": "fast"}}},
}
MATRIX: dict[str, Doc] = {
    "minimal": {},
    "production": PRODUCTION,
    "external-zot": {"zot": {"managed": False, "external": {"url": "https://zot.example:5000"}}},
    "s3-storage": {
        "zot": {
            "storage": {
                "type": "s3",
                "s3": {
                    "bucket": "zot",
                    "endpoint": "https://s3.example.com",
                    "existingSecret": "zot-s3",
                },
            }
        }
    },
    "deploymentconfig": {"gateway": {"workload": "DeploymentConfig"}},
    "deploymentconfig-postgresql": {
        "gateway": {"workload": "DeploymentConfig", "replicas": 2},
        "index": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
    },
    "optional-off": {
        "monitoring": {"serviceMonitor": {"enabled": False}},
        "networkPolicy": {"enabled": False},
        "route": {"enabled": False},
        "serviceAccount": {"create": False},
        "gateway": {"podDisruptionBudget": {"enabled": False}},
    },
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Doc]]:
    tmp = tmp_path_factory.mktemp("chart")
    return {name: render(values, tmp) for name, values in MATRIX.items()}


def env(container: Doc) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def gateway_container(docs: list[Doc]) -> Doc:
    workload = next(d for d in docs if d["metadata"]["name"] == GATEWAY and "template" in d["spec"])
    container: Doc = workload["spec"]["template"]["spec"]["containers"][0]
    return container


def decoded(secret: Doc, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


# Lint and validation


@pytest.mark.parametrize("case", ["minimal", "production"])
def test_helm_lint_strict(case: str, tmp_path: Path) -> None:
    values = tmp_path / "values.json"
    values.write_text(json.dumps(MATRIX[case]))
    result = helm("lint", "--strict", "--kube-version", "1.31.0", "-f", str(values), str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("case", MATRIX)
def test_every_object_is_valid(case: str, rendered: dict[str, list[Doc]]) -> None:
    kinds = set()
    for doc in rendered[case]:
        validate(doc)
        kinds.add(doc["kind"])
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "artifact-store"
        assert doc["metadata"]["labels"]["app.kubernetes.io/component"] in ("gateway", "zot")
    assert {"Service", "Secret"} <= kinds
    assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def test_the_validators_reject_bad_objects(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["production"]
    route = find(docs, "Route")
    bad_route = {**route, "spec": {**route["spec"], "tls": {"termination": "sideways"}}}
    monitor = find(docs, "ServiceMonitor", GATEWAY)
    bad_monitor = {**monitor, "spec": {**monitor["spec"], "scrapeEverything": True}}
    service = find(docs, "Service", GATEWAY)
    bad_service = {**service, "spec": {**service["spec"], "prots": []}}
    dc = find(rendered["deploymentconfig"], "DeploymentConfig")
    bad_dc = {**dc, "spec": {**dc["spec"], "strategy": {"type": "Rolling", "bogus": 1}}}
    for bad in (bad_route, bad_monitor, bad_service, bad_dc):
        with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)):
            validate(bad)
    validate(route)


# restricted-v2


def test_the_scc_is_a_valid_scc() -> None:
    schema = crd_schema("openshift-securitycontextconstraints.crd.yaml", "v1")
    jsonschema.Draft7Validator(schema).validate(restricted_v2())


@pytest.mark.parametrize("case", MATRIX)
def test_every_pod_is_admitted_by_restricted_v2(case: str, rendered: dict[str, list[Doc]]) -> None:
    pods = dict(pod_specs(rendered[case]))
    assert pods
    for name, pod in pods.items():
        assert violations(pod, restricted_v2()) == [], name
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert any(v["name"] == mounts["/tmp"] and "emptyDir" in v for v in pod["volumes"])
            assert "requests" in container["resources"]


BAD_PODS: dict[str, tuple[str, Any]] = {
    "hostPath volume": ("volumes", [{"name": "h", "hostPath": {"path": "/"}}]),
    "host network": ("hostNetwork", True),
    "host PID": ("hostPID", True),
    "fixed fsGroup": ("securityContext", {"runAsNonRoot": True, "fsGroup": 1000,
                                          "seccompProfile": {"type": "RuntimeDefault"}}),
    "fixed supplementalGroups": ("securityContext", {"runAsNonRoot": True,
                                                     "supplementalGroups": [5],
                                                     "seccompProfile": {"type": "RuntimeDefault"}}),
}  # fmt: skip
BAD_CONTAINERS: dict[str, Doc] = {
    "root": {"runAsUser": 0},
    "fixed UID": {"runAsUser": 1000},
    "may run as root": {"runAsNonRoot": False},
    "escalation": {"allowPrivilegeEscalation": True},
    "escalation unset": {"allowPrivilegeEscalation": None},
    "privileged": {"privileged": True},
    "no drop ALL": {"capabilities": {"drop": ["NET_RAW"]}},
    "NET_ADMIN added": {"capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN"]}},
    "unconfined seccomp": {"seccompProfile": {"type": "Unconfined"}},
    "SELinux level": {"seLinuxOptions": {"level": "s0:c1,c2"}},
}


def good_pod(rendered: dict[str, list[Doc]]) -> Doc:
    pod: Doc = dict(pod_specs(rendered["minimal"]))[f"Deployment/{GATEWAY}"]
    return pod


@pytest.mark.parametrize("case", BAD_PODS)
def test_the_scc_check_refuses_a_bad_pod(case: str, rendered: dict[str, list[Doc]]) -> None:
    key, value = BAD_PODS[case]
    pod = good_pod(rendered)
    assert violations(pod, restricted_v2()) == []
    assert violations({**pod, key: value}, restricted_v2())


def test_the_scc_check_refuses_a_pod_without_seccomp(rendered: dict[str, list[Doc]]) -> None:
    pod = good_pod(rendered)
    container = pod["containers"][0]
    context = {k: v for k, v in container["securityContext"].items() if k != "seccompProfile"}
    bare = {**pod, "securityContext": {"runAsNonRoot": True}}
    assert violations(bare, restricted_v2()) == []  # the container still says RuntimeDefault
    bad = {**bare, "containers": [{**container, "securityContext": context}]}
    assert violations(bad, restricted_v2()) == ["gateway: seccompProfile None"]


@pytest.mark.parametrize("case", BAD_CONTAINERS)
def test_the_scc_check_refuses_a_bad_container(case: str, rendered: dict[str, list[Doc]]) -> None:
    pod = good_pod(rendered)
    container = pod["containers"][0]
    context = {**container["securityContext"], **BAD_CONTAINERS[case]}
    context = {k: v for k, v in context.items() if v is not None}
    bad = {**pod, "containers": [{**container, "securityContext": context}]}
    assert violations(bad, restricted_v2())
    host_port = {**container, "ports": [{"containerPort": 9000, "hostPort": 9000}]}
    assert violations({**pod, "initContainers": [host_port]}, restricted_v2())


@settings(max_examples=60, deadline=None)
@given(chosen=st.lists(st.sampled_from(sorted(BAD_CONTAINERS)), unique=True))
def test_any_mix_of_bad_settings_is_refused(
    rendered: dict[str, list[Doc]], chosen: list[str]
) -> None:
    pod = good_pod(rendered)
    container = pod["containers"][0]
    context = dict(container["securityContext"])
    for case in chosen:
        context.update(BAD_CONTAINERS[case])
    context = {k: v for k, v in context.items() if v is not None}
    mixed = {**pod, "containers": [{**container, "securityContext": context}]}
    assert bool(violations(mixed, restricted_v2())) == bool(chosen)


def test_net_bind_service_is_the_one_capability_allowed(rendered: dict[str, list[Doc]]) -> None:
    pod = good_pod(rendered)
    container = pod["containers"][0]
    capabilities = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    context = {**container["securityContext"], "capabilities": capabilities}
    assert violations({**pod, "containers": [{**container, "securityContext": context}]},
                      restricted_v2()) == []  # fmt: skip


# The values schema


BAD_VALUES: dict[str, Doc] = {
    "workload": {"gateway": {"workload": "StatefulSet"}},
    "index type": {"index": {"type": "mysql"}},
    "storage type": {"zot": {"storage": {"type": "gcs"}}},
    "termination": {"route": {"tls": {"termination": "passthrough"}}},
    "unknown key": {"gateway": {"replica": 2}},
    "unknown top-level key": {"postgres": {}},
    "sqlite with replicas": {"gateway": {"replicas": 3}},
    "zero replicas": {"gateway": {"replicas": 0}},
    "owned setting": {"gateway": {"settings": {"registry_url": "http://elsewhere"}}},
    "setting name": {"gateway": {"settings": {"Max-Object-Size": 1}}},
    "postgresql without secret": {"index": {"type": "postgresql"}},
    "external zot without url": {"zot": {"managed": False}},
    "s3 without bucket": {"zot": {"storage": {"type": "s3"}}},
    "keycloak without issuer": {"keycloak": {"enabled": True}},
    "log level": {"gateway": {"logLevel": "verbose"}},
    "gc delay": {"zot": {"gc": {"delay": "one hour"}}},
    "pvc size": {"zot": {"storage": {"pvc": {"size": "lots"}}}},
    "access mode": {"zot": {"storage": {"pvc": {"accessMode": "ReadWriteEverything"}}}},
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_the_schema_refuses_bad_values(case: str, tmp_path: Path) -> None:
    result = template(BAD_VALUES[case], tmp_path)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"gateway": {"replicas": 2}}, "index.type sqlite allows one gateway replica only"),
        ({"index": {"type": "postgresql"}}, "needs index.postgresql.existingSecret"),
        ({"zot": {"managed": False}}, "needs zot.external.url"),
    ],
)
def test_the_templates_refuse_what_the_schema_does(
    values: Doc, message: str, tmp_path: Path
) -> None:
    result = template(values, tmp_path, "--skip-schema-validation")
    assert result.returncode != 0
    assert message in result.stderr


# Wiring


def test_zot_is_configured_as_the_tests_run_it(rendered: dict[str, list[Doc]]) -> None:
    """The chart's Zot config is deploy/zot/config.json (the image's, from which the tests'
    zot_config derives; tests/unit/deploy/test_podman_files.py), key for key."""
    config = json.loads(find(rendered["minimal"], "ConfigMap", ZOT)["data"]["config.json"])
    assert config == json.loads((ROOT / "deploy" / "zot" / "config.json").read_text())
    s3 = json.loads(find(rendered["s3-storage"], "ConfigMap", ZOT)["data"]["config.json"])
    assert s3["storage"]["storageDriver"] == {
        "name": "s3", "region": "us-east-1", "bucket": "zot", "rootdirectory": "/zot",
        "regionendpoint": "https://s3.example.com", "forcepathstyle": True, "secure": True,
    }  # fmt: skip
    assert s3["storage"]["remoteCache"] is False
    assert s3["storage"]["dedupe"] is False  # placeholders its emptyDir cache alone resolves
    assert {k: v for k, v in s3.items() if k != "storage"} == {
        k: v for k, v in config.items() if k != "storage"
    }
    zot = find(rendered["s3-storage"], "StatefulSet")
    assert "volumeClaimTemplates" not in zot["spec"]
    assert env(zot["spec"]["template"]["spec"]["containers"][0])["AWS_ACCESS_KEY_ID"] == {
        "secretKeyRef": {"name": "zot-s3", "key": "accessKey"}
    }


def test_generated_secrets_work(rendered: dict[str, list[Doc]], tmp_path: Path) -> None:
    docs = rendered["minimal"]
    zot = find(docs, "Secret", f"{RELEASE}-artifact-store-zot-credentials")
    username, password = decoded(zot, "username"), decoded(zot, "password")
    assert username == GATEWAY_USER
    assert len(password) >= 40
    assert "htpasswd" not in zot["data"]  # hashed in the pod (test_zot_hashes_its_htpasswd...)
    key = find(docs, "Secret", f"{RELEASE}-artifact-store-credentials-key")
    sealed = Fernet(decoded(key, "credentialsKey")).encrypt(b"x")
    assert Fernet(decoded(key, "credentialsKey")).decrypt(sealed) == b"x"
    receipt = find(docs, "Secret", f"{RELEASE}-artifact-store-receipt-key")
    (tmp_path / "receiptKey").write_text(decoded(receipt, "receiptKey"))
    signer = receipts.load_or_create(tmp_path / "receiptKey")  # the gateway's own loader
    assert signer.public_key.curve.name == "secp256r1"
    root = find(docs, "Secret", f"{RELEASE}-artifact-store-root")
    assert len(decoded(root, "secretKey")) == 40
    for secret in (zot, key, receipt, root):
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert not [d for d in rendered["production"] if d["metadata"]["name"].endswith("-root")]


def test_the_gateway_is_wired(rendered: dict[str, list[Doc]]) -> None:
    minimal = env(gateway_container(rendered["minimal"]))
    assert minimal["ARTIFACT_STORE_REGISTRY_URL"] == f"http://{ZOT}:5000"
    assert minimal["ARTIFACT_STORE_HOST"] == minimal["ARTIFACT_STORE_MANAGEMENT_HOST"] == "0.0.0.0"
    assert "ARTIFACT_STORE_DATABASE_URL" not in minimal
    assert find(rendered["minimal"], "Deployment")["spec"]["strategy"]["type"] == "Recreate"
    production = gateway_container(rendered["production"])
    variables = env(production)
    assert variables["ARTIFACT_STORE_DATABASE_URL"] == {
        "secretKeyRef": {"name": "store-db", "key": "databaseUrl"}
    }
    assert variables["ARTIFACT_STORE_MAX_OBJECT_SIZE"] == "53687091200"
    assert variables["ARTIFACT_STORE_BLOB_CACHE_MIB"] == "0.5"
    assert variables["ARTIFACT_STORE_VIRTUAL_HOST_DOMAIN"] == "s3.example.com"
    assert variables["ARTIFACT_STORE_WORKERS"] == "4"
    assert variables["ARTIFACT_STORE_OIDC_ISSUER"] == PRODUCTION["keycloak"]["issuerUrl"]
    assert variables["ARTIFACT_STORE_CONSOLE_CLIENT_ID"] == "artifact-store-console"
    secret_file = Path(variables["ARTIFACT_STORE_OIDC_PASSWORD_CLIENT_SECRET_FILE"])
    mounts = {m["name"]: m["mountPath"] for m in production["volumeMounts"]}
    assert mounts["keycloak-client"] == str(secret_file.parent)
    assert variables["ARTIFACT_STORE_ROOT_ACCESS_KEY"]["secretKeyRef"]["name"] == "store-root"
    probes = {
        p: production[p]["httpGet"] for p in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes == {
        "startupProbe": {"path": "/startupz", "port": "management"},
        "livenessProbe": {"path": "/livez", "port": "management"},
        "readinessProbe": {"path": "/readyz", "port": "management"},
    }
    ports = {p["name"]: p["containerPort"] for p in production["ports"]}
    assert ports == {"s3": 9000, "management": 9100, "s3-tls": 9443}
    external = env(gateway_container(rendered["external-zot"]))
    assert external["ARTIFACT_STORE_REGISTRY_URL"] == "https://zot.example:5000"
    assert not [d for d in rendered["external-zot"] if d["kind"] in ("StatefulSet", "ConfigMap")]


def test_a_production_release(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["production"]
    deployment = find(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert find(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    route = find(docs, "Route")
    assert route["spec"]["tls"]["termination"] == "reencrypt"
    assert route["spec"]["port"]["targetPort"] == "s3-tls"
    assert route["metadata"]["annotations"]["haproxy.router.openshift.io/timeout"] == "30m"
    service = find(docs, "Service", GATEWAY)
    tls_secret = service["metadata"]["annotations"][
        "service.beta.openshift.io/serving-cert-secret-name"
    ]
    volumes = deployment["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": tls_secret}} in volumes
    assert not [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
    assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "quay-pull"}]
    minimal = rendered["minimal"]
    assert not [d for d in minimal if d["kind"] == "PodDisruptionBudget"]
    assert find(minimal, "Route")["spec"]["tls"] == {
        "termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"
    }  # fmt: skip


def test_deploymentconfig_only_when_asked(rendered: dict[str, list[Doc]]) -> None:
    kinds = [d["kind"] for d in rendered["deploymentconfig"]]
    assert "DeploymentConfig" in kinds
    assert "Deployment" not in kinds
    assert find(rendered["deploymentconfig"], "DeploymentConfig")["spec"]["strategy"] == {
        "type": "Recreate"
    }
    assert "DeploymentConfig" not in [d["kind"] for d in rendered["minimal"]]


def test_network_policies(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["minimal"]
    zot = find(docs, "NetworkPolicy", ZOT)["spec"]
    (rule,) = zot["ingress"]
    sources = rule["from"]
    assert sources[0] == {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "artifact-store",
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": "gateway",
            }
        }
    }
    monitoring = {"kubernetes.io/metadata.name": "openshift-user-workload-monitoring"}
    assert sources[1:] == [{"namespaceSelector": {"matchLabels": monitoring}}]
    gateway = find(docs, "NetworkPolicy", GATEWAY)["spec"]["ingress"]
    assert gateway[0] == {"ports": [{"port": "s3", "protocol": "TCP"}]}
    assert gateway[1]["from"] == [{"namespaceSelector": {"matchLabels": monitoring}}]
    assert gateway[1]["ports"] == [{"port": "management", "protocol": "TCP"}]
    for case in ("optional-off",):
        kinds = {d["kind"] for d in rendered[case]}
        assert not kinds & {"NetworkPolicy", "ServiceMonitor", "Route", "ServiceAccount"}


def test_service_monitors(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["minimal"]
    (gateway,) = find(docs, "ServiceMonitor", GATEWAY)["spec"]["endpoints"]
    assert (gateway["port"], gateway["path"]) == ("management", "/metrics")
    (zot,) = find(docs, "ServiceMonitor", ZOT)["spec"]["endpoints"]
    secret = f"{RELEASE}-artifact-store-zot-credentials"
    assert zot["basicAuth"] == {
        "username": {"name": secret, "key": "username"},
        "password": {"name": secret, "key": "password"},
    }


def test_config_changes_roll_the_pods(tmp_path: Path) -> None:
    def checksums(values: Doc) -> tuple[str, str]:
        docs = render(values, tmp_path)
        gateway = find(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
        zot = find(docs, "StatefulSet")["spec"]["template"]["metadata"]["annotations"]
        return gateway["checksum/config"], zot["checksum/config"]

    same = {"gateway": {"rootCredentials": {"existingSecret": "r"}}}
    assert checksums(same) == checksums(same)
    gateway, zot = checksums(same)
    changed = checksums({**same, "zot": {"gc": {"delay": "2h"}}})
    assert changed[1] != zot
    assert checksums({"gateway": {"logLevel": "debug", **same["gateway"]}})[0] != gateway


def test_the_docs_list_every_value() -> None:
    section = (ROOT / "docs" / "deploy.md").read_text().split("## Helm on OpenShift", 1)[1]
    section = section.split("\n## ", 1)[0]
    documented = [line for line in section.splitlines() if line.startswith("| `")]
    assert documented == values_table()


def test_zot_hashes_its_htpasswd_in_the_pod_from_the_secret(rendered: dict[str, list[Doc]]) -> None:
    """Helm's htpasswd hashes at bcrypt cost 10, which Zot would pay on every request: an init
    container (the gateway image) writes the cost-4 line into memory for Zot instead."""
    pod = find(rendered["minimal"], "StatefulSet", f"{RELEASE}-artifact-store-zot")["spec"]
    spec = pod["template"]["spec"]
    (init,) = spec["initContainers"]
    gateway = find(rendered["minimal"], "Deployment")["spec"]["template"]["spec"]
    assert init["image"] == gateway["containers"][0]["image"]
    assert init["command"][:2] == ["artifact-store", "registry-htpasswd"]
    assert "--out=/etc/zot/auth/htpasswd" in init["command"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["auth"]["emptyDir"]["medium"] == "Memory"
    assert volumes["credentials"]["secret"]["items"] == [
        {"key": "username", "path": "username"},
        {"key": "password", "path": "password"},
    ]
    (zot,) = spec["containers"]
    assert {"name": "auth", "mountPath": "/etc/zot/auth", "readOnly": True} in zot["volumeMounts"]
