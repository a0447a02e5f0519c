"""/_artifacts/permissions/{bucket} with real Keycloak tokens against a real gateway and Zot:
each answer agrees with what the gateway then does. erin (no role, no group) may put objects
only by a bucket policy: the endpoint says so, and her PutObject succeeds; alice (reader) is
told no, and her PutObject is refused; a Deny statement turns bob's (writer) yes into no, and
his PutObject is refused too. Problems are RFC 7807."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import s3_client
from tests.fixtures.servers import RunningGateway
from tests.integration.identity.identities import Caller

BUCKET = f"perm-{uuid.uuid4().hex[:8]}"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ErinDrops",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam:::user/erin"},
            "Action": ["s3:ListBucket", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/drop/*"],
        },
        {
            "Sid": "NobodyTouchesLocked",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/locked/*",
        },
    ],
}


@pytest.fixture(scope="module")
def bucket(idp_gateway: RunningGateway) -> str:
    root = s3_client(idp_gateway.url)
    root.create_bucket(Bucket=BUCKET)
    root.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(POLICY))
    return BUCKET


def permissions(gateway: RunningGateway, caller: Caller, **query: str) -> dict[str, bool]:
    response = httpx.get(
        f"{gateway.url}/_artifacts/permissions/{BUCKET}",
        params=query,
        headers=caller.headers("GET", "", b""),
    )
    assert response.status_code == 200, response.text
    actions: dict[str, bool] = response.json()["actions"]
    return actions


def tus_put(gateway: RunningGateway, caller: Caller, key: str) -> int:
    """Create an upload by tus (s3:PutObject on the key, decided at creation)."""
    meta = ",".join(
        f"{name} {base64.b64encode(value.encode()).decode()}"
        for name, value in (("bucket", BUCKET), ("key", key))
    )
    response = httpx.post(
        f"{gateway.url}/_artifacts/uploads",
        headers={
            **caller.headers("POST", "", b""),
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "4",
            "Upload-Metadata": meta,
        },
    )
    return response.status_code


def test_a_policy_only_writer_is_told_yes_and_may(
    idp_gateway: RunningGateway, callers: dict[str, Caller], bucket: str
) -> None:
    erin = callers["nobody"]
    inside = permissions(idp_gateway, erin, prefix="drop/")
    assert inside["s3:PutObject"] is True
    assert inside["s3:ListBucket"] is True
    assert inside["s3:DeleteObject"] is False
    assert inside["s3:DeleteBucket"] is False
    assert tus_put(idp_gateway, erin, "drop/a.txt") == 201
    outside = permissions(idp_gateway, erin, prefix="elsewhere/")
    assert outside["s3:PutObject"] is False
    assert tus_put(idp_gateway, erin, "elsewhere/a.txt") == 403


def test_a_reader_is_told_no_and_may_not(
    idp_gateway: RunningGateway, callers: dict[str, Caller], bucket: str
) -> None:
    alice = callers["reader"]
    actions = permissions(idp_gateway, alice, prefix="drop/")
    assert actions["s3:GetObject"] is True
    assert actions["s3:ListBucket"] is True
    assert actions["s3:PutObject"] is False
    assert actions["s3:PutBucketPolicy"] is False
    assert tus_put(idp_gateway, alice, "drop/b.txt") == 403


def test_a_deny_statement_is_honoured(
    idp_gateway: RunningGateway, callers: dict[str, Caller], bucket: str
) -> None:
    bob = callers["writer"]
    assert permissions(idp_gateway, bob, prefix="open/")["s3:PutObject"] is True
    assert permissions(idp_gateway, bob, prefix="locked/")["s3:PutObject"] is False
    assert permissions(idp_gateway, bob, key="locked/x")["s3:PutObject"] is False
    assert tus_put(idp_gateway, bob, "locked/x") == 403
    admin = permissions(idp_gateway, callers["admin"], prefix="open/")
    assert admin["s3:DeleteBucket"] is True
    assert admin["s3:PutBucketPolicy"] is True


def test_bad_credentials_are_a_problem(idp_gateway: RunningGateway, bucket: str) -> None:
    response = httpx.get(
        f"{idp_gateway.url}/_artifacts/permissions/{BUCKET}",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 401
