"""What the identity tests share: the callers (one of each kind, with real Keycloak tokens),
how each sends a request, the four bucket policies of the matrix, and the audit log."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
from cryptography.fernet import Fernet

from tests.fixtures.servers import RunningGateway
from tests.fixtures.signing import sign

BUCKET = "team-a"
CREDENTIALS_KEY = Fernet.generate_key()
STS_NAMESPACE = "{https://sts.amazonaws.com/doc/2011-06-15/}"
CALLERS = ("reader", "writer", "admin", "group", "nobody", "key", "sts", "anonymous")
HTTP = httpx.Client(timeout=30)  # one pool for the thousands of matrix requests


@dataclass
class Caller:
    name: str
    bearer: str | None = None
    access_key: str | None = None
    secret: str | None = None
    session_token: str | None = None

    def headers(
        self, method: str, url: str, body: bytes, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        extra = dict(extra or {})
        if self.bearer:
            return {**extra, "Authorization": f"Bearer {self.bearer}"}
        if self.access_key and self.secret:
            if self.session_token:
                extra["X-Amz-Security-Token"] = self.session_token
            return sign(method, url, body, extra, access_key=self.access_key, secret=self.secret)
        return extra

    def basic(self) -> dict[str, str]:
        """HTTP Basic with the access key id and secret (the JSON API's way for key holders)."""
        pair = base64.b64encode(f"{self.access_key}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}

    def call(
        self, method: str, url: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = self.headers(method, url, body, extra)
        if body.startswith(b"{"):
            headers["Content-Type"] = "application/json"
        return HTTP.request(method, url, content=body, headers=headers)


def sts_session(url: str, token: str, role: str, **extra: str) -> dict[str, str]:
    response = httpx.post(
        f"{url}/",
        data={
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "WebIdentityToken": token,
            "RoleArn": f"arn:aws:iam::000000000000:role/{role}",
            "RoleSessionName": "matrix",
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    found = ElementTree.fromstring(response.content).find(f".//{STS_NAMESPACE}Credentials")
    assert found is not None
    return {child.tag.removeprefix(STS_NAMESPACE): child.text or "" for child in found}


def bucket_policy(name: str, bucket: str = BUCKET) -> dict[str, Any] | None:
    """The matrix's bucket policies, written for ``bucket``: none, public-read (anyone may
    list and read), deny-by-IP (every S3 action refused from loopback, where the tests run)
    and prefix-scoped (erin, who has no role, may read reports/)."""
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    statements: dict[str, dict[str, Any]] = {
        "public-read": {  # what the canned ACL stands for (gateway/policy/public.py)
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetObjectReferrer"],
            "Resource": resources,
        },
        "deny-by-ip": {
            "Sid": "NoLoopback",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": resources,
            "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
        },
        "prefix-scoped": {
            "Sid": "ErinReadsReports",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam:::user/erin"},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/reports/*",
        },
    }
    if name == "none":
        return None
    return {"Version": "2012-10-17", "Statement": [statements[name]]}


POLICIES = ("none", "public-read", "deny-by-ip", "prefix-scoped")


def apply_policy(root: Any, name: str, bucket: str = BUCKET) -> None:
    """Put (or, for "none", delete) the named policy on the bucket with the root key."""
    document = bucket_policy(name, bucket)
    if document is None:
        root.delete_bucket_policy(Bucket=bucket)
    else:
        root.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))


def audit_lines(gateway: RunningGateway) -> list[dict[str, Any]]:
    log = Path(gateway.settings.audit_sink() or "")
    return [json.loads(line) for line in log.read_text().splitlines()]


def settled_audit(
    gateway: RunningGateway, responses: Iterable[httpx.Response]
) -> list[dict[str, Any]]:
    """The audit log once every S3 answer's line is in: the edge writes a line after the
    response has gone, so the last few may lag the client by a moment."""
    wanted = {response.headers["x-amz-request-id"] for response in responses}
    lines = audit_lines(gateway)
    for _ in range(100):
        if wanted <= {line["request_id"] for line in lines}:
            break
        time.sleep(0.02)
        lines = audit_lines(gateway)
    return lines
