"""Properties of the policy core over random documents, principals and requests."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from fnmatch import fnmatchcase
from functools import partial

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain.values import ANONYMOUS, Principal
from gateway.policy import (
    AccessContext,
    Decision,
    Evaluation,
    EvaluationContext,
    MalformedPolicy,
    Policy,
    decide,
    evaluate,
    parse_bucket_policy,
    parse_identity_policy,
    resource_arn,
    serialize,
)
from tests.unit.policy.strategies import (
    ACTIONS,
    BUCKET,
    USERS,
    access_contexts,
    action_patterns,
    keys,
    policy_documents,
    principals,
    targets,
)

# Generating whole documents dominates the run time (parsing one takes ~0.3 ms).
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DECISIONS = settings(SETTINGS, max_examples=150)


# (a) Parsing what serialize wrote gives back an equal compiled policy.


@SETTINGS
@given(policy_documents(in_bucket=True))
def test_bucket_policy_round_trips(document: dict[str, object]) -> None:
    policy = parse_bucket_policy(json.dumps(document), BUCKET)
    assert parse_bucket_policy(serialize(policy), BUCKET) == policy


@SETTINGS
@given(policy_documents(in_bucket=False))
def test_identity_policy_round_trips(document: dict[str, object]) -> None:
    policy = parse_identity_policy(json.dumps(document))
    assert parse_identity_policy(serialize(policy)) == policy


# (b) Evaluation agrees with a straightforward reference model (fnmatch for the wildcards).

prefix_like: st.SearchStrategy[dict[str, dict[str, object]]] = st.lists(
    st.tuples(
        st.sampled_from(("StringLike", "StringNotLike")),
        st.lists(st.text(alphabet="ab/*?", max_size=4), min_size=1, max_size=2),
    ),
    max_size=1,
).map(lambda tests: {op: {"s3:prefix": values} for op, values in tests})


def _listed(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def reference_applies(statement: dict[str, object], request: EvaluationContext) -> bool:
    principal = statement["Principal"]
    names = ["*"] if principal == "*" else _listed(principal["AWS"])  # type: ignore[index]
    user = request.user
    if not (
        "*" in names
        or (user is not None and (user in names or f"arn:aws:iam:::user/{user}" in names))
    ):
        return False
    actions = _listed(statement.get("Action", statement.get("NotAction")))
    hit = any(fnmatchcase(request.action.lower(), a.lower()) for a in actions)
    if hit == ("NotAction" in statement):
        return False
    resources = _listed(statement.get("Resource", statement.get("NotResource")))
    hit = any(fnmatchcase(request.resource, r) for r in resources)
    if hit == ("NotResource" in statement):
        return False
    block: dict[str, dict[str, list[str]]] = statement.get("Condition", {})  # type: ignore[assignment]
    for operator, tests in block.items():
        prefix = request.keys.get("s3:prefix")
        matched = prefix is not None and any(
            fnmatchcase(str(prefix), v) for v in tests["s3:prefix"]
        )
        if prefix is None:
            holds = operator == "StringNotLike"
        else:
            holds = matched == (operator == "StringLike")
        if not holds:
            return False
    return True


def reference_evaluate(document: dict[str, object], request: EvaluationContext) -> Evaluation:
    items = document["Statement"]
    statements = items if isinstance(items, list) else [items]
    allowed: list[str] = []
    denied: list[str] = []
    for index, statement in enumerate(statements):
        if reference_applies(statement, request):
            label = statement.get("Sid") or f"#{index}"
            (allowed if statement["Effect"] == "Allow" else denied).append(label)
    return Evaluation(tuple(allowed), tuple(denied))


requests = st.builds(
    EvaluationContext,
    action=st.one_of(st.sampled_from(ACTIONS), st.sampled_from(ACTIONS).map(str.upper)),
    resource=st.one_of(
        st.just(f"arn:aws:s3:::{BUCKET}"),
        keys.map(lambda k: f"arn:aws:s3:::{BUCKET}/{k}"),
        st.just("arn:aws:s3:::other/a"),
    ),
    user=st.one_of(st.none(), st.sampled_from(USERS)),
    keys=st.one_of(st.just({}), keys.map(lambda p: {"s3:prefix": p})),
)


@SETTINGS
@given(policy_documents(in_bucket=True, condition_blocks=prefix_like), requests)
def test_evaluation_agrees_with_reference(
    document: dict[str, object], request: EvaluationContext
) -> None:
    policy = parse_bucket_policy(json.dumps(document), BUCKET)
    assert evaluate(policy, request) == reference_evaluate(document, request)


@SETTINGS
@given(st.lists(action_patterns, min_size=1, max_size=3), st.sampled_from(ACTIONS))
def test_action_wildcards_agree_with_reference(patterns: list[str], action: str) -> None:
    policy = parse_identity_policy(
        json.dumps({"Statement": {"Effect": "Allow", "Action": patterns, "Resource": "*"}})
    )
    expected = any(fnmatchcase(action.lower(), p.lower()) for p in patterns)
    assert evaluate(policy, EvaluationContext(action, "arn:aws:s3:::x")).allowed is expected


# (c) An explicit Deny that matches always wins, whatever else grants the request.

bucket_policies = st.one_of(
    st.none(),
    policy_documents(in_bucket=True).map(lambda d: parse_bucket_policy(json.dumps(d), BUCKET)),
)
ALLOW_ALL = json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})
# Random identity policies rarely allow a given request; mix in one that allows everything so
# that allowed decisions (the interesting side of both properties) are common.
identity_documents = st.one_of(
    st.just(ALLOW_ALL), policy_documents(in_bucket=False).map(json.dumps)
)


@st.composite
def matching_deny(draw: st.DrawFn, action: str, bucket: str, key: str | None) -> dict[str, object]:
    exact = resource_arn(bucket, key)
    wider = [f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}/{key[:1]}*"] if key else []
    resource = draw(st.sampled_from([exact, *wider]))
    return {
        "Effect": "Deny",
        "Principal": draw(st.sampled_from(("*", {"AWS": "*"}))),
        "Action": draw(st.sampled_from((action, "s3:*", "*", action.upper()))),
        "Resource": resource,
    }


@DECISIONS
@given(
    st.data(),
    policy_documents(in_bucket=True),
    principals(identity_documents),
    targets(),
    access_contexts,
)
def test_a_matching_deny_always_wins(
    data: st.DataObject,
    document: dict[str, object],
    principal: Principal,
    target: tuple[str, str | None, str | None],
    context: AccessContext,
) -> None:
    action, bucket, key = target
    if bucket != BUCKET:
        bucket = BUCKET  # a bucket policy only speaks of its own bucket
    items = document["Statement"]
    statements = list(items) if isinstance(items, list) else [items]
    deny = data.draw(matching_deny(action, bucket, key))
    statements.insert(data.draw(st.integers(0, len(statements))), deny)
    policy = parse_bucket_policy(json.dumps({**document, "Statement": statements}), BUCKET)
    decision = decide(principal, action, bucket, key, context, policy)
    assert not decision.allowed
    assert decision.rule.startswith(f"deny:bucket-policy:{BUCKET}:")
    root = Principal(name="root", method="root")
    assert decide(root, action, bucket, key, context, policy).allowed


# (c') Without roles or groups, the bucket policy decides alone: no match is the implicit deny.


@DECISIONS
@given(policy_documents(in_bucket=True, condition_blocks=prefix_like), targets(), access_contexts)
def test_anonymous_decisions_agree_with_reference(
    document: dict[str, object],
    target: tuple[str, str | None, str | None],
    context: AccessContext,
) -> None:
    """Without roles or groups the bucket policy is the whole decision: a matching Deny
    refuses, else a matching Allow allows, else nothing matched and it is the implicit deny."""
    action, bucket, key = target
    policy = parse_bucket_policy(json.dumps(document), BUCKET)
    request = EvaluationContext(action, resource_arn(bucket, key), keys=context.condition_keys)
    expected = reference_evaluate(document, request)
    if expected.denied_by:
        wanted = Decision(False, f"deny:bucket-policy:{BUCKET}:{expected.denied_by[0]}")
    elif expected.allowed_by:
        wanted = Decision(True, f"bucket-policy:{BUCKET}:{expected.allowed_by[0]}")
    else:
        wanted = Decision(False, "default-deny")
    assert decide(ANONYMOUS, action, bucket, key, context, policy) == wanted


# (d) Narrowing policies never widen: adding one never turns a refusal into an allowance.


@DECISIONS
@given(
    principals(identity_documents),
    st.one_of(identity_documents, st.just("{"), st.just('{"Statement": []}')),
    targets(),
    access_contexts,
    bucket_policies,
)
def test_narrowing_policies_never_widen(
    principal: Principal,
    extra: str,
    target: tuple[str, str | None, str | None],
    context: AccessContext,
    policy: Policy | None,
) -> None:
    action, bucket, key = target
    before = decide(principal, action, bucket, key, context, policy)
    narrowed = replace(principal, policies=(*principal.policies, extra))
    after = decide(narrowed, action, bucket, key, context, policy)
    assert before.allowed or not after.allowed


# (e) Whatever JSON arrives, each parser returns a sound policy or raises MalformedPolicy,
# the same way every time.

VOCABULARY = (
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Allow",
    "Deny",
    "Principal",
    "NotPrincipal",
    "AWS",
    "*",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "2012-10-17",
    "s3:GetObject",
    "s3:*",
    "arn:aws:s3:::demo",
    "arn:aws:s3:::demo/*",
    "StringLike",
    "IpAddress",
    "ForAnyValue:StringEquals",
    "DateLessThanIfExists",
    "Null",
    "s3:prefix",
    "aws:SourceIp",
    "aws:CurrentTime",
    "10.0.0.0/8",
    "true",
)
words = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=5))
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        words,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(words, inner, max_size=5)),
    max_leaves=30,
)


def outcome(parse: Callable[[str | bytes], Policy], text: str | bytes) -> Policy | str:
    """The policy, or the reason it was refused; any other exception fails the test."""
    try:
        return parse(text)
    except MalformedPolicy as exc:
        return exc.reason


PROBES = [
    EvaluationContext(action, resource, user, roles)
    for action in ("s3:GetObject", "s3:PutObject", "s3:ListBucket")
    for resource in (f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/a", "arn:aws:s3:::other/a")
    for user, roles in ((None, frozenset()), ("alice", frozenset({"ops"})))
]


def parses_or_refuses(text: str | bytes) -> tuple[Policy | str, Policy | str]:
    """Each parser gives the same outcome twice; a refusal has a reason, and an accepted
    policy is the document's statements, in order, and survives serialize and evaluation.
    Returns the bucket parser's outcome and the identity parser's."""
    outcomes: list[Policy | str] = []
    for parse, bucket in (
        (partial(parse_bucket_policy, bucket=BUCKET), BUCKET),
        (parse_identity_policy, None),
    ):
        result = outcome(parse, text)
        outcomes.append(result)
        assert outcome(parse, text) == result
        if isinstance(result, str):
            assert result.strip()
            continue
        assert result.bucket == bucket
        items = json.loads(text)["Statement"]
        items = items if isinstance(items, list) else [items]
        assert [(s.sid, s.effect) for s in result.statements] == [
            (item.get("Sid"), item["Effect"]) for item in items
        ]
        for statement in result.statements:
            assert (statement.principals is None) == (bucket is None)
            if bucket is not None:  # a bucket policy never names another bucket
                bucket_arn = f"arn:aws:s3:::{bucket}"
                for resource in statement.resources.patterns:
                    assert resource == bucket_arn or resource.startswith(f"{bucket_arn}/")
        assert parse(serialize(result)) == result
        labels = [s.label for s in result.statements]
        for probe in PROBES:
            verdict = evaluate(result, probe)
            assert evaluate(result, probe) == verdict
            assert set(verdict.allowed_by) | set(verdict.denied_by) <= set(labels)
    return outcomes[0], outcomes[1]


@SETTINGS
@given(st.one_of(policy_documents(in_bucket=True), policy_documents(in_bucket=False)))
def test_parser_checks_hold_on_valid_policies(document: dict[str, object]) -> None:
    """The fuzz inputs below are nearly all refused; here the accepted side is checked too.
    A bucket policy names principals, which an identity policy may not, and vice versa."""
    as_bucket, as_identity = parses_or_refuses(json.dumps(document))
    items = document["Statement"]
    first: dict[str, object] = items[0] if isinstance(items, list) else items  # type: ignore[assignment]
    if "Principal" in first:
        assert isinstance(as_bucket, Policy)
        label = first.get("Sid") or "#0"
        assert as_identity == f"Policy document should not specify a principal (statement {label})"
    else:
        assert isinstance(as_identity, Policy)
        assert isinstance(as_bucket, str)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_parser_fuzz_json(value: object) -> None:
    parses_or_refuses(json.dumps(value))


@settings(max_examples=300, deadline=None)
@given(st.data(), policy_documents(in_bucket=True))
def test_parser_fuzz_mutated_policies(data: st.DataObject, document: dict[str, object]) -> None:
    """Valid documents with one field replaced by random JSON reach the deeper checks."""
    items = document["Statement"]
    chosen: dict[str, object] = items[0] if isinstance(items, list) else items  # type: ignore[assignment]
    statement = dict(chosen)
    field = data.draw(st.sampled_from([*statement, "Condition", "Principal", "Extra"]))
    statement[field] = data.draw(json_values)
    parses_or_refuses(json.dumps({**document, "Statement": [statement]}))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=50), st.binary(max_size=50)))
def test_parser_fuzz_text(text: str | bytes) -> None:
    parses_or_refuses(text)
