"""The Authorizer's decisions counted by action, outcome and the kind of rule that decided
(never the rule's names: buckets and statement ids would make series without bound)."""

from __future__ import annotations

import asyncio
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from gateway.access import Authorizer, basis
from gateway.domain.store import Store
from gateway.domain.values import Principal


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("root", "root"),
        ("role:artifact-writer", "role"),
        ("group:/buckets/demo/readers", "group"),
        ("authenticated", "authenticated"),
        ("bucket-policy:demo:PublicRead", "bucket-policy"),
        ("deny:bucket-policy:demo:NoDeletes", "bucket-policy"),
        ("deny:session-policy", "session-policy"),
        ("deny:identity-policy", "identity-policy"),
        ("default-deny", "default-deny"),
    ],
)
def test_basis(rule: str, expected: str) -> None:
    assert basis(rule) == expected


names = st.text(st.characters(blacklist_characters=":"), min_size=1, max_size=20)


@given(names, names)
def test_basis_never_carries_a_bucket_or_statement_name(bucket: str, sid: str) -> None:
    assert basis(f"bucket-policy:{bucket}:{sid}") == "bucket-policy"
    assert basis(f"deny:bucket-policy:{bucket}:{sid}") == "bucket-policy"


def decisions(action: str, outcome: str, why: str) -> float:
    labels = {"action": action, "outcome": outcome, "basis": why}
    return REGISTRY.get_sample_value("artifact_store_authz_decisions_total", labels) or 0.0


def test_each_decision_is_counted() -> None:
    access = Authorizer(cast(Store, None))  # no bucket named: no policy is looked up
    reader = Principal("alice", "bearer", roles=frozenset({"artifact-reader"}))
    before = (
        decisions("s3:ListAllMyBuckets", "allow", "role"),
        decisions("s3:CreateBucket", "deny", "default-deny"),
        decisions("s3:CreateBucket", "allow", "root"),
    )

    async def decide(who: Principal, action: str) -> bool:
        decision = await access.decide(who, action, "", "", source_ip=None, secure=False)
        return decision.allowed

    assert asyncio.run(decide(reader, "s3:ListAllMyBuckets"))
    assert not asyncio.run(decide(reader, "s3:CreateBucket"))
    assert asyncio.run(decide(Principal("root", "root"), "s3:CreateBucket"))
    assert (
        decisions("s3:ListAllMyBuckets", "allow", "role"),
        decisions("s3:CreateBucket", "deny", "default-deny"),
        decisions("s3:CreateBucket", "allow", "root"),
    ) == (before[0] + 1, before[1] + 1, before[2] + 1)
