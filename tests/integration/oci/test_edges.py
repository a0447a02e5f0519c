"""The front door's own answers at its edges: the token endpoint's other forms, paths and
methods the API does not have, the catalog's refusals, a registry that cannot be reached or
refuses the gateway."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry, free_port
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.oci.registry_client import OciClient, challenge, digest_of, manifest

ROOT = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["code"])


def test_the_token_endpoint_takes_the_oauth2_password_grant(
    oci_gateway: RunningGateway, keycloak: RunningKeycloak
) -> None:
    form = {
        "grant_type": "password",
        "username": "bob",
        "password": keycloak.passwords["bob"],
        "service": "artifact-store",
        "scope": "repository:team-a/x:pull,push",
        "client_id": "podman",
    }
    answer = httpx.post(f"{oci_gateway.url}/v2/token", data=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] == answer.json()["token"]
    assert answer.json()["expires_in"] == 300
    refresh = httpx.post(f"{oci_gateway.url}/v2/token", data={"grant_type": "refresh_token"})
    assert refresh.status_code == 400
    wrong = httpx.post(f"{oci_gateway.url}/v2/token", data={**form, "password": "wrong"})
    assert wrong.status_code == 401
    assert httpx.delete(f"{oci_gateway.url}/v2/token").status_code == 405


def test_a_registry_token_is_no_credential_for_another(oci_gateway: RunningGateway) -> None:
    token = OciClient(oci_gateway.url, ACCESS_KEY, SECRET_KEY).token("repository:a/b:pull")
    again = httpx.get(f"{oci_gateway.url}/v2/token", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401
    assert code(again) == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/a/b/nothing-here", 404),
        ("POST", "/v2/a/b/manifests/x", 405),
        ("PUT", "/v2/", 405),
    ],
)
def test_no_such_endpoint(oci_gateway: RunningGateway, method: str, path: str, status: int) -> None:
    anonymous = httpx.request(method, f"{oci_gateway.url}{path}")
    assert anonymous.status_code == 401
    known = httpx.request(method, f"{oci_gateway.url}{path}", headers={"Authorization": ROOT})
    assert known.status_code == status
    assert code(known) == "UNSUPPORTED"


def test_unknown_schemes_and_wrong_secrets_are_refused(oci_gateway: RunningGateway) -> None:
    for authorization in ("Digest x", "Basic !!!", "Basic " + base64.b64encode(b"root:x").decode()):
        answer = httpx.get(f"{oci_gateway.url}/v2/", headers={"Authorization": authorization})
        assert answer.status_code == 401, authorization
        assert challenge(answer)["service"] == "artifact-store"
    wrong = "Basic " + base64.b64encode(f"{ACCESS_KEY}:wrong".encode()).decode()
    assert httpx.get(f"{oci_gateway.url}/v2/", headers={"Authorization": wrong}).status_code == 401


def test_the_catalog_asks_for_its_scope(oci_gateway: RunningGateway) -> None:
    anonymous = httpx.get(f"{oci_gateway.url}/v2/_catalog")
    assert anonymous.status_code == 401
    assert challenge(anonymous)["scope"] == "registry:catalog:*"
    root = OciClient(oci_gateway.url, ACCESS_KEY, SECRET_KEY)
    narrow = root.request("GET", "/v2/_catalog", "repository:a/b:pull")
    assert narrow.status_code == 401
    assert challenge(narrow)["error"] == "insufficient_scope"
    bad = root.request("GET", "/v2/_catalog", "registry:catalog:*", params={"n": "many"})
    assert bad.status_code == 400


def test_an_s3_objects_repository_takes_no_manifest_without_a_subject(
    oci_gateway: RunningGateway,
) -> None:
    root = OciClient(oci_gateway.url, ACCESS_KEY, SECRET_KEY)
    repository = "ocis3/some-bucket/aa"
    body = manifest([])
    refused = root.push_manifest(repository, digest_of(body), body)
    assert refused.status_code == 403
    assert code(refused) == "DENIED"
    not_json = root.push_manifest(repository, digest_of(b"[1"), b"[1")
    assert not_json.status_code == 403


def _gateway_on(tmp_path: Path, registry_url: str, auth: tuple[str, str] | None) -> Any:
    username, password = auth or (None, None)
    elsewhere = RunningRegistry(
        "zot",
        registry_url,
        None,
        tmp_path / "log",
        username,
        password,  # type: ignore[arg-type]
    )
    return serve(gateway_settings(elsewhere, tmp_path / "data"))


def test_an_unreachable_registry_is_503(tmp_path: Path) -> None:
    with _gateway_on(tmp_path, f"http://127.0.0.1:{free_port()}", None) as gateway:
        headers = {"Authorization": ROOT}
        answer = httpx.get(f"{gateway.url}/v2/a/b/tags/list", headers=headers)
        assert answer.status_code == 503
        assert code(answer) == "UNAVAILABLE"
        blob = httpx.get(f"{gateway.url}/v2/a/b/blobs/{digest_of(b'x')}", headers=headers)
        assert blob.status_code == 503


def test_a_registry_refusing_the_gateway_is_503(registry: RunningRegistry, tmp_path: Path) -> None:
    assert registry.auth is not None
    with _gateway_on(tmp_path, registry.url, (registry.auth[0], "wrong")) as gateway:
        headers = {"Authorization": ROOT}
        answer = httpx.get(f"{gateway.url}/v2/a/b/tags/list", headers=headers)
        assert answer.status_code == 503
        blob = httpx.get(f"{gateway.url}/v2/a/b/blobs/{digest_of(b'x')}", headers=headers)
        assert blob.status_code == 503
