"""A small Kubernetes API client over httpx: server-side apply, create, get, list, delete and
status patches of the few kinds the operator manages. The connection (server, CA, token) is the
one kopf logged in with, so both reach the API server as the same identity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from . import FIELD_MANAGER

Obj = dict[str, Any]
JsonPatch = list[Obj]  # named here: inside Kube, ``list`` is the method

# kind -> (plural, namespaced): every kind the operator reads or writes.
KINDS: dict[str, str] = {
    "ServiceAccount": "serviceaccounts",
    "Secret": "secrets",
    "ConfigMap": "configmaps",
    "Service": "services",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DeploymentConfig": "deploymentconfigs",
    "RoleBinding": "rolebindings",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "NetworkPolicy": "networkpolicies",
    "Route": "routes",
    "ServiceMonitor": "servicemonitors",
    "ArtifactStore": "artifactstores",
    "Lease": "leases",
}


class ApiError(Exception):
    """A non-2xx answer: ``status`` and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True)
class Connection:
    server: str
    token: str | None
    ca_path: str | None
    insecure: bool = False
    token_path: str | None = None  # a projected token the kubelet rotates: read per request


class _Bearer(httpx.Auth):
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def auth_flow(self, request: httpx.Request) -> Any:
        token = self._connection.token
        if self._connection.token_path:
            with open(self._connection.token_path, encoding="utf-8") as file:
                token = file.read().strip()
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


def path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    """The REST path of ``kind`` objects in ``namespace`` (or of the one called ``name``)."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    found = f"{base}/namespaces/{namespace}/{KINDS[kind]}"
    return f"{found}/{name}" if name else found


class Kube:
    """The operator's calls to the API server."""

    def __init__(self, connection: Connection) -> None:
        verify: bool | str = False if connection.insecure else (connection.ca_path or True)
        self._http = httpx.AsyncClient(
            base_url=connection.server, verify=verify, auth=_Bearer(connection), timeout=30
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, url: str, **kwargs: Any) -> Obj | None:
        response = await self._http.request(method, url, **kwargs)
        if response.status_code == 404 and method in {"GET", "DELETE"}:
            return None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise ApiError(response.status_code, message)
        body: Obj = response.json()
        return body

    async def apply(self, obj: Obj) -> Obj:
        """Server-side apply as the operator's field manager (forced: the operator owns these
        fields; a manual edit is reconciled away)."""
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        found = await self._call(
            "PATCH",
            url,
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content=json.dumps(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        assert found is not None
        return found

    async def create(self, obj: Obj) -> bool:
        """Create ``obj`` unless it exists; True when this call created it."""
        meta = obj["metadata"]
        try:
            await self._call(
                "POST", path(obj["apiVersion"], obj["kind"], meta["namespace"]), json=obj
            )
        except ApiError as error:
            if error.status == 409:
                return False
            raise
        return True

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        return await self._call("GET", path(api_version, kind, namespace, name))

    async def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[Obj]:
        found = await self._call(
            "GET", path(api_version, kind, namespace), params={"labelSelector": selector}
        )
        items: list[Obj] = (found or {}).get("items", [])
        return items

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        await self._call(
            "DELETE",
            path(api_version, kind, namespace, name),
            json={"propagationPolicy": "Background"},
        )

    async def patch_json(
        self, api_version: str, kind: str, namespace: str, name: str, ops: JsonPatch
    ) -> None:
        """A JSON patch (RFC 6902): its ``test`` operations make it conditional and atomic."""
        await self._call(
            "PATCH",
            path(api_version, kind, namespace, name),
            params={"fieldManager": FIELD_MANAGER},
            content=json.dumps(ops),
            headers={"Content-Type": "application/json-patch+json"},
        )

    async def replace(self, obj: Obj) -> Obj:
        """PUT with the object's resourceVersion: optimistic concurrency (the Lease)."""
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
        found = await self._call("PUT", url, json=obj)
        assert found is not None
        return found

    async def patch_status(self, obj: Obj, status: Obj) -> None:
        meta = obj["metadata"]
        url = path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"]) + "/status"
        await self._call(
            "PATCH",
            url,
            content=json.dumps({"status": status}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
