"""The operator reconciling ArtifactStores on a real API server, as its own ServiceAccount:
every object with the right spec, spec changes, conditions from workload status, unmanaged
components left alone, cleanup on delete, and Lease-based leader election."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from artifact_store_operator.spec import effective
from artifact_store_operator.zot import config as zot_config_of
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fixtures import kube
from tests.fixtures.keycloak import REALM, RunningKeycloak
from tests.fixtures.registries import free_port, zot_config
from tests.integration.operator.conftest import Operator

NS = "store"
CR = f"/apis/artifactstore.dev/v1alpha1/namespaces/{NS}/artifactstores"

GATEWAY_OBJECTS = [
    f"/apis/apps/v1/namespaces/{NS}/deployments/demo-gateway",
    f"/api/v1/namespaces/{NS}/services/demo-gateway",
    f"/api/v1/namespaces/{NS}/serviceaccounts/demo-gateway",
    f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings/demo-gateway-scc",
    f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/demo-gateway",
    f"/api/v1/namespaces/{NS}/secrets/demo-root-credentials",
    f"/api/v1/namespaces/{NS}/secrets/demo-credentials-key",
    f"/api/v1/namespaces/{NS}/secrets/demo-receipt-key",
    f"/api/v1/namespaces/{NS}/persistentvolumeclaims/demo-index",
]
ZOT_OBJECTS = [
    f"/apis/apps/v1/namespaces/{NS}/statefulsets/demo-zot",
    f"/api/v1/namespaces/{NS}/services/demo-zot",
    f"/api/v1/namespaces/{NS}/configmaps/demo-zot-config",
    f"/api/v1/namespaces/{NS}/persistentvolumeclaims/demo-zot-data",
    f"/api/v1/namespaces/{NS}/secrets/demo-zot-credentials",
    f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/demo-zot",
]
ROUTE = f"/apis/route.openshift.io/v1/namespaces/{NS}/routes/demo"
MONITORS = [
    f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors/demo-gateway",
    f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors/demo-zot",
]
ALL = GATEWAY_OBJECTS + ZOT_OBJECTS + [ROUTE, *MONITORS]
SPEC = {"route": {"host": "s3.apps.example.com"}, "gateway": {"logLevel": "info"}}


@pytest.fixture(scope="module")
def client(apiserver: kube.RunningApiServer) -> httpx.Client:
    kube.create(
        apiserver.client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    )
    return apiserver.client


@pytest.fixture(scope="module")
def leader(client: httpx.Client, start_operator: Callable[[str], Operator]) -> Iterator[Operator]:
    replica = start_operator("replica-a")
    kube.wait_for(replica.ready, timeout=60)
    return replica


def _get(client: httpx.Client, path: str) -> dict[str, Any] | None:
    response = client.get(path)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _env(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def _secret(client: httpx.Client, name: str) -> dict[str, str]:
    found = _get(client, f"/api/v1/namespaces/{NS}/secrets/{name}")
    assert found is not None
    return {k: base64.b64decode(v).decode() for k, v in found["data"].items()}


def _condition(store: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in store.get("status", {}).get("conditions", []) if c["type"] == kind)


def test_rejects_sqlite_with_two_replicas(client: httpx.Client) -> None:
    response = client.post(
        CR,
        json={
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "invalid", "namespace": NS},
            "spec": {"gateway": {"replicas": 2}},
        },
    )
    assert response.status_code == 422
    assert "index.type sqlite allows one gateway replica" in response.text
    response = client.post(
        CR,
        json={
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "a" * 41, "namespace": NS},
            "spec": {},
        },
    )
    assert response.status_code == 422
    assert "at most 40 characters" in response.text
    response = client.post(
        CR,
        json={
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "invalid", "namespace": NS},
            "spec": {"components": [{"kind": "gateway", "overrides": {"replicas": 3}}]},
        },
    )
    assert response.status_code == 422
    assert "a gateway override of replicas needs index.type postgresql" in response.text


def test_creates_every_object(client: httpx.Client, leader: Operator) -> None:
    created = kube.create(
        client,
        {
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "demo", "namespace": NS},
            "spec": SPEC,
        },
    )
    kube.wait_for(lambda: all(_get(client, path) for path in ALL), timeout=60)
    for path in ALL:
        obj = _get(client, path)
        assert obj is not None
        refs = obj["metadata"]["ownerReferences"]
        assert [r["uid"] for r in refs] == [created["metadata"]["uid"]], path
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "demo"
    deployment = _get(client, GATEWAY_OBJECTS[0])
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # one SQLite writer
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "quay.io/artifact-store/gateway:0.1.0"
    assert pod["serviceAccountName"] == "demo-gateway"
    env = _env(deployment)
    assert env["ARTIFACT_STORE_REGISTRY_URL"] == "http://demo-zot:5000"
    assert env["ARTIFACT_STORE_HOST"] == "0.0.0.0"
    assert env["ARTIFACT_STORE_MANAGEMENT_HOST"] == "0.0.0.0"
    assert env["ARTIFACT_STORE_LOG_LEVEL"] == "info"
    assert env["ARTIFACT_STORE_ROOT_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "demo-root-credentials", "key": "accessKey"}
    }
    # Zot is configured exactly as the tests' own Zot, but for paths and the listen address.
    config = _get(client, ZOT_OBJECTS[2])
    assert config is not None
    rendered = json.loads(config["data"]["config.json"])
    assert rendered == zot_config_of(effective(SPEC))
    reference = zot_config(__import__("pathlib").Path("/x"), 5000)
    assert rendered["http"]["accessControl"] == reference["http"]["accessControl"]
    assert rendered["storage"]["retention"] == reference["storage"]["retention"]
    assert rendered["extensions"] == reference["extensions"]
    zot = _secret(client, "demo-zot-credentials")
    assert set(zot) == {"username", "password"}
    assert zot["username"] == "artifact-store-gateway"
    assert len(zot["password"]) >= 43  # 256 random bits
    # Zot's pod hashes the htpasswd line itself, with the gateway image (as the chart does).
    sts = _get(client, ZOT_OBJECTS[0])
    assert sts is not None
    (init,) = sts["spec"]["template"]["spec"]["initContainers"]
    assert init["command"][:2] == ["artifact-store", "registry-htpasswd"]
    assert init["image"] == "quay.io/artifact-store/gateway:0.1.0"
    # The receipt key loads as the gateway loads it (an EC private key in PEM).
    pem = _secret(client, "demo-receipt-key")["receiptKey"].encode()
    assert isinstance(serialization.load_pem_private_key(pem, None), ec.EllipticCurvePrivateKey)
    route = _get(client, ROUTE)
    assert route is not None
    assert route["spec"]["host"] == "s3.apps.example.com"
    assert route["metadata"]["annotations"]["haproxy.router.openshift.io/timeout"] == "30m"
    binding = _get(client, GATEWAY_OBJECTS[3])
    assert binding is not None
    assert binding["roleRef"]["name"] == "system:openshift:scc:restricted-v2"


def test_conditions_follow_workload_status(client: httpx.Client, leader: Operator) -> None:
    store = kube.wait_for(lambda: (s := _get(client, f"{CR}/demo")) and s.get("status") and s)
    assert _condition(store, "Available")["status"] == "False"
    assert _condition(store, "Available")["reason"] == "GatewayUnavailable"
    assert _condition(store, "Progressing")["status"] == "True"
    assert store["status"]["observedGeneration"] == store["metadata"]["generation"]
    deployment = _get(client, GATEWAY_OBJECTS[0])
    assert deployment is not None
    status = {
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
    }
    _patch_status(client, GATEWAY_OBJECTS[0], status)

    def available():
        return (s := _get(client, f"{CR}/demo")) and (
            _condition(s, "Available")["status"] == "True" and s
        )

    # The gateway alone is not enough: Zot is not ready yet.
    time.sleep(3)
    assert _condition(_get(client, f"{CR}/demo") or {}, "Available")["reason"] == "ZotUnavailable"
    sts = _get(client, ZOT_OBJECTS[0])
    assert sts is not None
    _patch_status(
        client,
        ZOT_OBJECTS[0],
        {
            "observedGeneration": sts["metadata"]["generation"],
            "replicas": 1,
            "readyReplicas": 1,
            "updatedReplicas": 1,
            "availableReplicas": 1,
            "currentReplicas": 1,
        },
    )
    store = kube.wait_for(available, timeout=20)
    assert _condition(store, "Progressing")["status"] == "False"
    assert _condition(store, "Degraded")["status"] == "False"
    assert store["status"]["gatewayReplicas"] == 1
    assert leader.metric("artifact_store_operator_leader") == 1.0


def _patch_status(client: httpx.Client, path: str, status: dict[str, Any]) -> None:
    response = client.patch(
        f"{path}/status",
        content=json.dumps({"status": status}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text


def _patch_spec(client: httpx.Client, spec: dict[str, Any]) -> None:
    response = client.patch(
        f"{CR}/demo",
        content=json.dumps({"spec": spec}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text


def test_spec_change_reconciles(client: httpx.Client, leader: Operator) -> None:
    secrets = {
        n: _secret(client, n)
        for n in (
            "demo-root-credentials",
            "demo-credentials-key",
            "demo-receipt-key",
            "demo-zot-credentials",
        )
    }
    _patch_spec(
        client,
        {
            "gateway": {
                "logLevel": "debug",
                "podDisruptionBudget": {"enabled": False},
                "settings": {"registry_retry_attempts": 5},
            }
        },
    )
    kube.wait_for(
        lambda: (
            (d := _get(client, GATEWAY_OBJECTS[0]))
            and _env(d)["ARTIFACT_STORE_LOG_LEVEL"] == "debug"
        ),
        timeout=30,
    )
    deployment = _get(client, GATEWAY_OBJECTS[0])
    assert deployment is not None
    assert _env(deployment)["ARTIFACT_STORE_REGISTRY_RETRY_ATTEMPTS"] == "5"
    kube.wait_for(lambda: _get(client, GATEWAY_OBJECTS[4]) is None, timeout=30)  # the PDB
    # A manual edit of a managed object is reconciled away.
    response = client.patch(
        GATEWAY_OBJECTS[0],
        content=json.dumps({"spec": {"replicas": 7}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    kube.wait_for(lambda: (d := _get(client, GATEWAY_OBJECTS[0])) and d["spec"]["replicas"] == 1)
    # Generated secrets are stable across reconciles.
    for name, data in secrets.items():
        assert _secret(client, name) == data


def _volatile(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without what the API server changes on any write."""
    meta = {
        k: v
        for k, v in obj["metadata"].items()
        if k not in {"resourceVersion", "managedFields", "ownerReferences", "generation"}
    }
    return {**obj, "metadata": meta}


def test_unmanaged_component_is_left_alone(client: httpx.Client, leader: Operator) -> None:
    store = _get(client, f"{CR}/demo")
    assert store is not None
    uid = store["metadata"]["uid"]
    before = {path: _get(client, path) for path in [ROUTE, *MONITORS]}
    for path, obj in before.items():
        assert obj is not None
        assert [r["uid"] for r in obj["metadata"]["ownerReferences"]] == [uid], path
    _patch_spec(
        client,
        {
            "components": [
                {"kind": "route", "managed": False},
                {"kind": "monitoring", "managed": False},
            ],
            "route": {"host": "other.apps.example.com"},
            "monitoring": {"serviceMonitor": {"interval": "10s"}},
        },
    )
    store = kube.wait_for(
        lambda: (
            (s := _get(client, f"{CR}/demo"))
            and any(
                c == {"kind": "route", "managed": False} for c in s["status"].get("components", [])
            )
            and s
        )
    )
    assert store["status"]["observedGeneration"] == store["metadata"]["generation"]
    # Released: the CR's owner reference is gone (the garbage collector would otherwise delete
    # them with the CR), and nothing else changed.
    for path in [ROUTE, *MONITORS]:
        kube.wait_for(
            lambda path=path: (
                (o := _get(client, path)) is not None and not o["metadata"].get("ownerReferences")
            ),
            timeout=30,
        )
        after = _get(client, path)
        assert after is not None
        assert _volatile(after) == _volatile(before[path]), path  # type: ignore[arg-type]
    time.sleep(3)  # several resyncs
    route = _get(client, ROUTE)
    assert route is not None
    assert route["spec"]["host"] == "s3.apps.example.com"  # not updated to the new host
    assert "ownerReferences" not in route["metadata"]  # not adopted again
    response = client.patch(
        ROUTE,
        content=json.dumps({"metadata": {"labels": {"mine": "yes"}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    time.sleep(3)
    route = _get(client, ROUTE)
    assert route is not None
    assert route["metadata"]["labels"]["mine"] == "yes"
    assert leader.metric('artifact_store_operator_released_objects_total{kind="Route"}') == 1.0


def test_delete_cleans_up(client: httpx.Client, leader: Operator) -> None:
    assert client.delete(f"{CR}/demo").status_code == 200
    kube.wait_for(lambda: _get(client, f"{CR}/demo") is None, timeout=60)
    for path in GATEWAY_OBJECTS + ZOT_OBJECTS:
        found = _get(client, path)
        # PVCs carry kubernetes.io/pvc-protection, which a controller (not run here) removes:
        # deleted means terminating for them.
        assert found is None or "deletionTimestamp" in found["metadata"], path
    # Unmanaged: not the operator's to delete. The test API server runs no garbage collector
    # (no kube-controller-manager), so what keeps them on a cluster is asserted directly: no
    # owner reference to the deleted CR.
    for path in [ROUTE, *MONITORS]:
        found = _get(client, path)
        assert found is not None, path
        assert "deletionTimestamp" not in found["metadata"], path
        assert not found["metadata"].get("ownerReferences"), path


def test_reencrypt_serves_https_with_the_service_ca_certificate(
    client: httpx.Client, leader: Operator
) -> None:
    """route.tls.termination reencrypt: the Service asks OpenShift's service CA for a serving
    certificate, the gateway mounts that Secret and serves HTTPS on 9443, the Route targets that
    port (the chart's wiring; tests/unit/operator/test_chart_parity.py compares the two)."""
    kube.create(
        client,
        {
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "tls", "namespace": NS},
            "spec": {"route": {"tls": {"termination": "reencrypt"}}},
        },
    )
    base = f"/apis/apps/v1/namespaces/{NS}/deployments/tls-gateway"
    service_path = f"/api/v1/namespaces/{NS}/services/tls-gateway"
    route_path = f"/apis/route.openshift.io/v1/namespaces/{NS}/routes/tls"
    kube.wait_for(lambda: all(_get(client, p) for p in (base, service_path, route_path)), 60)
    service = _get(client, service_path)
    assert service is not None
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.openshift.io/serving-cert-secret-name"] == "tls-gateway-tls"
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    assert ports["s3-tls"] == (9443, "s3-tls")
    deployment = _get(client, base)
    assert deployment is not None
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {"name": "s3-tls", "containerPort": 9443, "protocol": "TCP"} in container["ports"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == "tls-gateway-tls"
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "tls"]
    env = _env(deployment)
    assert env["ARTIFACT_STORE_TLS_PORT"] == "9443"
    assert env["ARTIFACT_STORE_TLS_CERT_FILE"] == f"{mount['mountPath']}/tls.crt"
    assert env["ARTIFACT_STORE_TLS_KEY_FILE"] == f"{mount['mountPath']}/tls.key"
    route = _get(client, route_path)
    assert route is not None
    assert route["spec"]["port"]["targetPort"] == "s3-tls"
    assert route["spec"]["tls"]["termination"] == "reencrypt"
    assert "destinationCACertificate" not in route["spec"]["tls"]
    # Back to edge: the wiring goes again.
    response = client.patch(
        f"{CR}/tls",
        content=json.dumps({"spec": {"route": {"tls": {"termination": "edge"}}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    kube.wait_for(
        lambda: (r := _get(client, route_path)) and r["spec"]["port"]["targetPort"] == "s3", 30
    )
    kube.wait_for(
        lambda: (d := _get(client, base)) and "ARTIFACT_STORE_TLS_PORT" not in _env(d), 30
    )
    service = _get(client, service_path)
    assert service is not None
    assert [p["name"] for p in service["spec"]["ports"]] == ["s3", "management"]
    assert "service.beta.openshift.io/serving-cert-secret-name" not in (
        service["metadata"].get("annotations") or {}
    )
    assert client.delete(f"{CR}/tls").status_code == 200
    kube.wait_for(lambda: _get(client, f"{CR}/tls") is None, timeout=60)


def _metric_sum(replica: Operator, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{replica.metrics}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    found: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return found


CONSOLE_URL = "https://store.example.test"


def _registered(keycloak: RunningKeycloak, admin_token: str) -> dict[str, Any]:
    """The registered clients and their mappers, as Keycloak's admin API shows them."""
    base = f"{keycloak.url}/admin/realms/{REALM}"
    headers = {"Authorization": f"Bearer {admin_token}"}
    found = {}
    for client_id in ("op-login", "op-cli", "op-console"):
        response = httpx.get(f"{base}/clients", params={"clientId": client_id}, headers=headers)
        assert response.status_code == 200, response.text
        (client,) = response.json()
        mappers = httpx.get(
            f"{base}/clients/{client['id']}/protocol-mappers/models", headers=headers
        ).json()
        client["protocolMappers"] = sorted(mappers, key=lambda m: m["name"])
        found[client_id] = client
    return found


def test_keycloak_registration(
    client: httpx.Client, leader: Operator, keycloak: RunningKeycloak
) -> None:
    """keycloak.registration against the real Keycloak: the operator registers the gateway's
    confidential client, the CLI client and the console's (authorization code + PKCE, its
    redirect URIs under publicUrl, which Keycloak's authorization endpoint then accepts and
    others not) with their mappers, writes the client secret into
    the Secret the gateway mounts, and a password grant through that client works; further
    reconciles write nothing; bad admin credentials and an unreachable Keycloak show as
    Degraded reasons."""
    admin_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "kc-admin", "namespace": NS},
        "stringData": {"username": keycloak.admin[0], "password": keycloak.admin[1]},
    }
    response = client.post(f"/api/v1/namespaces/{NS}/secrets", json=admin_secret)
    assert response.status_code == 201, response.text
    kube.create(
        client,
        {
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "kc", "namespace": NS},
            "spec": {
                "keycloak": {
                    "enabled": True,
                    "issuerUrl": keycloak.issuer(),
                    "consoleClient": "op-console",
                    "registration": {
                        "enabled": True,
                        "adminCredentials": {"existingSecret": "kc-admin"},
                        "confidentialClient": "op-login",
                        "cliClient": "op-cli",
                        "publicUrl": CONSOLE_URL,
                    },
                }
            },
        },
    )
    secret_path = f"/api/v1/namespaces/{NS}/secrets/kc-keycloak-client"
    kube.wait_for(lambda: _get(client, secret_path), timeout=60)
    client_secret = _secret(client, "kc-keycloak-client")["clientSecret"]
    assert len(client_secret) >= 20
    # The gateway is wired to the registered confidential client and that Secret.
    deployment = _get(client, f"/apis/apps/v1/namespaces/{NS}/deployments/kc-gateway")
    assert deployment is not None
    env = _env(deployment)
    assert env["ARTIFACT_STORE_OIDC_PASSWORD_CLIENT"] == "op-login"
    assert env["ARTIFACT_STORE_OIDC_ISSUER"] == keycloak.issuer()
    assert env["ARTIFACT_STORE_CONSOLE_CLIENT_ID"] == "op-console"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["oidc"]["secret"]["secretName"] == "kc-keycloak-client"
    # A password grant through the registered confidential client, with the Secret's value.
    token = keycloak.token_response(
        {
            "grant_type": "password",
            "client_id": "op-login",
            "client_secret": client_secret,
            "username": "dave",
            "password": keycloak.passwords["dave"],
            "scope": "openid",
        }
    )["access_token"]
    claims = _claims(str(token))
    assert "artifact-store" in (
        [claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"]
    )
    assert claims["preferred_username"] == "dave"
    assert claims["groups"] == ["/buckets/team-a/writers"]
    assert claims["azp"] == "op-login"
    # The CLI client is public with the device grant.
    device = httpx.post(keycloak.device_url(), data={"client_id": "op-cli"}, timeout=30)
    assert device.status_code == 200, device.text
    assert "user_code" in device.json()
    public = keycloak.password_token("dave", client_id="op-cli")
    assert "artifact-store" in str(_claims(public)["aud"])
    # Settled: Degraded is False; further reconciles (every second here) write nothing.
    kube.wait_for(
        lambda: (
            (s := _get(client, f"{CR}/kc"))
            and s.get("status")
            and _condition(s, "Degraded")["status"] == "False"
        ),
        timeout=30,
    )
    admin_token = keycloak.password_token(*keycloak.admin, client_id="admin-cli", realm="master")
    before = _registered(keycloak, admin_token)
    writes = _metric_sum(leader, "artifact_store_operator_keycloak_changes_total")
    assert writes >= 13  # 3 clients, 9 mappers (some may be made by concurrent passes), 1 Secret
    time.sleep(4)
    assert _metric_sum(leader, "artifact_store_operator_keycloak_changes_total") == writes
    assert _registered(keycloak, admin_token) == before
    assert _secret(client, "kc-keycloak-client")["clientSecret"] == client_secret
    assert before["op-cli"]["attributes"]["oauth2.device.authorization.grant.enabled"] == "true"
    assert {m["name"] for m in before["op-login"]["protocolMappers"]} == {
        "audience artifact-store",
        "groups",
        "preferred_username",
    }
    console = before["op-console"]
    assert (console["publicClient"], console["standardFlowEnabled"]) == (True, True)
    assert console["directAccessGrantsEnabled"] is False
    assert console["redirectUris"] == [f"{CONSOLE_URL}/_artifacts/ui/*"]
    assert console["webOrigins"] == [CONSOLE_URL]
    assert console["attributes"]["pkce.code.challenge.method"] == "S256"
    assert {m["name"] for m in console["protocolMappers"]} == {
        "audience artifact-store",
        "groups",
        "preferred_username",
    }
    # Keycloak's authorization endpoint takes the console's redirect URI (its login page), not
    # another (400), nor a request without PKCE.
    auth = f"{keycloak.issuer()}/protocol/openid-connect/auth"
    pkce = {"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}
    pkce["code_challenge_method"] = "S256"
    request = {"client_id": "op-console", "response_type": "code", "scope": "openid"}
    ours = {**request, **pkce, "redirect_uri": f"{CONSOLE_URL}/_artifacts/ui/callback"}
    assert httpx.get(auth, params=ours, timeout=30).status_code == 200
    elsewhere = {**ours, "redirect_uri": "https://evil.example.test/_artifacts/ui/"}
    assert httpx.get(auth, params=elsewhere, timeout=30).status_code == 400
    no_pkce = {**request, "redirect_uri": ours["redirect_uri"]}
    answer = httpx.get(auth, params=no_pkce, timeout=30)
    assert answer.status_code in (302, 303), answer.status_code  # back with an error
    assert "error=invalid_request" in answer.headers["location"]
    # Drift is repaired: the device grant switched off and a mapper deleted by hand come back.
    base = f"{keycloak.url}/admin/realms/{REALM}/clients"
    headers = {"Authorization": f"Bearer {admin_token}"}
    cli = {**before["op-cli"], "attributes": {**before["op-cli"]["attributes"]}}
    cli["attributes"]["oauth2.device.authorization.grant.enabled"] = "false"
    del cli["protocolMappers"]
    assert httpx.put(f"{base}/{cli['id']}", json=cli, headers=headers).status_code == 204
    groups = next(m for m in before["op-login"]["protocolMappers"] if m["name"] == "groups")
    mapper_url = f"{base}/{before['op-login']['id']}/protocol-mappers/models/{groups['id']}"
    assert httpx.delete(mapper_url, headers=headers).status_code == 204
    kube.wait_for(
        lambda: (
            (now := _registered(keycloak, admin_token))["op-cli"]["attributes"][
                "oauth2.device.authorization.grant.enabled"
            ]
            == "true"
            and "groups" in {m["name"] for m in now["op-login"]["protocolMappers"]}
        ),
        timeout=30,
    )
    assert _metric_sum(leader, "artifact_store_operator_keycloak_changes_total") == writes + 2
    # Bad admin credentials, then an unreachable Keycloak: Degraded says which.
    response = client.patch(
        f"/api/v1/namespaces/{NS}/secrets/kc-admin",
        content=json.dumps({"stringData": {"password": "wrong"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text

    def degraded(reason: str) -> Any:
        return (s := _get(client, f"{CR}/kc")) and (
            (c := _condition(s, "Degraded"))["status"] == "True" and c["reason"] == reason and c
        )

    found = kube.wait_for(lambda: degraded("KeycloakCredentialsRejected"), timeout=30)
    assert "admin credentials" in found["message"]
    response = client.patch(
        f"{CR}/kc",
        content=json.dumps(
            {"spec": {"keycloak": {"registration": {"url": f"http://127.0.0.1:{free_port()}"}}}}
        ),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text
    kube.wait_for(lambda: degraded("KeycloakUnreachable"), timeout=30)
    assert client.delete(f"{CR}/kc").status_code == 200
    kube.wait_for(lambda: _get(client, f"{CR}/kc") is None, timeout=60)
    assert _get(client, secret_path) is None  # the Secret it wrote goes with the CR


def test_one_leader_and_takeover(
    client: httpx.Client, leader: Operator, start_operator: Callable[[str], Operator]
) -> None:
    lease_path = (
        "/apis/coordination.k8s.io/v1/namespaces/artifact-store-operator-system/"
        "leases/artifact-store-operator"
    )
    standby = start_operator("replica-b")
    kube.wait_for(standby.ready, timeout=60)
    time.sleep(3)
    lease = _get(client, lease_path)
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "replica-a"
    assert standby.metric("artifact_store_operator_leader") == 0.0
    assert leader.metric("artifact_store_operator_leader") == 1.0
    leader.stop(kill=True)  # no release: the standby waits for the lease to lapse
    kube.wait_for(
        lambda: (x := _get(client, lease_path)) and x["spec"]["holderIdentity"] == "replica-b",
        timeout=30,
    )
    kube.wait_for(lambda: standby.metric("artifact_store_operator_leader") == 1.0, timeout=10)
    lease = _get(client, lease_path)
    assert lease is not None
    assert lease["spec"]["leaseTransitions"] == 1
    # The new leader reconciles.
    kube.create(
        client,
        {
            "apiVersion": "artifactstore.dev/v1alpha1",
            "kind": "ArtifactStore",
            "metadata": {"name": "second", "namespace": NS},
            "spec": {},
        },
    )
    kube.wait_for(
        lambda: _get(client, f"/apis/apps/v1/namespaces/{NS}/deployments/second-gateway"),
        timeout=60,
    )


def test_rbac_was_enough(leader: Operator) -> None:
    """Nothing the operator called was refused (it runs as its ServiceAccount)."""
    text = leader.log.read_text()
    assert "Forbidden" not in text
    assert "forbidden" not in text
