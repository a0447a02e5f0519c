"""Every object the operator renders, for a matrix of specs, is accepted by a real API server
(v1.34: its built-in schemas and the vendored Route and ServiceMonitor CRDs), as a server-side
apply with dryRun=All: nothing is stored. DeploymentConfig is not served here (no CRD for it in
../shared/vendor/schemas): the unit tests cover its rendering only."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from artifact_store_operator.kube import path
from artifact_store_operator.render import render
from artifact_store_operator.secrets import generated
from artifact_store_operator.spec import effective

from tests.fixtures import kube

NS = "dry-run"
OWNER = {
    "apiVersion": "artifactstore.dev/v1alpha1",
    "kind": "ArtifactStore",
    "metadata": {"name": "matrix", "namespace": NS, "uid": "6f2c1a9e-0000-4000-8000-000000000001"},
}
SPECS: list[dict[str, Any]] = [
    {},
    {
        "route": {"host": "s3.example.com", "tls": {"termination": "reencrypt"}},
        "gateway": {
            "settings": {"registry_retry_attempts": 5, "virtual_host_domain": "s3.x"},
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        },
    },
    {
        "index": {"type": "postgresql", "postgresql": {"existingSecret": "db"}},
        "gateway": {"replicas": 3, "podDisruptionBudget": {"minAvailable": "50%"}},
        "keycloak": {"enabled": True, "issuerUrl": "https://kc.example.com/realms/a"},
    },
    {
        "keycloak": {
            "enabled": True,
            "issuerUrl": "https://kc.example.com/realms/a",
            "registration": {"enabled": True, "adminCredentials": {"existingSecret": "kc-admin"}},
        },
    },
    {
        "zot": {
            "storage": {
                "type": "s3",
                "s3": {"bucket": "b", "existingSecret": "s3", "endpoint": "https://minio:9000"},
            }
        }
    },
    {
        "zot": {
            "managed": False,
            "external": {"url": "http://zot.ext:5000"},
            "credentials": {"existingSecret": "zot"},
        },
        "networkPolicy": {"enabled": False},
    },
    {
        "components": [
            {
                "kind": "gateway",
                "overrides": {
                    "replicas": 1,
                    "env": [{"name": "EXTRA", "value": "1"}],
                    "labels": {"team": "a"},
                    "resources": {"limits": {"memory": "2Gi"}},
                },
            },
            {"kind": "zot", "overrides": {"volumeSize": "5Gi", "annotations": {"a": "b"}}},
        ],
        "serviceAccount": {"create": False, "name": "existing"},
    },
]


@pytest.fixture(scope="module")
def client(apiserver: kube.RunningApiServer) -> httpx.Client:
    kube.create(
        apiserver.client, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    )
    return apiserver.client


@pytest.mark.parametrize("spec", SPECS, ids=[f"spec{i}" for i in range(len(SPECS))])
def test_api_server_accepts_rendered_objects(client: httpx.Client, spec: dict[str, Any]) -> None:
    effective_spec = effective(spec)
    objects = [o for objs in render(OWNER, effective_spec).values() for o in objs]
    objects += generated(OWNER, effective_spec)
    assert objects
    for obj in objects:
        meta = obj["metadata"]
        response = client.patch(
            path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"]),
            params={"fieldManager": "test", "dryRun": "All"},
            content=json.dumps(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        assert response.status_code in (200, 201), f"{obj['kind']}: {response.text}"
