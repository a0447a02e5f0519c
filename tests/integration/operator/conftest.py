"""The operator against a real API server: etcd + kube-apiserver, the ArtifactStore CRD and the
OpenShift Route/SCC and Prometheus Operator CRDs (../shared/vendor/schemas, checked against
its SHA256SUMS), the operator's RBAC, and the operator itself as a subprocess logged in with
its ServiceAccount's token (so the tests prove that RBAC is enough)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures import kube
from tests.fixtures.registries import free_port
from tests.fixtures.tools import installed

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "operator" / "config"
VENDOR = ROOT.parent / "shared" / "vendor" / "schemas"
VENDORED_CRDS = (
    "openshift-route.crd.yaml",
    "openshift-securitycontextconstraints.crd.yaml",
    "monitoring.coreos.com_servicemonitors.yaml",
    "monitoring.coreos.com_prometheusrules.yaml",
)
OPERATOR_NAMESPACE = "artifact-store-operator-system"


def _vendored(name: str) -> Path:
    sums = dict(
        reversed(line.split()) for line in (VENDOR / "SHA256SUMS").read_text().splitlines() if line
    )
    path = VENDOR / name
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sums[name], f"{name} changed"
    return path


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[kube.RunningApiServer]:
    etcd, binary = installed("etcd"), installed("kube-apiserver")
    if not VENDOR.is_dir():
        message = f"the vendored CRDs are missing: {VENDOR}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = kube.start(tmp_path_factory.mktemp("kube"), etcd, binary)
    try:
        client = server.client
        for name in VENDORED_CRDS:
            kube.create_all(client, _vendored(name))
        kube.create_all(client, CONFIG / "crd" / "artifactstore.dev_artifactstores.yaml")
        # What OpenShift ships: the ClusterRole the gateway's RoleBinding names.
        kube.create(
            client,
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "system:openshift:scc:restricted-v2"},
                "rules": [
                    {
                        "apiGroups": ["security.openshift.io"],
                        "resources": ["securitycontextconstraints"],
                        "resourceNames": ["restricted-v2"],
                        "verbs": ["use"],
                    }
                ],
            },
        )
        kube.create(
            client,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": OPERATOR_NAMESPACE}},
        )
        for name in ("service_account", "role", "role_binding", "leader_election_role"):
            kube.create_all(client, CONFIG / "rbac" / f"{name}.yaml")
        yield server
    finally:
        kube.stop(server.processes)


@pytest.fixture(scope="session")
def operator_kubeconfig(
    apiserver: kube.RunningApiServer, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    token = kube.token_for(apiserver.client, OPERATOR_NAMESPACE, "artifact-store-operator")
    return apiserver.kubeconfig(
        token, tmp_path_factory.mktemp("operator") / "kubeconfig", OPERATOR_NAMESPACE
    )


class Operator:
    """One operator replica: the process, its log, its metrics and health ports."""

    def __init__(self, kubeconfig: Path, identity: str, log: Path, lease: str) -> None:
        self.identity, self.log = identity, log
        self.metrics, self.health = free_port(), free_port()
        env = {
            **os.environ,
            "KUBECONFIG": str(kubeconfig),
            "POD_NAME": identity,
            "POD_NAMESPACE": OPERATOR_NAMESPACE,
            "METRICS_HOST": "127.0.0.1",
            "METRICS_PORT": str(self.metrics),
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(self.health),
            "ARTIFACT_STORE_OPERATOR_RESYNC_SECONDS": "1",
            "ARTIFACT_STORE_OPERATOR_LEASE": lease,
            "ARTIFACT_STORE_OPERATOR_LEASE_SECONDS": "4",
            "ARTIFACT_STORE_OPERATOR_RENEW_SECONDS": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "artifact_store_operator"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    def metric(self, name: str) -> float | None:
        text = httpx.get(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.health}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def start_operator(
    operator_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str, str], Operator]]:
    started: list[Operator] = []
    logs = tmp_path_factory.mktemp("operator-logs")

    def start(identity: str, lease: str = "artifact-store-operator") -> Operator:
        replica = Operator(operator_kubeconfig, identity, logs / f"{identity}.log", lease)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.stop()
