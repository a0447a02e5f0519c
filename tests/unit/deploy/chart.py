"""Render the chart with the real helm (``installed("helm")``) and validate what it renders,
offline: Kubernetes 1.31 objects against PyPI ``kubernetes-validate`` (strict), OpenShift's
Route and DeploymentConfig and the Prometheus Operator's ServiceMonitor against the unmodified
schemas in ``../shared/vendor/schemas`` (SHA256SUMS checked first), made strict the way the
API server prunes: an unknown field is an error."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.fixtures.tools import installed

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "artifact-store"
KUBE_VERSION = "1.31.0"
RELEASE, NAMESPACE = "store", "artifacts"

Doc = dict[str, Any]


def vendor_schemas() -> Path:
    """../shared/vendor/schemas beside the checkout (or ARTIFACT_STORE_VENDOR_SCHEMAS), with
    every file's SHA-256 as SHA256SUMS says."""
    found = Path(
        os.environ.get("ARTIFACT_STORE_VENDOR_SCHEMAS")
        or ROOT.parent / "shared" / "vendor" / "schemas"
    )
    sums = found / "SHA256SUMS"
    if not sums.is_file():
        message = f"no vendored schemas at {found}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    for line in sums.read_text().splitlines():
        digest, name = line.split()
        actual = hashlib.sha256((found / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name}: SHA-256 {actual}, SHA256SUMS says {digest}"
    return found


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(installed("helm")), *args], capture_output=True, text=True, timeout=120, check=False
    )


def template(values: Doc, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    values_file = tmp / f"values-{hashlib.sha256(repr(values).encode()).hexdigest()[:8]}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    return helm(
        "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "--kube-version", KUBE_VERSION, "--values", str(values_file), *extra,
    )  # fmt: skip


def render(values: Doc, tmp: Path) -> list[Doc]:
    result = template(values, tmp)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(matches) == 1, f"{len(matches)} {kind} named {name}"
    return matches[0]


def pod_specs(docs: list[Doc]) -> Iterator[tuple[str, Doc]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "StatefulSet", "DeploymentConfig"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


# Validation


def strict(schema: Any) -> Any:
    """A copy where every object with properties refuses others, as the API server's pruning
    of unknown fields (CRDs) and kubectl's strict field validation do. A keyword whose value
    is null (the Route CRD has ``anyOf: null``) is absent, and OpenAPI's ``nullable`` admits
    null, as the API server reads them."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items() if value is not None}
    if out.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@cache
def crd_schema(file_name: str, version: str) -> Doc:
    crd = yaml.safe_load((vendor_schemas() / file_name).read_text())
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    schema: Doc = strict(served["schema"]["openAPIV3Schema"])
    # Every object's metadata is checked as Kubernetes' ObjectMeta (kubernetes-validate).
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


@cache
def openshift_definitions() -> Doc:
    with gzip.open(vendor_schemas() / "openshift-openapi.json.gz") as raw:
        definitions: Doc = json.load(raw)["definitions"]
    # The openapi document writes IntOrString as a string of format int-or-string.
    definitions["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {"type": ["integer", "string"]}
    return {"definitions": strict(definitions)}


def validate_openshift(doc: Doc, definition: str) -> None:
    root = copy.copy(openshift_definitions())
    root["$ref"] = f"#/definitions/{definition}"
    jsonschema.Draft4Validator(root).validate(doc)


CRDS = {
    ("route.openshift.io/v1", "Route"): ("openshift-route.crd.yaml", "v1"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"): (
        "monitoring.coreos.com_servicemonitors.yaml",
        "v1",
    ),
}


def validate(doc: Doc) -> None:
    """Raise when the object is not valid for its kind (an unknown kind too)."""
    key = (doc["apiVersion"], doc["kind"])
    if key in CRDS:
        jsonschema.Draft7Validator(crd_schema(*CRDS[key])).validate(doc)
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": doc["metadata"]},
            KUBE_VERSION,
            strict=True,
        )
    elif key == ("apps.openshift.io/v1", "DeploymentConfig"):
        validate_openshift(doc, "com.github.openshift.api.apps.v1.DeploymentConfig")
        # Its pod template, against Kubernetes 1.31's own (stricter, newer) schema.
        kubernetes_validate.validate(
            {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": doc["metadata"]["name"]},
                "template": doc["spec"]["template"],
            },
            KUBE_VERSION,
            strict=True,
        )
    else:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


# The values table of docs/deploy.md


def values_table() -> list[str]:
    """One Markdown row per value: its path, its default (values.yaml) and its description
    (values.schema.json), in the schema's order."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    rows: list[str] = []

    def walk(node: Doc, default: Any, path: str) -> None:
        for name, child in node["properties"].items():
            if name == "global":
                continue
            here, value = f"{path}.{name}".lstrip("."), (default or {}).get(name)
            parts = child.get("properties", {}).values()
            if parts and all("description" in part for part in parts):
                walk(child, value, here)
            else:
                shown = json.dumps(value, separators=(", ", ": "))
                rows.append(f"| `{here}` | `{shown}` | {child['description']} |")

    walk(schema, defaults, "")
    return rows
