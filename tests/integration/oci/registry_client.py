"""A small OCI client for the front door's tests: the token dance as podman does it
(challenge, then the token endpoint with Basic or Bearer), blobs and manifests by hand."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
    "size": 2,
}


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def challenge(response: httpx.Response) -> dict[str, str]:
    header = response.headers["www-authenticate"]
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def manifest(layers: list[bytes], subject: dict[str, Any] | None = None, **extra: Any) -> bytes:
    document: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": "application/vnd.example.test",
        "config": EMPTY,
        "layers": [
            {"mediaType": "application/octet-stream", "digest": digest_of(b), "size": len(b)}
            for b in layers
        ],
        **extra,
    }
    if subject is not None:
        document["subject"] = subject
    return json.dumps(document).encode()


@dataclass
class OciClient:
    base: str
    username: str | None = None
    password: str | None = None
    bearer: str | None = None  # a Keycloak token, sent to the token endpoint
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=60))
    tokens: dict[str, str] = field(default_factory=dict)

    def credentials(self) -> dict[str, str]:
        if self.username is not None:
            pair = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        if self.bearer is not None:
            return {"Authorization": f"Bearer {self.bearer}"}
        return {}

    def token_response(self, *scopes: str) -> httpx.Response:
        params = [("service", "artifact-store"), *(("scope", s) for s in scopes)]
        return self.http.get(f"{self.base}/v2/token", params=params, headers=self.credentials())

    def token(self, *scopes: str) -> str:
        key = " ".join(scopes)
        if key not in self.tokens:
            response = self.token_response(*scopes)
            assert response.status_code == 200, response.text
            self.tokens[key] = response.json()["token"]
        return self.tokens[key]

    def request(
        self, method: str, path: str, *scopes: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.token(*scopes)}"}
        url = path if path.startswith("http") else f"{self.base}{path}"
        return self.http.request(method, url, headers={**auth, **(headers or {})}, **kw)

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = digest_of(data)
        response = self.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            f"repository:{repository}:pull,push",
            params={"digest": digest},
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 201, response.text
        return digest

    def push_manifest(self, repository: str, reference: str, body: bytes) -> httpx.Response:
        return self.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            f"repository:{repository}:pull,push",
            content=body,
            headers={"Content-Type": MANIFEST},
        )

    def push_image(self, repository: str, tag: str, layers: list[bytes]) -> str:
        self.push_blob(repository, b"{}")
        for layer in layers:
            self.push_blob(repository, layer)
        response = self.push_manifest(repository, tag, manifest(layers))
        assert response.status_code == 201, response.text
        return str(response.headers["docker-content-digest"])
