"""Public access: canned ACLs as the bucket policies they stand for, and policy status.

S3 stores ACLs separately; here a canned ACL becomes the equivalent bucket policy, so there
is one mechanism to evaluate, show (GetBucketPolicy) and audit. ``public-read`` also lets
everyone read the objects' referrers and verdicts and the bucket's trust: a public artifact's
signatures are what its consumers check it with.
"""

from __future__ import annotations

import json
from ipaddress import ip_network

from gateway.policy.conditions import Condition
from gateway.policy.document import S3_ARN, Policy, Statement
from gateway.policy.roles import GET_REFERRER, GET_TRUST

PRIVATE = "private"
PUBLIC_READ = "public-read"
# Narrower than these, an aws:SourceIp condition keeps a statement non-public, as S3 judges
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html
MIN_PREFIX = {4: 8, 6: 32}
IDENTITY_KEYS = frozenset({"aws:username", "aws:userid"})


class UnsupportedCannedAcl(ValueError):
    """A canned ACL other than private and public-read (the edge answers NotImplemented)."""


def canned_acl_policy(bucket: str, acl: str) -> str | None:
    """The bucket policy JSON a canned ACL stands for; None for ``private`` (no policy)."""
    if acl == PRIVATE:
        return None
    if acl != PUBLIC_READ:
        raise UnsupportedCannedAcl(acl)
    statements = [
        _public_allow("PublicReadGetObject", "s3:GetObject", f"{S3_ARN}{bucket}/*"),
        _public_allow("PublicReadListBucket", "s3:ListBucket", f"{S3_ARN}{bucket}"),
        # Whoever may download may check what it is: signatures, SBOMs, verdicts, the trust.
        _public_allow("PublicReadReferrers", GET_REFERRER, f"{S3_ARN}{bucket}/*"),
        _public_allow("PublicReadTrust", GET_TRUST, f"{S3_ARN}{bucket}"),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _public_allow(sid: str, action: str, resource: str) -> dict[str, str]:
    return {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": action, "Resource": resource}


def policy_is_public(policy: Policy) -> bool:
    """GetBucketPolicyStatus's IsPublic: some Allow reaches everyone without a narrowing
    condition (a source IP range, a fixed user name or id)."""
    return any(_public(statement) for statement in policy.statements)


def _public(statement: Statement) -> bool:
    principals = statement.principals
    if statement.effect != "Allow" or principals is None or not principals.anyone:
        return False
    return not any(_narrows(condition) for condition in statement.conditions)


def _narrows(condition: Condition) -> bool:
    if condition.negated or condition.if_exists or condition.quantifier == "all":
        return False
    if condition.family == "ip":
        networks = [ip_network(value, strict=False) for value in condition.values]
        return all(net.prefixlen >= MIN_PREFIX[net.version] for net in networks)
    return condition.family == "string" and condition.name in IDENTITY_KEYS
