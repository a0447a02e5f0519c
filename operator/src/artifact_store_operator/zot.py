"""Zot's configuration as the product runs it (docs/ARCHITECTURE.md, "Zot as the gateway runs
it"): gateway-only access, retention that keeps every tag and never deletes untagged manifests
or referrers, GC after a delay, the metrics extension and scrub on. For the defaults it equals
deploy/zot/config.json (tests/unit/operator/test_chart_parity.py); it is written out here, not
read from that file, because the operator's package and image hold operator/src only."""

from __future__ import annotations

from typing import Any

GATEWAY_USER = "artifact-store-gateway"
PORT = 5000
STORAGE_ROOT = "/var/lib/zot"
HTPASSWD_PATH = "/etc/zot/auth/htpasswd"


def config(spec: dict[str, Any]) -> dict[str, Any]:
    """The config.json of a managed Zot for the effective spec."""
    everything = ["read", "create", "update", "delete"]
    gateway_only = {"policies": [{"users": [GATEWAY_USER], "actions": everything}]}
    zot = spec["zot"]
    storage: dict[str, Any] = {
        "rootDirectory": STORAGE_ROOT,
        "dedupe": True,
        "gc": True,
        "gcDelay": zot["gc"]["delay"],
        "gcInterval": zot["gc"]["interval"],
        "retention": {
            "policies": [
                {
                    "repositories": ["**"],
                    "deleteReferrers": False,
                    "deleteUntagged": False,
                    "keepTags": [{"patterns": [".*"]}],
                }
            ],
        },
    }
    if zot["storage"]["type"] == "s3":
        s3 = zot["storage"]["s3"]
        # The S3 driver dedupes through a cache database Zot cannot keep on S3 itself;
        # credentials come from the pod's AWS_* environment (the secret), never the ConfigMap.
        storage["dedupe"] = False
        driver: dict[str, Any] = {
            "name": "s3",
            "rootdirectory": s3["rootDirectory"],
            "region": s3["region"],
            "bucket": s3["bucket"],
            "forcepathstyle": s3["forcePathStyle"],
            "secure": s3["secure"],
            "skipverify": False,
        }
        if s3["endpoint"]:
            driver["regionendpoint"] = s3["endpoint"]
        storage["storageDriver"] = driver
    return {
        "distSpecVersion": "1.1.1",
        "storage": storage,
        "http": {
            "address": "0.0.0.0",  # noqa: S104 - a pod's address; the NetworkPolicy restricts it
            "port": str(PORT),
            "readTimeout": "1h",
            "writeTimeout": "1h",
            "auth": {"htpasswd": {"path": HTPASSWD_PATH}},
            "accessControl": {
                "metrics": {"users": [GATEWAY_USER]},
                "repositories": {"**": gateway_only},
                "adminPolicy": {"users": [GATEWAY_USER], "actions": everything},
            },
        },
        "log": {"level": "warn"},
        "extensions": {
            "metrics": {"enable": True, "prometheus": {"path": "/metrics"}},
            "scrub": {"enable": True, "interval": "24h"},
        },
    }
