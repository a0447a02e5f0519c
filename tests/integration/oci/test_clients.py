"""Real OCI clients through the gateway's ``/v2/``, logged in as Keycloak users with their
passwords (the token endpoint's password grant): podman, skopeo, crane, regctl, oras and
cosign push and pull; a pushed image's digest is the pulled one; a reader cannot push; an
anonymous pull of a private image is refused; a cosign signature made through the gateway
verifies with ``cosign verify`` and in the gateway's verdict."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.oci_images import LAYER_CONTENT, layer_tar, layout_file, oci_layout, run
from tests.fixtures.oci_images import podman as podman  # a fixture of the tests below
from tests.fixtures.servers import RunningGateway
from tests.fixtures.tools import installed
from tests.integration.oci.registry_client import MANIFEST, OciClient


@pytest.fixture
def host(oci_gateway: RunningGateway) -> str:
    return oci_gateway.url.removeprefix("http://")


@pytest.fixture
def repository() -> str:
    return f"team-a/tools-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def tool_env(tmp_path: Path) -> dict[str, str]:
    """A clean HOME and Docker config: each test logs in with the tool's own command."""
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    return {**os.environ, "HOME": str(home), "DOCKER_CONFIG": str(home / ".docker")}


@pytest.fixture
def password(keycloak: RunningKeycloak) -> Any:
    return keycloak.passwords.__getitem__


def gateway_digest(gateway: RunningGateway, repository: str, tag: str) -> str:
    """The digest the gateway answers for ``repository:tag`` (as root)."""
    client = OciClient(gateway.url, ACCESS_KEY, SECRET_KEY)
    answer = client.request(
        "HEAD",
        f"/v2/{repository}/manifests/{tag}",
        f"repository:{repository}:pull",
        headers={"Accept": MANIFEST},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.headers["docker-content-digest"])


def fails(command: list[Any], env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(part) for part in command], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0, f"{command[:3]} should have failed:\n{result.stdout}"
    return result.stderr


def test_podman_login_push_pull(
    oci_gateway, host, repository, password, podman, tool_env, tmp_path
):
    (tmp_path / "layer.tar").write_bytes(layer_tar())
    local = "localhost/front-door:v1"
    run([*podman, "import", tmp_path / "layer.tar", local], env=tool_env)
    reference = f"{host}/{repository}:v1"
    login = [*podman, "login", "--tls-verify=false", "--authfile", tmp_path / "auth.json"]
    # A reader logs in, but may not push.
    run([*login, "-u", "alice", "-p", password("alice"), host], env=tool_env)
    authfile = ["--authfile", tmp_path / "auth.json"]
    push = [*podman, "push", "--tls-verify=false", *authfile]
    refused = fails([*push, local, f"docker://{reference}"], tool_env)
    assert "denied" in refused.lower() or "unauthorized" in refused.lower(), refused
    # A writer pushes; the digest pulled back is the one pushed.
    run([*login, "-u", "bob", "-p", password("bob"), host], env=tool_env)
    digest_file = tmp_path / "digest"
    run([*push, "--digestfile", digest_file, local, f"docker://{reference}"], env=tool_env)
    digest = digest_file.read_text().strip()
    assert gateway_digest(oci_gateway, repository, "v1") == digest
    run([*podman, "rmi", local], env=tool_env)
    run([*podman, "pull", "--tls-verify=false", *authfile, reference], env=tool_env)
    inspected = json.loads(run([*podman, "image", "inspect", reference], env=tool_env))
    assert digest in inspected[0]["RepoDigests"][0]
    saved = tmp_path / "saved"
    run(
        [*podman, "image", "save", "--format", "oci-dir", "--output", saved, reference],
        env=tool_env,
    )
    assert layout_file(saved, tag=None) == LAYER_CONTENT
    # Logged out, the private image cannot be pulled.
    run([*podman, "rmi", reference], env=tool_env)
    run([*podman, "logout", *authfile, host], env=tool_env)
    anonymous = fails([*podman, "pull", "--tls-verify=false", *authfile, reference], tool_env)
    assert "unauthorized" in anonymous.lower() or "authentication required" in anonymous.lower()


def test_skopeo_copies_to_the_gateway_and_back(
    oci_gateway, host, repository, password, tool_env, tmp_path
):
    skopeo = installed("skopeo")
    digest = oci_layout(tmp_path / "layout")
    reference = f"docker://{host}/{repository}:v1"
    creds = f"bob:{password('bob')}"
    run(
        [
            # skopeo gzips an uncompressed layer on its way to a registry unless told not to.
            *(skopeo, "copy", "--preserve-digests", "--dest-tls-verify=false"),
            *("--dest-creds", creds),
            *(f"oci:{tmp_path / 'layout'}:v1", reference),
        ],
        env=tool_env,
    )
    assert gateway_digest(oci_gateway, repository, "v1") == digest
    inspected = run(
        [skopeo, "inspect", "--tls-verify=false", "--creds", creds, reference], env=tool_env
    )
    assert json.loads(inspected)["Digest"] == digest
    run(
        [
            *(skopeo, "copy", "--src-tls-verify=false", "--src-creds", creds),
            *(reference, f"oci:{tmp_path / 'pulled'}:v1"),
        ],
        env=tool_env,
    )
    assert layout_file(tmp_path / "pulled") == LAYER_CONTENT


def test_crane_logs_in_pushes_lists_and_pulls(
    oci_gateway, host, repository, password, tool_env, tmp_path
):
    crane = installed("crane")
    run([crane, "auth", "login", host, "-u", "bob", "-p", password("bob")], env=tool_env)
    (tmp_path / "layer.tar").write_bytes(layer_tar())
    reference = f"{host}/{repository}:v1"
    pushed = run(
        [
            *(crane, "append", "--insecure", "--oci-empty-base"),
            *("--new_layer", tmp_path / "layer.tar", "--new_tag", reference),
        ],
        env=tool_env,
    )
    digest = pushed.strip().rsplit("@", 1)[-1]
    assert gateway_digest(oci_gateway, repository, "v1") == digest
    assert run([crane, "digest", "--insecure", reference], env=tool_env).strip() == digest
    run([crane, "tag", "--insecure", reference, "v2"], env=tool_env)
    assert run([crane, "ls", "--insecure", f"{host}/{repository}"], env=tool_env).split() == [
        "v1",
        "v2",
    ]
    assert repository in run([crane, "catalog", "--insecure", host], env=tool_env).split()
    pulled = tmp_path / "pulled"
    run([crane, "pull", "--insecure", "--format", "oci", reference, pulled], env=tool_env)
    assert layout_file(pulled, tag=None) == LAYER_CONTENT


def test_regctl_copies_to_the_gateway_and_back(
    oci_gateway, host, repository, password, tool_env, tmp_path
):
    regctl = installed("regctl")
    digest = oci_layout(tmp_path / "layout")
    run([regctl, "registry", "set", "--tls", "disabled", host], env=tool_env)
    run([regctl, "registry", "login", host, "-u", "bob", "-p", password("bob")], env=tool_env)
    reference = f"{host}/{repository}:v1"
    run([regctl, "image", "copy", f"ocidir://{tmp_path / 'layout'}:v1", reference], env=tool_env)
    assert gateway_digest(oci_gateway, repository, "v1") == digest
    assert run([regctl, "image", "digest", reference], env=tool_env).strip() == digest
    assert run([regctl, "tag", "ls", f"{host}/{repository}"], env=tool_env).split() == ["v1"]
    run([regctl, "image", "copy", reference, f"ocidir://{tmp_path / 'pulled'}:v1"], env=tool_env)
    assert layout_file(tmp_path / "pulled") == LAYER_CONTENT


def test_oras_push_pull_attach_discover(
    oci_gateway, host, repository, password, tool_env, tmp_path
):
    oras = installed("oras")
    run([oras, "login", "--plain-http", "-u", "bob", "-p", password("bob"), host], env=tool_env)
    (tmp_path / "artifact.bin").write_bytes(b"an artifact pushed by oras\n")
    reference = f"{host}/{repository}:v1"
    run([oras, "push", "--plain-http", reference, "artifact.bin"], env=tool_env, cwd=tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    run([oras, "pull", "--plain-http", reference], env=tool_env, cwd=out)
    assert (out / "artifact.bin").read_bytes() == b"an artifact pushed by oras\n"
    (tmp_path / "sbom.json").write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1})
    )
    run(
        [
            *(oras, "attach", "--plain-http", "--artifact-type", "application/vnd.cyclonedx+json"),
            *(reference, "sbom.json"),
        ],
        env=tool_env,
        cwd=tmp_path,
    )
    found = json.loads(
        run([oras, "discover", "--plain-http", "--format", "json", reference], env=tool_env)
    )
    referrers = found.get("referrers") or found.get("manifests") or []
    assert [r["artifactType"] for r in referrers] == ["application/vnd.cyclonedx+json"]


def test_cosign_signs_and_verifies_through_the_gateway(
    oci_gateway, host, repository, password, tool_env, tmp_path
):
    cosign, crane = installed("cosign"), installed("crane")
    env = {**tool_env, "COSIGN_PASSWORD": "front-door"}
    run([cosign, "generate-key-pair"], env=env, cwd=tmp_path)
    run([crane, "auth", "login", host, "-u", "bob", "-p", password("bob")], env=env)
    (tmp_path / "layer.tar").write_bytes(layer_tar())
    pushed = run(
        [
            *(crane, "append", "--insecure", "--oci-empty-base"),
            *("--new_layer", tmp_path / "layer.tar", "--new_tag", f"{host}/{repository}:v1"),
        ],
        env=env,
    )
    image = pushed.strip()  # host/repository@sha256:...
    insecure = ("--allow-http-registry", "--allow-insecure-registry")
    run(
        [
            *(cosign, "sign", "--key", tmp_path / "cosign.key", "--tlog-upload=false"),
            *("--use-signing-config=false", *insecure, "--yes", image),
        ],
        env=env,
    )
    run(
        [
            *(cosign, "verify", "--key", tmp_path / "cosign.pub", "--insecure-ignore-tlog=true"),
            *(*insecure, image),
        ],
        env=env,
    )
    # The gateway's verdict: signed, once the namespace's bucket trusts the key.
    root = {
        "Authorization": OciClient(oci_gateway.url, ACCESS_KEY, SECRET_KEY).credentials()[
            "Authorization"
        ]
    }
    verdict = httpx.get(
        f"{oci_gateway.url}/_artifacts/verify",
        params={"image": image, "fresh": "true"},
        headers=root,
    )
    assert verdict.status_code == 200, verdict.text
    assert verdict.json()["signed"] is False
    assert verdict.json()["trust_bucket"] is None
    assert len(verdict.json()["signatures"]) == 1
    with contextlib.suppress(ClientError):  # another test may have made it
        s3_client(oci_gateway.url).create_bucket(Bucket="team-a")
    trust = {"keys": [{"name": "cosign", "public_key": (tmp_path / "cosign.pub").read_text()}]}
    answer = httpx.put(f"{oci_gateway.url}/_artifacts/trust/team-a", json=trust, headers=root)
    assert answer.status_code == 200, answer.text
    verdict = httpx.get(
        f"{oci_gateway.url}/_artifacts/verify",
        params={"image": image, "fresh": "true"},
        headers=root,
    )
    found = verdict.json()
    assert found["signed"] is True, found
    assert found["trust_bucket"] == "team-a"
    [signature] = found["signatures"]
    assert (signature["verified"], signature["trusted"], signature["covers"]) == (
        True,
        True,
        "manifest",
    )
    assert signature["over"] == image.rsplit("@", 1)[1]
