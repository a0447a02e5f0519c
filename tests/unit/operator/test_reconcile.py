"""reconcile() against a fake API (unit level): a kind the cluster does not serve fails the
reconcile and says so in Degraded; generated Secrets are created only when missing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from artifact_store_operator.kube import ApiError
from artifact_store_operator.reconcile import reconcile

BODY = {
    "apiVersion": "artifactstore.dev/v1alpha1",
    "kind": "ArtifactStore",
    "metadata": {"name": "demo", "namespace": "ns", "uid": "u-1", "generation": 3},
    "spec": {},
}


class FakeKube:
    """Records calls; Route is not served (404 on apply)."""

    def __init__(self, existing: set[str]) -> None:
        self.existing, self.applied, self.created = existing, [], []  # type: ignore[var-annotated]
        self.status: dict[str, Any] | None = None

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> Any:
        return {"metadata": {"name": name}} if name in self.existing else None

    async def create(self, obj: dict[str, Any]) -> bool:
        self.created.append(obj["metadata"]["name"])
        return True

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        if obj["kind"] == "Route":
            raise ApiError(404, "the server could not find the requested resource")
        self.applied.append((obj["kind"], obj["metadata"]["name"]))
        return obj

    async def list(self, *_: Any) -> list[Any]:
        return []

    async def patch_status(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        self.status = status


def test_unserved_kind_degrades_and_existing_secrets_stay() -> None:
    fake = FakeKube({"demo-root-credentials"})
    with pytest.raises(ApiError):
        asyncio.run(reconcile(fake, BODY, logging.getLogger("test")))  # type: ignore[arg-type]
    assert fake.created == ["demo-credentials-key", "demo-receipt-key", "demo-zot-credentials"]
    assert ("Deployment", "demo-gateway") in fake.applied
    assert fake.status is not None
    degraded = next(c for c in fake.status["conditions"] if c["type"] == "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "ReconcileFailed")
    assert "404" in degraded["message"]
    assert fake.status["observedGeneration"] == 3


class OwnedKube(FakeKube):
    """Every object exists; the Route ``demo`` is owned by the CR (second reference) and
    another owner, everything else by someone else only."""

    def __init__(self) -> None:
        super().__init__(set())
        self.patches: list[tuple[str, str, list[dict[str, Any]]]] = []

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> Any:
        refs = [{"uid": "other"}]
        if (kind, name) == ("Route", "demo"):
            refs.append({"uid": "u-1"})
        return {"metadata": {"name": name, "ownerReferences": refs}}

    async def patch_json(
        self, api_version: str, kind: str, namespace: str, name: str, ops: list[dict[str, Any]]
    ) -> None:
        self.patches.append((kind, name, ops))


def test_an_unmanaged_components_objects_lose_only_the_crs_owner_reference() -> None:
    fake = OwnedKube()
    body = {**BODY, "spec": {"components": [{"kind": "route", "managed": False}]}}
    asyncio.run(reconcile(fake, body, logging.getLogger("test")))  # type: ignore[arg-type]
    assert fake.patches == [
        (
            "Route",
            "demo",
            [
                {"op": "test", "path": "/metadata/ownerReferences/1/uid", "value": "u-1"},
                {"op": "remove", "path": "/metadata/ownerReferences/1"},
            ],
        )
    ]
    assert ("Route", "demo") not in fake.applied
