"""The container files agree with the product: both Containerfiles lint clean with hadolint
(each ignore justified inline), the Zot image's config and the pod's are ``zot_config`` (what
the tests run) with the container's paths, and the pod runs both containers as non-root on a
read-only root filesystem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.registries import zot_config

ROOT = Path(__file__).resolve().parents[3]
KUBE_YAML = ROOT / "deploy" / "podman" / "artifact-store.yaml"
ZOT_CONFIG = ROOT / "deploy" / "zot" / "config.json"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _documents() -> dict[str, dict[str, Any]]:
    return {
        doc["kind"] + "/" + doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all(KUBE_YAML.read_text())
    }


@pytest.mark.parametrize("containerfile", ["Containerfile", "Containerfile.zot"])
def test_hadolint_finds_nothing(containerfile: str) -> None:
    result = subprocess.run(
        [str(HADOLINT), "--no-color", containerfile],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_zot_image_config_is_the_products() -> None:
    expected: Any = zot_config(Path("/unused"), 5000)
    expected["storage"]["rootDirectory"] = "/var/lib/zot"
    expected["http"]["address"] = "0.0.0.0"
    expected["http"]["auth"]["htpasswd"]["path"] = "/etc/zot/auth/htpasswd"
    assert json.loads(ZOT_CONFIG.read_text()) == expected


def test_the_pod_runs_the_image_config_on_its_loopback() -> None:
    in_pod = json.loads(_documents()["ConfigMap/artifact-store-zot-config"]["data"]["config.json"])
    image = json.loads(ZOT_CONFIG.read_text())
    assert in_pod["http"].pop("address") == "127.0.0.1"
    image["http"].pop("address")
    assert in_pod == image


def test_the_pod_is_non_root_on_read_only_roots() -> None:
    pod = _documents()["Pod/artifact-store"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    by_name = {container["name"]: container for container in pod["containers"]}
    assert set(by_name) == {"zot", "gateway"}
    for container in by_name.values():
        context = container["securityContext"]
        assert (context["readOnlyRootFilesystem"], context["runAsGroup"]) == (True, 0)
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
    env = {item["name"]: item["value"] for item in by_name["gateway"]["env"]}
    assert env["ARTIFACT_STORE_REGISTRY_URL"] == "http://127.0.0.1:5000"
    assert env["ARTIFACT_STORE_REGISTRY_PASSWORD_FILE"].startswith("/etc/artifact-store/zot/")


def test_the_gateway_image_listens_everywhere_as_uid_1001_in_exec_form() -> None:
    text = (ROOT / "Containerfile").read_text()
    runtime = text[text.rindex("\nFROM ") :]
    assert "ARTIFACT_STORE_HOST=0.0.0.0" in runtime
    assert "ARTIFACT_STORE_MANAGEMENT_HOST=0.0.0.0" in runtime
    users = [line.split()[1] for line in runtime.splitlines() if line.startswith("USER ")]
    assert users[-1] == "1001"
    entrypoint = next(line for line in runtime.splitlines() if line.startswith("ENTRYPOINT"))
    assert json.loads(entrypoint.removeprefix("ENTRYPOINT ")) == [
        "/opt/artifact-store/bin/artifact-store"
    ]
    assert not [line for line in text.splitlines() if line.startswith("HEALTHCHECK")]
