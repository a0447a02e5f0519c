"""/_artifacts/permissions/{bucket}: each answer is Authorizer.decide's (roles, groups, the
bucket policy's allows and denies), the bucket policy taken from a stub store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.access import Authorizer
from gateway.api import permissions
from gateway.api.identity import reader
from gateway.domain.values import ANONYMOUS, Principal
from gateway.policy.document import Policy, parse_bucket_policy

BUCKET = "team-a"


class StubAuthorizer(Authorizer):
    def __init__(self, policy: dict[str, Any] | None) -> None:
        super().__init__(store=None)  # type: ignore[arg-type]
        self.policy = policy

    async def bucket_policy(self, bucket: str) -> Policy | None:
        if self.policy is None:
            return None
        return parse_bucket_policy(json.dumps(self.policy), bucket)


def statement(effect: str, user: str, action: str | list[str], resource: str) -> dict[str, Any]:
    return {
        "Effect": effect,
        "Principal": {"AWS": f"arn:aws:iam:::user/{user}"},
        "Action": action,
        "Resource": resource,
    }


def answer(who: Principal, policy: dict[str, Any] | None, **query: str) -> dict[str, Any]:
    app = FastAPI()
    app.include_router(permissions.router)
    app.state.access = StubAuthorizer(policy)
    app.dependency_overrides[reader] = lambda: who

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://g") as http:
            return await http.get(f"/_artifacts/permissions/{BUCKET}", params=query)

    response = asyncio.run(ask())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body["actions"]) == set(permissions.ACTIONS)
    return body


ERIN = Principal("erin", "bearer", subject="erin-id")
ALICE = Principal("alice", "bearer", roles=frozenset({"artifact-reader"}))
BOB = Principal("bob", "bearer", roles=frozenset({"artifact-writer"}))
CAROL = Principal("carol", "bearer", roles=frozenset({"artifact-admin"}))


def test_a_policy_only_writer_may_put() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            statement("Allow", "erin", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
            statement("Allow", "erin", "s3:PutObject", f"arn:aws:s3:::{BUCKET}/*"),
        ],
    }
    actions = answer(ERIN, policy)["actions"]
    assert actions["s3:PutObject"] is True
    assert actions["s3:ListBucket"] is True
    assert actions["s3:DeleteObject"] is False
    assert actions["s3:GetObject"] is False
    assert actions["s3:PutBucketPolicy"] is False
    assert answer(ERIN, None)["actions"]["s3:PutObject"] is False  # no policy: nothing


def test_a_reader_may_read_not_write() -> None:
    actions = answer(ALICE, None)["actions"]
    assert actions["s3:ListBucket"] is True
    assert actions["s3:GetObject"] is True
    assert actions["s3:GetObjectReferrer"] is True
    assert actions["s3:PutObject"] is False
    assert actions["s3:DeleteObject"] is False
    assert actions["s3:PutObjectReferrer"] is False
    assert actions["s3:PutBucketTrust"] is False


def test_writer_and_admin() -> None:
    writer = answer(BOB, None)["actions"]
    assert writer["s3:PutObject"]
    assert writer["s3:DeleteObject"]
    assert writer["s3:PutObjectReferrer"]
    assert not writer["s3:DeleteBucket"]
    assert not writer["s3:PutBucketPolicy"]
    assert all(answer(CAROL, None)["actions"].values())


def test_a_deny_statement_wins_over_the_role() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [statement("Deny", "bob", "s3:PutObject", f"arn:aws:s3:::{BUCKET}/locked/*")],
    }
    assert answer(BOB, policy, prefix="locked/")["actions"]["s3:PutObject"] is False
    assert answer(BOB, policy, prefix="open/")["actions"]["s3:PutObject"] is True
    assert answer(BOB, policy, key="locked/x.bin")["actions"]["s3:PutObject"] is False
    assert answer(BOB, policy, key="locked/x.bin")["key"] == "locked/x.bin"


def test_prefix_scoped_grants_follow_the_prefix() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            statement("Allow", "erin", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/reports/*"),
            {
                **statement("Allow", "erin", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
                "Condition": {"StringLike": {"s3:prefix": "reports/*"}},
            },
        ],
    }
    inside = answer(ERIN, policy, prefix="reports/")["actions"]
    outside = answer(ERIN, policy, prefix="builds/")["actions"]
    assert inside["s3:GetObject"]
    assert inside["s3:ListBucket"]
    assert not outside["s3:GetObject"]
    assert not outside["s3:ListBucket"]


@pytest.mark.parametrize("public", [True, False])
def test_anonymous_gets_what_everyone_is_granted(public: bool) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    actions = answer(ANONYMOUS, policy if public else None)["actions"]
    assert actions["s3:GetObject"] is public
    assert actions["s3:PutObject"] is False
