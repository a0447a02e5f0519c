"""The decision for one request: who may do what, and which rule said so.

Order (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
with Keycloak roles and groups in place of IAM identity policies):

1. the root principal may do everything;
2. an explicit Deny in the bucket policy refuses everyone else;
3. each narrowing policy the principal carries (STS session policy, access key policy) must
   allow the request, or it is refused;
4. a realm role, a bucket group or the bucket policy allows it; anonymous callers have no
   roles or groups, and only ``Principal: "*"`` matches them; any authenticated caller may
   ListAllMyBuckets (the edge filters the list);
5. otherwise it is refused (default deny).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address

from gateway.domain.values import Principal
from gateway.policy.conditions import ContextValues
from gateway.policy.document import S3_ARN, Policy, parse_identity_policy
from gateway.policy.errors import MalformedPolicy
from gateway.policy.evaluate import Evaluation, EvaluationContext, evaluate
from gateway.policy.public import canned_acl_policy, policy_is_public
from gateway.policy.roles import ANY_AUTHENTICATED, granting_group, granting_role

__all__ = [
    "AccessContext",
    "Decision",
    "canned_acl_policy",
    "decide",
    "evaluation_context",
    "listing_condition_keys",
    "policy_is_public",
    "resource_arn",
]

LISTING_PARAMETERS = ("prefix", "delimiter", "max-keys")
PRINCIPAL_TYPES = {"root": "Account", "sts": "AssumedRole", "anonymous": "Anonymous"}


@dataclass(frozen=True)
class AccessContext:
    """What the transport knows of a request; ``condition_keys`` adds request-specific keys
    such as ``{"s3:prefix": "logs/"}`` (see ``listing_condition_keys``)."""

    now: datetime  # a naive time is taken as UTC
    source_ip: str | IPv4Address | IPv6Address | None = None
    secure_transport: bool = False
    condition_keys: Mapping[str, ContextValues] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str  # what decided, for the audit log: "root", "role:artifact-writer", ...


def listing_condition_keys(query: Mapping[str, str]) -> dict[str, str]:
    """The ``s3:prefix``/``s3:delimiter``/``s3:max-keys`` keys of a listing's query string."""
    return {f"s3:{name}": query[name] for name in LISTING_PARAMETERS if name in query}


def resource_arn(bucket: str | None, key: str | None) -> str:
    """The ARN policies match: the bucket, an object, or (no bucket) the empty S3 ARN,
    which both ``*`` and ``arn:aws:s3:::*`` match."""
    if not bucket:
        return S3_ARN
    return f"{S3_ARN}{bucket}/{key}" if key else f"{S3_ARN}{bucket}"


def decide(
    principal: Principal,
    action: str,
    bucket: str | None,
    key: str | None,
    context: AccessContext,
    bucket_policy: Policy | None = None,
) -> Decision:
    """Allow or refuse ``action`` (an S3 action name such as ``s3:GetObject``) on the bucket
    and key (None or "" for bucket- and service-level actions)."""
    if principal.root:
        return Decision(True, "root")
    request = evaluation_context(principal, action, bucket, key, context)
    verdict = evaluate(bucket_policy, request) if bucket_policy is not None else Evaluation()
    where = f"bucket-policy:{bucket_policy.bucket if bucket_policy else bucket}"
    if verdict.denied:
        return Decision(False, f"deny:{where}:{verdict.denied_by[0]}")
    if not all(_narrowing_allows(document, request) for document in principal.policies):
        return Decision(
            False, "deny:session-policy" if principal.method == "sts" else "deny:identity-policy"
        )
    if not principal.anonymous:
        grant = _grant(principal, action, bucket)
        if grant is not None:
            return Decision(True, grant)
    if verdict.allowed:
        return Decision(True, f"{where}:{verdict.allowed_by[0]}")
    return Decision(False, "default-deny")


def evaluation_context(
    principal: Principal, action: str, bucket: str | None, key: str | None, context: AccessContext
) -> EvaluationContext:
    """The request as policies see it, with the global condition keys filled in."""
    now = context.now if context.now.tzinfo else context.now.replace(tzinfo=UTC)
    keys: dict[str, ContextValues] = {
        "aws:SecureTransport": context.secure_transport,
        "aws:CurrentTime": now,
        "aws:EpochTime": int(now.timestamp()),
        "aws:PrincipalType": PRINCIPAL_TYPES.get(principal.method, "User"),
        "aws:userid": "anonymous" if principal.anonymous else principal.subject or principal.name,
    }
    if not principal.anonymous:
        keys["aws:username"] = principal.name
    if context.source_ip is not None:
        keys["aws:SourceIp"] = str(context.source_ip)
    keys.update(context.condition_keys)
    return EvaluationContext(
        action=action,
        resource=resource_arn(bucket, key),
        user=None if principal.anonymous else principal.name,
        roles=frozenset() if principal.anonymous else principal.roles,
        keys=keys,
    )


def _grant(principal: Principal, action: str, bucket: str | None) -> str | None:
    role = granting_role(principal.roles, action)
    if role is not None:
        return f"role:{role}"
    group = granting_group(principal.groups, bucket, action)
    if group is not None:
        return f"group:{group}"
    if action.lower() in ANY_AUTHENTICATED:
        return "authenticated"
    return None


def _narrowing_allows(document: str, request: EvaluationContext) -> bool:
    policy = _identity_policy(document)
    return policy is not None and evaluate(policy, request).allowed


@functools.lru_cache(maxsize=1024)
def _identity_policy(document: str) -> Policy | None:
    """Compiled once per distinct document; a malformed one (None) allows nothing."""
    try:
        return parse_identity_policy(document)
    except MalformedPolicy:
        return None
