"""The package's public names, pinned: the S3 edge and the JSON API import only these."""

from __future__ import annotations

import gateway.policy
from gateway.policy.decide import canned_acl_policy, policy_is_public


def test_exported_members() -> None:
    assert sorted(gateway.policy.__all__) == sorted(
        [
            "MAX_POLICY_BYTES",
            "ROLE_GRANTS",
            "AccessContext",
            "ContextValue",
            "ContextValues",
            "Decision",
            "Evaluation",
            "EvaluationContext",
            "MalformedPolicy",
            "Policy",
            "Statement",
            "UnsupportedCannedAcl",
            "canned_acl_policy",
            "decide",
            "evaluate",
            "evaluation_context",
            "listing_condition_keys",
            "parse_bucket_policy",
            "parse_identity_policy",
            "policy_is_public",
            "resource_arn",
            "serialize",
        ]
    )
    for name in gateway.policy.__all__:
        assert hasattr(gateway.policy, name)


def test_decide_module_offers_the_public_access_helpers() -> None:
    assert canned_acl_policy is gateway.policy.canned_acl_policy
    assert policy_is_public is gateway.policy.policy_is_public
