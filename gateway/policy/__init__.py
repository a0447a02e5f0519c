"""The decision layer's pure core: policy documents, their evaluation, and decisions.

No HTTP, no database, no I/O: the S3 edge parses a bucket policy once
(``parse_bucket_policy``), keeps the compiled ``Policy`` and calls ``decide`` per request.
"""

from gateway.policy.conditions import ContextValue, ContextValues
from gateway.policy.decide import (
    AccessContext,
    Decision,
    decide,
    evaluation_context,
    listing_condition_keys,
    resource_arn,
)
from gateway.policy.document import (
    MAX_POLICY_BYTES,
    Policy,
    Statement,
    parse_bucket_policy,
    parse_identity_policy,
    serialize,
)
from gateway.policy.errors import MalformedPolicy
from gateway.policy.evaluate import Evaluation, EvaluationContext, evaluate
from gateway.policy.public import UnsupportedCannedAcl, canned_acl_policy, policy_is_public
from gateway.policy.roles import ROLE_GRANTS

__all__ = [
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
