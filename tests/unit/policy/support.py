"""Builders shared by the policy tests: documents as dicts, parsed the way the edge will."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gateway.domain.values import Principal
from gateway.policy import AccessContext, Policy, parse_bucket_policy, parse_identity_policy

BUCKET = "demo"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = AccessContext(now=NOW, source_ip="192.0.2.10", secure_transport=True)


def allow(**fields: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": "*", **fields}


def deny(**fields: object) -> dict[str, object]:
    return {"Effect": "Deny", "Principal": "*", **fields}


def document(*statements: dict[str, object], **top: object) -> str:
    return json.dumps({"Version": "2012-10-17", **top, "Statement": list(statements)})


def bucket_policy(*statements: dict[str, object], bucket: str = BUCKET) -> Policy:
    return parse_bucket_policy(document(*statements), bucket)


def identity_policy(*statements: dict[str, object]) -> Policy:
    return parse_identity_policy(document(*statements))


def user(name: str = "alice", **fields: object) -> Principal:
    return Principal(name=name, method=str(fields.pop("method", "bearer")), **fields)  # type: ignore[arg-type]
