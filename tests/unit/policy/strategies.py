"""Hypothesis strategies for policy documents, principals and requests.

Documents are generated as JSON-ready dicts (what a client would send), so every property
goes through the real parser. Alphabets avoid ``[``, so ``fnmatch`` can serve as the
reference for IAM wildcards in the tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_network
from typing import TypeVar

from hypothesis import strategies as st

from gateway.domain.values import Principal
from gateway.policy import AccessContext

T = TypeVar("T")
BUCKET = "demo"
ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:ListAllMyBuckets",
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:GetBucketPolicy",
)
KEY_CHARS = "ab/.x"
USERS = ("alice", "bob", "anonymous")
ROLES = ("artifact-reader", "artifact-writer", "artifact-admin", "ops")
GROUPS = tuple(
    f"/buckets/{b}/{g}" for b in (BUCKET, "other") for g in ("readers", "writers", "admins")
)
START = datetime(2025, 1, 1, tzinfo=UTC)

keys = st.text(alphabet=KEY_CHARS, max_size=6)
key_patterns = st.text(alphabet=KEY_CHARS + "*?", max_size=6)
action_patterns = st.one_of(
    st.sampled_from(ACTIONS),
    st.sampled_from(ACTIONS).map(str.lower),
    st.sampled_from(("*", "s3:*", "s3:Get*", "s3:*Object", "s3:List*", "s3:?etObject")),
    st.text(alphabet="GetPuObjcLis*?", min_size=1, max_size=8).map(lambda s: f"s3:{s}"),
)


def one_or_many(elements: st.SearchStrategy[T]) -> st.SearchStrategy[T | list[T]]:
    return st.one_of(elements, st.lists(elements, min_size=1, max_size=3))


def bucket_resources(bucket: str = BUCKET) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(f"arn:aws:s3:::{bucket}"),
        key_patterns.map(lambda k: f"arn:aws:s3:::{bucket}/{k}"),
    )


identity_resources = st.one_of(
    bucket_resources(),
    bucket_resources("other"),
    st.sampled_from(("*", "arn:aws:s3:::*", "arn:aws:s3:::d*")),
)
principal_entries = st.one_of(
    st.sampled_from(USERS),
    st.sampled_from(USERS).map(lambda u: f"arn:aws:iam:::user/{u}"),
    st.sampled_from(ROLES).map(lambda r: f"arn:aws:iam:::role/{r}"),
    st.just("*"),
)
policy_principals = st.one_of(
    st.just("*"),
    st.fixed_dictionaries({"AWS": one_or_many(principal_entries)}),
)


def _operator(names: tuple[str, ...], quantified: bool = True) -> st.SearchStrategy[str]:
    prefixes = ("", "ForAnyValue:", "ForAllValues:") if quantified else ("",)
    return st.builds(
        lambda p, o, s: f"{p}{o}{s}",
        st.sampled_from(prefixes),
        st.sampled_from(names),
        st.sampled_from(("", "IfExists")),
    )


def _networks() -> st.SearchStrategy[str]:
    v4 = st.tuples(st.ip_addresses(v=4), st.integers(0, 32))
    v6 = st.tuples(st.ip_addresses(v=6), st.integers(0, 128))
    return st.one_of(v4, v6).map(lambda a: str(ip_network(f"{a[0]}/{a[1]}", strict=False)))


STRING_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
)
DATE_OPERATORS = tuple(
    f"Date{c}" for c in ("Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan")
)
NUMERIC_OPERATORS = tuple(
    f"Numeric{c}" for c in ("Equals", "NotEquals", "LessThan", "GreaterThanEquals")
)
dates = st.datetimes(min_value=START.replace(tzinfo=None), max_value=datetime(2026, 1, 1))
condition_tests = st.one_of(
    st.tuples(
        _operator(STRING_OPERATORS),
        st.sampled_from(("s3:prefix", "S3:Prefix", "aws:username", "aws:PrincipalTag/team")),
        one_or_many(st.text(alphabet="ab/*?", max_size=4)),
    ),
    st.tuples(
        _operator(("IpAddress", "NotIpAddress")), st.just("aws:SourceIp"), one_or_many(_networks())
    ),
    st.tuples(
        _operator(DATE_OPERATORS),
        st.sampled_from(("aws:CurrentTime", "aws:EpochTime")),
        one_or_many(
            st.one_of(
                dates.map(lambda d: d.isoformat() + "Z"),
                dates.map(lambda d: int(d.replace(tzinfo=UTC).timestamp())),
            )
        ),
    ),
    st.tuples(
        _operator(NUMERIC_OPERATORS), st.just("s3:max-keys"), one_or_many(st.integers(0, 2000))
    ),
    st.tuples(
        _operator(("Bool",)),
        st.just("aws:SecureTransport"),
        st.sampled_from(("true", "false", True, False)),
    ),
    st.tuples(
        st.just("Null"),
        st.sampled_from(("s3:prefix", "aws:username", "aws:SourceIp")),
        st.sampled_from(("true", "false")),
    ),
)


def _conditions(tests: list[tuple[str, str, object]]) -> dict[str, dict[str, object]]:
    block: dict[str, dict[str, object]] = {}
    for operator, key, values in tests:
        block.setdefault(operator, {})[key] = values
    return block


conditions = st.lists(condition_tests, max_size=3).map(_conditions)


@st.composite
def statements(
    draw: st.DrawFn,
    in_bucket: bool,
    actions: st.SearchStrategy[str] = action_patterns,
    condition_blocks: st.SearchStrategy[dict[str, dict[str, object]]] = conditions,
) -> dict[str, object]:
    statement: dict[str, object] = {"Effect": draw(st.sampled_from(("Allow", "Deny")))}
    if in_bucket:
        statement["Principal"] = draw(policy_principals)
    statement[draw(st.sampled_from(("Action", "NotAction")))] = draw(one_or_many(actions))
    resources = bucket_resources() if in_bucket else identity_resources
    statement[draw(st.sampled_from(("Resource", "NotResource")))] = draw(one_or_many(resources))
    block = draw(condition_blocks)
    if block:
        statement["Condition"] = block
    return statement


@st.composite
def policy_documents(
    draw: st.DrawFn,
    in_bucket: bool = True,
    actions: st.SearchStrategy[str] = action_patterns,
    condition_blocks: st.SearchStrategy[dict[str, dict[str, object]]] = conditions,
) -> dict[str, object]:
    """A valid bucket policy (``in_bucket``, for bucket ``demo``) or identity policy."""
    items = draw(st.lists(statements(in_bucket, actions, condition_blocks), min_size=1, max_size=4))
    for index, item in enumerate(items):
        if draw(st.booleans()):
            item["Sid"] = f"S{index}"
    document: dict[str, object] = {
        "Version": draw(st.sampled_from(("2012-10-17", "2008-10-17"))),
        "Statement": items[0] if len(items) == 1 and draw(st.booleans()) else items,
    }
    if draw(st.booleans()):
        document["Id"] = draw(st.text(max_size=5))
    return document


access_contexts = st.builds(
    AccessContext,
    now=st.integers(0, 365 * 24 * 3600).map(lambda s: START + timedelta(seconds=s)),
    source_ip=st.one_of(st.none(), st.ip_addresses().map(str)),
    secure_transport=st.booleans(),
    condition_keys=st.dictionaries(
        st.sampled_from(("s3:prefix", "s3:delimiter", "s3:max-keys")), keys, max_size=2
    ),
)


def principals(narrowing: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Principal]:
    """Anyone but root; with ``narrowing`` documents to carry as policies."""
    policies = st.just(()) if narrowing is None else st.lists(narrowing, max_size=2).map(tuple)
    return st.builds(
        Principal,
        name=st.sampled_from(USERS),
        method=st.sampled_from(("bearer", "sts", "access-key", "basic", "anonymous")),
        subject=st.one_of(st.none(), st.sampled_from(("s1", "s2"))),
        roles=st.frozensets(st.sampled_from(ROLES)),
        groups=st.frozensets(st.sampled_from(GROUPS)),
        policies=policies,
    )


@st.composite
def targets(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    """(action, bucket, key) of one request."""
    action = draw(st.sampled_from(ACTIONS))
    if action == "s3:ListAllMyBuckets":
        return action, None, None
    bucket = draw(st.sampled_from((BUCKET, BUCKET, "other")))
    return action, bucket, draw(st.one_of(st.none(), keys))
