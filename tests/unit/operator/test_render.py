"""The operator's rendering: a matrix of specs, their objects, and properties over every spec
the CRD's schema accepts (hypothesis strategies built from that schema)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from artifact_store_operator import render as r
from artifact_store_operator.secrets import generated
from artifact_store_operator.spec import effective, managed
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

CRD = (
    Path(__file__).resolve().parents[3]
    / "operator/config/crd/artifactstore.dev_artifactstores.yaml"
)
SCHEMA = yaml.safe_load(CRD.read_text())["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
SPEC_SCHEMA = SCHEMA["properties"]["spec"]
OWNER = {
    "apiVersion": "artifactstore.dev/v1alpha1",
    "kind": "ArtifactStore",
    "metadata": {"name": "demo", "namespace": "ns", "uid": "0000-1111"},
}
DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _kinds(rendered: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for objs in rendered.values() for o in objs}


def _cel(spec: dict[str, Any]) -> bool:
    """The CRD's x-kubernetes-validations rules, over the defaulted spec."""
    e = effective(spec)
    return (
        (e["index"]["type"] != "sqlite" or e["gateway"]["replicas"] <= 1)
        and (
            e["index"]["type"] == "postgresql"
            or all(
                c["kind"] != "gateway" or (c.get("overrides") or {}).get("replicas", 0) <= 1
                for c in e["components"]
            )
        )
        and (e["zot"]["managed"] or e["zot"]["external"]["url"] != "")
        and (e["zot"]["managed"] or e["zot"]["credentials"]["existingSecret"] != "")
        and (e["index"]["type"] != "postgresql" or e["index"]["postgresql"]["existingSecret"] != "")
        and (
            e["zot"]["storage"]["type"] != "s3"
            or (
                e["zot"]["storage"]["s3"]["bucket"] != ""
                and e["zot"]["storage"]["s3"]["existingSecret"] != ""
            )
        )
        and (not e["keycloak"]["enabled"] or e["keycloak"]["issuerUrl"] != "")
        and (
            not e["keycloak"]["registration"]["enabled"]
            or e["keycloak"]["registration"]["adminCredentials"]["existingSecret"] != ""
        )
    )


def test_defaults_render_every_component() -> None:
    rendered = r.render(OWNER, effective({}))
    assert set(rendered) == {"gateway", "zot", "index", "route", "monitoring"}
    assert _kinds(rendered) == {
        ("ServiceAccount", "demo-gateway"),
        ("RoleBinding", "demo-gateway-scc"),
        ("Deployment", "demo-gateway"),
        ("Service", "demo-gateway"),
        ("PodDisruptionBudget", "demo-gateway"),
        ("ConfigMap", "demo-zot-config"),
        ("PersistentVolumeClaim", "demo-zot-data"),
        ("StatefulSet", "demo-zot"),
        ("Service", "demo-zot"),
        ("NetworkPolicy", "demo-zot"),
        ("PersistentVolumeClaim", "demo-index"),
        ("Route", "demo"),
        ("ServiceMonitor", "demo-gateway"),
        ("ServiceMonitor", "demo-zot"),
    }


@pytest.mark.parametrize(
    ("spec", "present", "absent"),
    [
        (
            {"gateway": {"workload": "DeploymentConfig"}},
            {("DeploymentConfig", "demo-gateway")},
            {("Deployment", "demo-gateway")},
        ),
        (
            {
                "zot": {
                    "managed": False,
                    "external": {"url": "http://zot.ext:5000"},
                    "credentials": {"existingSecret": "zot"},
                }
            },
            {("Deployment", "demo-gateway")},
            {
                ("StatefulSet", "demo-zot"),
                ("ServiceMonitor", "demo-zot"),
                ("NetworkPolicy", "demo-zot"),
            },
        ),
        (
            {
                "index": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
                "gateway": {"replicas": 3},
            },
            {("Deployment", "demo-gateway")},
            {("PersistentVolumeClaim", "demo-index")},
        ),
        (
            {
                "components": [
                    {"kind": "route", "managed": False},
                    {"kind": "monitoring", "managed": False},
                ]
            },
            {("Deployment", "demo-gateway")},
            {("Route", "demo"), ("ServiceMonitor", "demo-gateway")},
        ),
        (
            {
                "route": {"enabled": False},
                "networkPolicy": {"enabled": False},
                "gateway": {"podDisruptionBudget": {"enabled": False}},
            },
            {("StatefulSet", "demo-zot")},
            {
                ("Route", "demo"),
                ("NetworkPolicy", "demo-zot"),
                ("PodDisruptionBudget", "demo-gateway"),
            },
        ),
        (
            {"zot": {"storage": {"type": "s3", "s3": {"bucket": "b", "existingSecret": "s3"}}}},
            {("StatefulSet", "demo-zot")},
            {("PersistentVolumeClaim", "demo-zot-data")},
        ),
        (
            {"serviceAccount": {"create": False, "name": "mine"}},
            {("RoleBinding", "demo-gateway-scc")},
            {("ServiceAccount", "demo-gateway")},
        ),
    ],
)
def test_matrix(spec: dict[str, Any], present: set[Any], absent: set[Any]) -> None:
    jsonschema.validate(spec, SPEC_SCHEMA)
    kinds = _kinds(r.render(OWNER, effective(spec)))
    assert present <= kinds
    assert not absent & kinds


def _gateway(spec: dict[str, Any]) -> dict[str, Any]:
    objs = r.render(OWNER, effective(spec))["gateway"]
    return next(o for o in objs if o["kind"] in {"Deployment", "DeploymentConfig"})


def _env(workload: dict[str, Any]) -> dict[str, Any]:
    env = workload["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def test_gateway_environment() -> None:
    env = _env(
        _gateway(
            {
                "gateway": {
                    "workers": 4,
                    "logLevel": "debug",
                    "settings": {"registry_retry_attempts": 5, "virtual_host_domain": "s3.x"},
                },
                "keycloak": {
                    "enabled": True,
                    "issuerUrl": "https://kc/realms/a",
                    "clientSecret": {"existingSecret": "kc", "key": "secret"},
                },
                "index": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
            }
        )
    )
    assert env["ARTIFACT_STORE_WORKERS"] == "4"
    assert env["ARTIFACT_STORE_LOG_LEVEL"] == "debug"
    assert env["ARTIFACT_STORE_REGISTRY_RETRY_ATTEMPTS"] == "5"
    assert env["ARTIFACT_STORE_VIRTUAL_HOST_DOMAIN"] == "s3.x"
    assert env["ARTIFACT_STORE_OIDC_ISSUER"] == "https://kc/realms/a"
    assert env["ARTIFACT_STORE_DATABASE_URL"] == {
        "secretKeyRef": {"name": "db", "key": "databaseUrl"}
    }
    assert env["ARTIFACT_STORE_HOST"] == env["ARTIFACT_STORE_MANAGEMENT_HOST"] == "0.0.0.0"
    assert env["ARTIFACT_STORE_OIDC_PASSWORD_CLIENT_SECRET_FILE"] == (
        "/etc/artifact-store/oidc/clientSecret"
    )
    assert env["ARTIFACT_STORE_RECEIPT_KEY_FILE"] == "/etc/artifact-store/receipt/receiptKey"


def test_existing_secrets_are_used_and_not_generated() -> None:
    spec = effective(
        {
            "gateway": {
                "rootCredentials": {"existingSecret": "root"},
                "credentialsKey": {"existingSecret": "fernet"},
                "receiptKey": {"existingSecret": "receipts"},
            },
            "zot": {"credentials": {"existingSecret": "zotuser"}},
        }
    )
    assert generated(OWNER, spec) == []
    env = _env(_gateway(spec))
    assert env["ARTIFACT_STORE_ROOT_ACCESS_KEY"]["secretKeyRef"]["name"] == "root"
    assert env["ARTIFACT_STORE_CREDENTIALS_KEY"]["secretKeyRef"]["name"] == "fernet"
    assert env["ARTIFACT_STORE_REGISTRY_USERNAME"]["secretKeyRef"]["name"] == "zotuser"
    volumes = {v["name"]: v for v in _gateway(spec)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["receipt"]["secret"]["secretName"] == "receipts"


def test_overrides_win() -> None:
    spec = {
        "index": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
        "components": [
            {
                "kind": "gateway",
                "overrides": {
                    "replicas": 4,
                    "env": [{"name": "EXTRA", "value": "1"}],
                    "labels": {"team": "a"},
                },
            },
            {"kind": "zot", "overrides": {"volumeSize": "9Gi"}},
        ],
    }
    gateway = _gateway(spec)
    assert gateway["spec"]["replicas"] == 4
    assert _env(gateway)["EXTRA"] == "1"
    assert gateway["spec"]["template"]["metadata"]["labels"]["team"] == "a"
    pvc = next(
        o for o in r.render(OWNER, effective(spec))["zot"] if o["kind"] == "PersistentVolumeClaim"
    )
    assert pvc["spec"]["resources"]["requests"]["storage"] == "9Gi"


def _strategy(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the schema accepts (optional properties drawn or left out)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
        return st.just({})
    if schema.get("x-kubernetes-int-or-string"):
        return st.integers(0, 5)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: _strategy(v, depth + 1) for k, v in props.items() if k in required},
            optional={k: _strategy(v, depth + 1) for k, v in props.items() if k not in required},
        )
    if kind == "array":
        if schema.get("x-kubernetes-list-map-keys") == ["kind"]:
            return st.lists(
                _strategy(schema["items"], depth + 1), max_size=6, unique_by=lambda c: c["kind"]
            )
        return st.just([])
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", 0), min(schema.get("maximum", 9), 9))
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: len(s) < 30)
    return st.text("abcdefgh-", min_size=1, max_size=10)


SPECS = _strategy(SPEC_SCHEMA)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(SPECS)
def test_every_accepted_spec_renders_deterministically(spec: dict[str, Any]) -> None:
    assume(_cel(spec))
    jsonschema.validate(spec, SPEC_SCHEMA)
    original = copy.deepcopy(spec)
    first = r.render(OWNER, effective(spec))
    assert r.dumps(first) == r.dumps(r.render(OWNER, effective(copy.deepcopy(spec))))
    assert spec == original  # rendering never mutates the spec
    e = effective(spec)
    for kind, objects in first.items():
        assert managed(e, kind)
        for obj in objects:
            meta = obj["metadata"]
            assert DNS.match(meta["name"])
            assert len(meta["name"]) <= (253 if obj["kind"] in {"Secret", "ServiceAccount"} else 63)
            assert meta["namespace"] == "ns"
            assert meta["ownerReferences"][0]["uid"] == "0000-1111"
            assert meta["labels"]["app.kubernetes.io/component"] in {"gateway", "zot"}
            assert meta["labels"][r.COMPONENT_LABEL] == kind
    if "gateway" in first:
        workload = next(o for o in first["gateway"] if o["kind"].startswith("Deployment"))
        env = _env(workload)
        assert env["ARTIFACT_STORE_REGISTRY_URL"] == r.registry_url("demo", e)
        container = workload["spec"]["template"]["spec"]["containers"][0]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_schema_rejects_unknown_enum() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"index": {"type": "mysql"}}, SPEC_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"components": [{"kind": "database"}]}, SPEC_SCHEMA)


MATRIX = [
    {},
    {"gateway": {"workload": "DeploymentConfig"}},
    {
        "index": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
        "gateway": {"replicas": 3, "podDisruptionBudget": {"minAvailable": "50%"}},
        "keycloak": {
            "enabled": True,
            "issuerUrl": "https://kc/realms/a",
            "clientSecret": {"existingSecret": "kc", "key": "secret"},
        },
    },
    {"zot": {"storage": {"type": "s3", "s3": {"bucket": "b", "existingSecret": "s3"}}}},
    {
        "zot": {
            "managed": False,
            "external": {"url": "http://zot.ext:5000"},
            "credentials": {"existingSecret": "zot"},
        }
    },
    {"route": {"host": "s3.example.com", "tls": {"termination": "reencrypt"}}},
]


@pytest.mark.parametrize("spec", MATRIX, ids=[f"spec{i}" for i in range(len(MATRIX))])
def test_rendered_objects_are_valid_kubernetes_1_31(spec: dict[str, Any]) -> None:
    """Kubernetes 1.31's schemas (kubernetes-validate, strict), the vendored Route and
    ServiceMonitor CRDs and OpenShift's DeploymentConfig definition: the checks of the chart's
    tests (tests/unit/deploy/chart.py), on the operator's objects and generated Secrets."""
    from tests.unit.deploy.chart import validate

    e = effective(spec)
    objects = [o for objs in r.render(OWNER, e).values() for o in objs] + generated(OWNER, e)
    kinds = set()
    for obj in objects:
        validate(obj)
        kinds.add(obj["kind"])
    assert {"Service", "Secret"} <= kinds
