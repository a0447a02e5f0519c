"""The operator agrees with the Helm chart and with deploy/zot/config.json: the same reencrypt
wiring for the same settings (the Service's serving-cert annotation naming the Secret the
gateway mounts, the HTTPS port on the container and the Service, the gateway's TLS settings
pointing into that mount, the Route's target port and TLS block, no destinationCACertificate
on either, the probes' scheme), and the same Zot config. The chart is rendered by the real
helm (tests/unit/deploy/chart.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from artifact_store_operator import render as r
from artifact_store_operator import zot
from artifact_store_operator.spec import effective

from tests.unit.deploy.chart import RELEASE, render

Doc = dict[str, Any]
OWNER = {
    "apiVersion": "artifactstore.dev/v1alpha1",
    "kind": "ArtifactStore",
    "metadata": {"name": "demo", "namespace": "ns", "uid": "0000-1111"},
}
CASES: dict[str, Doc] = {
    "edge": {},
    "reencrypt": {"route": {"tls": {"termination": "reencrypt"}}},
    "reencrypt-no-redirect": {
        "route": {"tls": {"termination": "reencrypt", "insecureEdgeTerminationPolicy": "None"}}
    },
    "reencrypt-route-off": {"route": {"enabled": False, "tls": {"termination": "reencrypt"}}},
}


def _wiring(objects: list[Doc], gateway: str) -> Doc:
    """What the reencrypt wiring consists of, with the names each renderer chooses replaced by
    their roles (the gateway Service's name, the TLS volume's mount)."""
    workload = next(
        o
        for o in objects
        if o["kind"] in {"Deployment", "DeploymentConfig"} and "template" in o["spec"]
    )
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    service = next(
        o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == gateway
    )
    routes = [o for o in objects if o["kind"] == "Route"]
    annotation = (service["metadata"].get("annotations") or {}).get(r.SERVING_CERT_ANNOTATION)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    tls_volume = next(
        (
            name
            for name, v in volumes.items()
            if "secret" in v and v["secret"]["secretName"] == annotation
        ),
        None,
    )
    env = {e["name"]: e.get("value") for e in container["env"]}
    mount = mounts.get(tls_volume or "", "<no mount>")
    tls_env = {
        key: (value.replace(mount, "<tls-mount>") if isinstance(value, str) else value)
        for key, value in env.items()
        if key.startswith("ARTIFACT_STORE_TLS_")
    }
    return {
        "annotation": annotation and annotation.replace(gateway, "<gateway>"),
        "mounted secret": tls_volume
        and {**volumes[tls_volume]["secret"], "secretName": "<annotated>"},
        "mount read-only": tls_volume
        and next(m.get("readOnly") for m in container["volumeMounts"] if m["name"] == tls_volume),
        "tls env": tls_env,
        "container ports": sorted(
            (p["name"], p["containerPort"], p["protocol"])
            for p in container["ports"]
            if p["name"] == "s3-tls"
        ),
        "service ports": sorted(
            (p["name"], p["port"], p["targetPort"], p["protocol"])
            for p in service["spec"]["ports"]
            if p["name"] == "s3-tls"
        ),
        "route": [
            {
                "port": route["spec"]["port"],
                "tls": route["spec"]["tls"],
                "to": route["spec"]["to"]["name"].replace(gateway, "<gateway>"),
            }
            for route in routes
        ],
        "probes": {
            probe: (
                container[probe]["httpGet"].get("scheme", "HTTP"),
                container[probe]["httpGet"]["port"],
                container[probe]["httpGet"]["path"],
            )
            for probe in ("startupProbe", "livenessProbe", "readinessProbe")
        },
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_reencrypt_wiring_matches_the_chart(case: str, tmp_path: Path) -> None:
    values = CASES[case]
    chart = _wiring(render(values, tmp_path), f"{RELEASE}-artifact-store-gateway")
    rendered = r.render(OWNER, effective(values))
    operator = _wiring([o for objs in rendered.values() for o in objs], "demo-gateway")
    assert operator == chart
    # The chart's condition: a disabled Route re-encrypts nothing.
    reencrypting = case in {"reencrypt", "reencrypt-no-redirect"}
    assert bool(chart["annotation"]) is reencrypting
    assert (chart["service ports"] == [("s3-tls", 9443, "s3-tls", "TCP")]) is reencrypting
    if reencrypting:
        assert chart["annotation"] == "<gateway>-tls"
        assert chart["tls env"] == {
            "ARTIFACT_STORE_TLS_PORT": "9443",
            "ARTIFACT_STORE_TLS_CERT_FILE": "<tls-mount>/tls.crt",
            "ARTIFACT_STORE_TLS_KEY_FILE": "<tls-mount>/tls.key",
        }
    for route in chart["route"]:
        assert route["port"] == {"targetPort": "s3-tls" if reencrypting else "s3"}
        assert "destinationCACertificate" not in route["tls"]
    assert all(scheme == "HTTP" for scheme, _, _ in chart["probes"].values())


ZOT_IMAGE_CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "zot" / "config.json"


def test_zot_config_is_the_image_config() -> None:
    """The operator's Zot config (operator/zot.py, which ships in the operator's package and so
    cannot read the repository's file) equals deploy/zot/config.json, the one the image, the
    chart and the tests' Zot use, for the defaults; GC timing comes from the spec; S3 storage
    changes the storage section only."""
    image = json.loads(ZOT_IMAGE_CONFIG.read_text())
    assert zot.config(effective({})) == image
    timed = zot.config(effective({"zot": {"gc": {"delay": "2h", "interval": "12h"}}}))
    assert timed["storage"] == {**image["storage"], "gcDelay": "2h", "gcInterval": "12h"}
    s3 = zot.config(
        effective(
            {"zot": {"storage": {"type": "s3", "s3": {"bucket": "b", "existingSecret": "x"}}}}
        )
    )
    assert {k: v for k, v in s3.items() if k != "storage"} == {
        k: v for k, v in image.items() if k != "storage"
    }
    assert s3["storage"]["retention"] == image["storage"]["retention"]
