"""The decision for one request, and the rule the audit log records for it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from gateway.domain.values import ANONYMOUS, Principal
from gateway.policy import (
    AccessContext,
    Decision,
    UnsupportedCannedAcl,
    canned_acl_policy,
    decide,
    evaluation_context,
    listing_condition_keys,
    parse_bucket_policy,
    policy_is_public,
    resource_arn,
)
from gateway.policy.roles import REFERRER_ACTIONS, ROLE_GRANTS
from gateway.s3.routes import ROUTES
from tests.unit.policy.support import (
    BUCKET,
    CONTEXT,
    NOW,
    allow,
    bucket_policy,
    deny,
    document,
    user,
)

PLUS_TWO = timezone(timedelta(hours=2))
ROUTE_ACTIONS = sorted({route.action for route in ROUTES})
# The JSON API's actions (/_artifacts/referrers), decided like S3's (of a version named by
# its versionId: the *Version* ones).
API_ACTIONS = [
    "s3:GetObjectReferrer",
    "s3:PutObjectReferrer",
    "s3:DeleteObjectReferrer",
    "s3:GetObjectVersionReferrer",
    "s3:PutObjectVersionReferrer",
    "s3:DeleteObjectVersionReferrer",
]
POLICY_ACTIONS = [
    "s3:GetBucketPolicy",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketPolicyStatus",
    "s3:BypassGovernanceRetention",  # asked for by handlers, beside the route's action
]
READER = {
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAttributes",
    "s3:GetObjectTagging",
    "s3:GetBucketTagging",
    "s3:GetObjectReferrer",
    "s3:GetObjectVersionReferrer",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetObjectRetention",
    "s3:GetObjectLegalHold",
}
WRITER = READER | {
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:CreateBucket",
    "s3:PutObjectReferrer",
    "s3:PutObjectVersionReferrer",
    "s3:PutObjectRetention",
}
ALL_ACTIONS = ROUTE_ACTIONS + POLICY_ACTIONS + API_ACTIONS
GRANTS = {"reader": READER, "writer": WRITER, "admin": set(ALL_ACTIONS)}
PUBLIC_READ = parse_bucket_policy(str(canned_acl_policy(BUCKET, "public-read")), BUCKET)


SERVICE_ACTIONS = {"s3:ListAllMyBuckets"}
OBJECT_ACTIONS = {
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:DeleteObjectVersion",
    "s3:GetObjectAttributes",
    "s3:GetObjectTagging",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:GetObjectRetention",
    "s3:PutObjectRetention",
    "s3:GetObjectLegalHold",
    "s3:PutObjectLegalHold",
    "s3:BypassGovernanceRetention",
    *API_ACTIONS,
}


def target(action: str) -> tuple[str | None, str | None]:
    """(bucket, key) of a request for ``action``, as the S3 edge would pass them."""
    if action in SERVICE_ACTIONS:
        return None, None
    return BUCKET, "k" if action in OBJECT_ACTIONS else None


def test_role_sets_only_name_routed_actions() -> None:
    assert set(ROLE_GRANTS) == {"artifact-reader", "artifact-writer", "artifact-admin"}
    assert set(ROUTE_ACTIONS) | set(API_ACTIONS) >= READER | WRITER
    assert set(API_ACTIONS) == set(REFERRER_ACTIONS)


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("level", ["reader", "writer", "admin"])
def test_realm_roles(level: str, action: str) -> None:
    principal = user(roles=frozenset({f"artifact-{level}"}))
    decision = decide(principal, action, *target(action), CONTEXT)
    if action in GRANTS[level]:
        assert decision == Decision(True, f"role:artifact-{level}")
    else:
        assert decision == Decision(False, "default-deny")


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("level", ["readers", "writers", "admins"])
def test_bucket_groups(level: str, action: str) -> None:
    path = f"/buckets/{BUCKET}/{level}"
    principal = user(groups=frozenset({path, "/buckets/other/admins"}))
    decision = decide(principal, action, *target(action), CONTEXT)
    if action == "s3:ListAllMyBuckets":
        assert decision == Decision(True, "authenticated")
    elif action in GRANTS[level.removesuffix("s")]:
        assert decision == Decision(True, f"group:{path}")
    else:
        assert decision == Decision(False, "default-deny")


def test_groups_grant_on_their_bucket_only() -> None:
    principal = user(groups=frozenset({"/buckets/demo/admins"}))
    assert not decide(principal, "s3:GetObject", "other", "k", CONTEXT).allowed
    assert (
        decide(principal, "s3:PutObject", BUCKET, "k", CONTEXT).rule == "group:/buckets/demo/admins"
    )


def test_weakest_grant_is_named() -> None:
    principal = user(
        roles=frozenset({"artifact-admin", "artifact-reader"}),
        groups=frozenset({"/buckets/demo/writers", "/buckets/demo/readers"}),
    )
    assert decide(principal, "s3:GetObject", BUCKET, "k", CONTEXT).rule == "role:artifact-reader"
    grouped = user(groups=frozenset({"/buckets/demo/admins", "/buckets/demo/writers"}))
    assert (
        decide(grouped, "s3:PutObject", BUCKET, "k", CONTEXT).rule == "group:/buckets/demo/writers"
    )


def test_root_may_do_anything_even_against_a_deny() -> None:
    root = Principal(name="root", method="root")
    policy = bucket_policy(deny(Sid="All", Action="s3:*", Resource="arn:aws:s3:::demo/*"))
    assert decide(root, "s3:DeleteObject", BUCKET, "k", CONTEXT, policy) == Decision(True, "root")


def test_list_all_my_buckets_for_any_authenticated_caller() -> None:
    assert decide(user(), "s3:ListAllMyBuckets", None, None, CONTEXT) == Decision(
        True, "authenticated"
    )
    assert decide(ANONYMOUS, "s3:ListAllMyBuckets", None, None, CONTEXT) == Decision(
        False, "default-deny"
    )


def test_explicit_deny_beats_roles_and_groups() -> None:
    policy = bucket_policy(
        deny(Sid="NoDeletes", Action="s3:DeleteObject", Resource="arn:aws:s3:::demo/*"),
    )
    admin = user(roles=frozenset({"artifact-admin"}), groups=frozenset({"/buckets/demo/admins"}))
    decision = decide(admin, "s3:DeleteObject", BUCKET, "k", CONTEXT, policy)
    assert decision == Decision(False, "deny:bucket-policy:demo:NoDeletes")
    assert decide(admin, "s3:PutObject", BUCKET, "k", CONTEXT, policy).rule == "role:artifact-admin"


def test_deny_by_source_ip_and_insecure_transport() -> None:
    policy = bucket_policy(
        deny(
            Action="s3:*",
            Resource="arn:aws:s3:::demo/*",
            Condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}},
        ),
        deny(
            Sid="TLS",
            Action="s3:*",
            Resource="arn:aws:s3:::demo/*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
    writer = user(roles=frozenset({"artifact-writer"}))
    inside = AccessContext(now=NOW, source_ip="2001:db8::5", secure_transport=True)
    outside = AccessContext(now=NOW, source_ip="198.51.100.7", secure_transport=True)
    plain = AccessContext(now=NOW, source_ip="192.0.2.1", secure_transport=False)
    assert decide(writer, "s3:PutObject", BUCKET, "k", inside, policy).allowed
    assert (
        decide(writer, "s3:PutObject", BUCKET, "k", outside, policy).rule
        == "deny:bucket-policy:demo:#0"
    )
    assert (
        decide(writer, "s3:PutObject", BUCKET, "k", plain, policy).rule
        == "deny:bucket-policy:demo:TLS"
    )


def test_bucket_policy_grants_users_and_roles() -> None:
    policy = bucket_policy(
        allow(
            Sid="Alice",
            Principal={"AWS": ["arn:aws:iam:::user/alice", "carol"]},
            Action="s3:PutObject",
            Resource="arn:aws:s3:::demo/*",
        ),
        allow(
            Sid="Ci",
            Principal={"AWS": "arn:aws:iam:::role/ci"},
            Action="s3:GetObject",
            Resource="arn:aws:s3:::demo/*",
        ),
    )
    assert decide(user("alice"), "s3:PutObject", BUCKET, "k", CONTEXT, policy) == Decision(
        True, "bucket-policy:demo:Alice"
    )
    assert decide(user("carol"), "s3:PutObject", BUCKET, "k", CONTEXT, policy).allowed
    assert not decide(user("bob"), "s3:PutObject", BUCKET, "k", CONTEXT, policy).allowed
    ci = user("bot", roles=frozenset({"ci"}))
    assert decide(ci, "s3:GetObject", BUCKET, "k", CONTEXT, policy).rule == "bucket-policy:demo:Ci"
    assert not decide(ci, "s3:PutObject", BUCKET, "k", CONTEXT, policy).allowed


def test_anonymous_gets_only_what_everyone_gets() -> None:
    policy = bucket_policy(
        allow(
            Sid="Alice",
            Principal={"AWS": "anonymous"},
            Action="s3:*",
            Resource="arn:aws:s3:::demo/*",
        ),
    )
    assert decide(ANONYMOUS, "s3:GetObject", BUCKET, "k", CONTEXT, policy) == Decision(
        False, "default-deny"
    )
    assert decide(ANONYMOUS, "s3:GetObject", BUCKET, "k", CONTEXT, PUBLIC_READ) == Decision(
        True, "bucket-policy:demo:PublicReadGetObject"
    )
    assert decide(ANONYMOUS, "s3:ListBucket", BUCKET, None, CONTEXT, PUBLIC_READ).allowed
    assert not decide(ANONYMOUS, "s3:PutObject", BUCKET, "k", CONTEXT, PUBLIC_READ).allowed
    # public-read reads the current version and its referrers, not earlier versions' (as it
    # grants no s3:GetObjectVersion).
    assert decide(ANONYMOUS, "s3:GetObjectReferrer", BUCKET, "k", CONTEXT, PUBLIC_READ).allowed
    for earlier in ("s3:GetObjectVersion", "s3:GetObjectVersionReferrer"):
        assert not decide(ANONYMOUS, earlier, BUCKET, "k", CONTEXT, PUBLIC_READ).allowed
    assert not decide(ANONYMOUS, "s3:GetObject", "other", "k", CONTEXT, None).allowed
    # A principal carrying roles cannot be anonymous in effect: method decides.
    odd = Principal(name="x", method="anonymous", roles=frozenset({"artifact-admin"}))
    assert not decide(odd, "s3:GetObject", BUCKET, "k", CONTEXT).allowed


def test_prefix_scoped_listing() -> None:
    policy = bucket_policy(
        allow(
            Sid="Public",
            Action="s3:ListBucket",
            Resource="arn:aws:s3:::demo",
            Condition={"StringLike": {"s3:prefix": "public/*"}},
        ),
    )

    def listing(query: dict[str, str]) -> bool:
        context = AccessContext(now=NOW, condition_keys=listing_condition_keys(query))
        return decide(ANONYMOUS, "s3:ListBucket", BUCKET, None, context, policy).allowed

    assert listing({"prefix": "public/x", "delimiter": "/", "list-type": "2"})
    assert not listing({"prefix": "private/"})
    assert not listing({})
    assert listing_condition_keys({"prefix": "p", "max-keys": "5", "marker": "m"}) == {
        "s3:prefix": "p",
        "s3:max-keys": "5",
    }


SESSION_POLICY = document(
    {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": "arn:aws:s3:::demo*",
    }
)


def test_narrowing_policies_narrow() -> None:
    key = user(
        "svc", method="access-key", roles=frozenset({"artifact-writer"}), policies=(SESSION_POLICY,)
    )
    assert decide(key, "s3:GetObject", BUCKET, "k", CONTEXT) == Decision(
        True, "role:artifact-writer"
    )
    assert decide(key, "s3:PutObject", BUCKET, "k", CONTEXT) == Decision(
        False, "deny:identity-policy"
    )
    assert decide(key, "s3:GetObject", "other", "k", CONTEXT) == Decision(
        False, "deny:identity-policy"
    )
    session = user(
        "ci", method="sts", roles=frozenset({"artifact-writer"}), policies=(SESSION_POLICY,)
    )
    assert decide(session, "s3:PutObject", BUCKET, "k", CONTEXT) == Decision(
        False, "deny:session-policy"
    )


def test_every_narrowing_policy_must_allow() -> None:
    only_docs = document(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::demo/docs/*"}
    )
    no_get = document(
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
    )
    admin = user(roles=frozenset({"artifact-admin"}), policies=(SESSION_POLICY, only_docs))
    assert decide(admin, "s3:GetObject", BUCKET, "docs/a", CONTEXT).allowed
    assert not decide(admin, "s3:GetObject", BUCKET, "a", CONTEXT).allowed
    denied = user(roles=frozenset({"artifact-admin"}), policies=(no_get,))
    assert decide(denied, "s3:GetObject", BUCKET, "k", CONTEXT).rule == "deny:identity-policy"
    assert decide(denied, "s3:PutObject", BUCKET, "k", CONTEXT).allowed


def test_narrowing_policies_also_narrow_bucket_policy_grants() -> None:
    principal = user("alice", policies=(SESSION_POLICY,))
    policy = bucket_policy(allow(Action="s3:*", Resource="arn:aws:s3:::demo/*"))
    assert decide(principal, "s3:GetObject", BUCKET, "k", CONTEXT, policy).allowed
    assert not decide(principal, "s3:DeleteObject", BUCKET, "k", CONTEXT, policy).allowed


def test_a_malformed_narrowing_policy_allows_nothing() -> None:
    principal = user(roles=frozenset({"artifact-admin"}), policies=("{not json",))
    assert decide(principal, "s3:GetObject", BUCKET, "k", CONTEXT) == Decision(
        False, "deny:identity-policy"
    )


def test_bucket_policy_deny_is_checked_before_narrowing() -> None:
    principal = user(method="sts", policies=("{",))
    policy = bucket_policy(deny(Sid="D", Action="s3:*", Resource="arn:aws:s3:::demo/*"))
    assert (
        decide(principal, "s3:GetObject", BUCKET, "k", CONTEXT, policy).rule
        == "deny:bucket-policy:demo:D"
    )


@pytest.mark.parametrize(
    ("principal", "username", "userid", "kind"),
    [
        (user("alice", subject="f81d"), "alice", "f81d", "User"),
        (user("svc", method="access-key"), "svc", "svc", "User"),
        (user("ci", method="sts", subject="s1"), "ci", "s1", "AssumedRole"),
        (Principal(name="root", method="root"), "root", "root", "Account"),
        (ANONYMOUS, None, "anonymous", "Anonymous"),
    ],
)
def test_global_condition_keys(
    principal: Principal, username: str | None, userid: str, kind: str
) -> None:
    context = AccessContext(
        now=datetime(2025, 6, 1, 12), source_ip="192.0.2.1", condition_keys={"s3:Prefix": "p"}
    )
    keys = evaluation_context(principal, "s3:ListBucket", BUCKET, None, context).keys
    assert keys.get("aws:username") == username
    assert keys["aws:userid"] == userid
    assert keys["aws:principaltype"] == kind
    assert keys["aws:epochtime"] == int(NOW.timestamp())  # a naive time is UTC
    assert keys["aws:sourceip"] == "192.0.2.1"
    assert keys["aws:securetransport"] is False
    assert keys["s3:prefix"] == "p"


def test_request_time_is_utc_whatever_zone_it_came_in() -> None:
    """A naive time is taken as UTC; an aware one keeps its moment (mutation testing found
    neither was checked: aws:CurrentTime must compare equal to the UTC instant)."""
    for now in (datetime(2025, 6, 1, 12), datetime(2025, 6, 1, 14, tzinfo=PLUS_TWO)):
        keys = evaluation_context(user(), "s3:GetObject", BUCKET, "k", AccessContext(now=now)).keys
        assert keys["aws:currenttime"] == NOW
        assert keys["aws:epochtime"] == int(NOW.timestamp())


def test_conditions_on_identity_and_time() -> None:
    policy = bucket_policy(
        allow(
            Sid="Alice",
            Action="s3:GetObject",
            Resource="arn:aws:s3:::demo/*",
            Condition={
                "StringEquals": {"aws:username": "alice"},
                "DateLessThan": {"aws:CurrentTime": "2025-07-01T00:00:00Z"},
            },
        ),
    )
    assert decide(user("alice"), "s3:GetObject", BUCKET, "k", CONTEXT, policy).allowed
    assert not decide(user("bob"), "s3:GetObject", BUCKET, "k", CONTEXT, policy).allowed
    late = AccessContext(now=datetime(2025, 8, 1, 12))
    assert not decide(user("alice"), "s3:GetObject", BUCKET, "k", late, policy).allowed


def test_resource_arn() -> None:
    assert resource_arn("demo", "a/b") == "arn:aws:s3:::demo/a/b"
    assert resource_arn("demo", None) == resource_arn("demo", "") == "arn:aws:s3:::demo"
    assert resource_arn(None, None) == "arn:aws:s3:::"


def test_canned_acls() -> None:
    assert canned_acl_policy(BUCKET, "private") is None
    with pytest.raises(UnsupportedCannedAcl, match=r"^public-read-write$"):
        canned_acl_policy(BUCKET, "public-read-write")
    text = canned_acl_policy("my-bucket", "public-read")
    assert text is not None
    assert json.loads(text) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicReadGetObject",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::my-bucket/*",
            },
            {
                "Sid": "PublicReadListBucket",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::my-bucket",
            },
            {
                "Sid": "PublicReadReferrers",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObjectReferrer",
                "Resource": "arn:aws:s3:::my-bucket/*",
            },
            {
                "Sid": "PublicReadTrust",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetBucketTrust",
                "Resource": "arn:aws:s3:::my-bucket",
            },
        ],
    }
    assert policy_is_public(parse_bucket_policy(text, "my-bucket"))


GET_ALL = {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::demo/*"}


@pytest.mark.parametrize(
    ("statement", "public"),
    [
        (allow(**GET_ALL), True),
        (allow(Principal={"AWS": ["alice", "*"]}, **GET_ALL), True),
        (allow(Principal={"AWS": "alice"}, **GET_ALL), False),
        (deny(**GET_ALL), False),
        (allow(**GET_ALL, Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}), False),
        # Host bits set: the condition accepts it as 192.0.2.0/24, and so must the status.
        (allow(**GET_ALL, Condition={"IpAddress": {"aws:SourceIp": "192.0.2.7/24"}}), False),
        (
            allow(
                **GET_ALL,
                Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
            ),
            False,
        ),
        (allow(**GET_ALL, Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}), True),
        (allow(**GET_ALL, Condition={"IpAddress": {"aws:SourceIp": "2001::/16"}}), True),
        (allow(**GET_ALL, Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}), True),
        (allow(**GET_ALL, Condition={"Bool": {"aws:SecureTransport": "true"}}), True),
        (allow(**GET_ALL, Condition={"StringEquals": {"aws:username": "alice"}}), False),
        (allow(**GET_ALL, Condition={"StringEqualsIfExists": {"aws:username": "alice"}}), True),
        (allow(**GET_ALL, Condition={"ForAllValues:StringEquals": {"aws:userid": "u"}}), True),
        (allow(**GET_ALL, Condition={"StringLike": {"aws:username": "a*"}}), True),
        (allow(**GET_ALL, Condition={"Null": {"aws:SourceIp": "false"}}), True),
    ],
)
def test_policy_is_public(statement: dict[str, object], public: bool) -> None:
    assert policy_is_public(bucket_policy(statement)) is public
