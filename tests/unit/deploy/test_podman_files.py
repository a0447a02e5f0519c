"""The container files agree with the product: the Containerfiles lint clean with hadolint
(each ignore justified inline), the Zot image's config (deploy/zot/config.json, which the
tests' ``zot_config`` derives from) holds the product's settings and the tests' Zot differs from
it only in its local paths, address, port and GC timing, the pod's is the image's, and the pod
runs both containers as non-root on a read-only root filesystem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures.registries import GATEWAY_USER, ZOT_LOCAL_SETTINGS, zot_config

ROOT = Path(__file__).resolve().parents[3]
KUBE_YAML = ROOT / "deploy" / "podman" / "artifact-store.yaml"
ZOT_CONFIG = ROOT / "deploy" / "zot" / "config.json"
HADOLINT = Path(sys.executable).parent / "hadolint"


def _documents() -> dict[str, dict[str, Any]]:
    return {
        doc["kind"] + "/" + doc["metadata"]["name"]: doc
        for doc in yaml.safe_load_all(KUBE_YAML.read_text())
    }


@pytest.mark.parametrize(
    "containerfile", ["Containerfile", "Containerfile.zot", "Containerfile.artifactctl"]
)
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


def _leaves(tree: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(tree, dict):
        found: dict[tuple[str, ...], Any] = {}
        for key, value in tree.items():
            found.update(_leaves(value, (*prefix, key)))
        return found
    return {prefix: tree}


def test_the_zot_image_config_is_the_products() -> None:
    """The settings docs/ARCHITECTURE.md ("Zot as the gateway runs it") names, in the one file
    the image, the pod, the chart, the operator and the tests' Zot agree with."""
    config = json.loads(ZOT_CONFIG.read_text())
    everything = ["read", "create", "update", "delete"]
    assert config["http"]["accessControl"] == {
        "metrics": {"users": [GATEWAY_USER]},
        "repositories": {"**": {"policies": [{"users": [GATEWAY_USER], "actions": everything}]}},
        "adminPolicy": {"users": [GATEWAY_USER], "actions": everything},
    }
    assert config["storage"]["retention"] == {
        "policies": [
            {
                "repositories": ["**"],
                "deleteReferrers": False,
                "deleteUntagged": False,
                "keepTags": [{"patterns": [".*"]}],
            }
        ]
    }
    assert (config["storage"]["gc"], config["storage"]["dedupe"]) == (True, True)
    assert config["extensions"]["metrics"]["enable"] is True
    assert config["extensions"]["scrub"]["enable"] is True
    assert config["http"]["auth"] == {"htpasswd": {"path": "/etc/zot/auth/htpasswd"}}
    assert (config["storage"]["rootDirectory"], config["http"]["port"]) == ("/var/lib/zot", "5000")


def test_the_tests_zot_differs_from_the_image_only_locally() -> None:
    image = _leaves(json.loads(ZOT_CONFIG.read_text()))
    local = _leaves(zot_config(Path("/run/t"), 1234, gc_delay="2s", gc_interval="3s"))
    assert set(local) == set(image)
    differing = {path for path in image if image[path] != local[path]}
    assert differing == set(ZOT_LOCAL_SETTINGS)


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


def test_the_gateway_image_takes_the_built_console_from_a_named_context() -> None:
    """No Node image can be pulled here: the console comes built (scripts/console/build.sh) as
    the build context `console`, and a local gateway/console_assets stays out of the main one."""
    text = (ROOT / "Containerfile").read_text()
    assert "COPY --from=console . ./gateway/console_assets/" in text
    ignored = (ROOT / ".containerignore").read_text().splitlines()
    assert "gateway/console_assets/" in ignored
    fixture = (ROOT / "tests" / "fixtures" / "images.py").read_text()
    assert '"--build-context", f"console={console}"' in fixture
