"""Parsing bucket and identity policies: what is accepted, and the reason for each refusal."""

from __future__ import annotations

import json

import pytest

from gateway.policy import (
    MAX_POLICY_BYTES,
    MalformedPolicy,
    parse_bucket_policy,
    parse_identity_policy,
    serialize,
)
from tests.unit.policy.support import BUCKET, allow, bucket_policy, document, identity_policy

GET = {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::demo/*"}


def test_bucket_policy_compiles_every_field() -> None:
    policy = bucket_policy(
        allow(
            Sid="Readers",
            Principal={"AWS": ["arn:aws:iam:::user/alice", "bob", "arn:aws:iam:::role/ops"]},
            Action=["s3:GetObject", "s3:List*"],
            Resource=["arn:aws:s3:::demo", "arn:aws:s3:::demo/*"],
            Condition={"StringLike": {"s3:prefix": ["logs/*", "tmp/?"]}},
        )
    )
    (statement,) = policy.statements
    assert (policy.version, policy.id, policy.bucket) == ("2012-10-17", None, BUCKET)
    assert (statement.sid, statement.label, statement.effect) == ("Readers", "Readers", "Allow")
    assert statement.principals is not None
    assert statement.principals.users == {"alice", "bob"}
    assert statement.principals.roles == {"ops"}
    assert not statement.principals.anyone
    assert statement.actions.patterns == ("s3:GetObject", "s3:List*")
    assert statement.resources.matches("arn:aws:s3:::demo/a")
    assert statement.conditions[0].operator == "StringLike"
    assert statement.conditions[0].values == ("logs/*", "tmp/?")


def test_statement_may_be_a_single_object_and_version_defaults() -> None:
    text = json.dumps({"Id": "P1", "Statement": allow(**GET)})
    policy = parse_bucket_policy(text, BUCKET)
    assert (policy.version, policy.id, len(policy.statements)) == ("2008-10-17", "P1", 1)
    assert policy.statements[0].label == "#0"


def test_boolean_condition_values_are_written_as_iam_writes_them() -> None:
    policy = bucket_policy(allow(**GET, Condition={"Bool": {"aws:SecureTransport": [False, True]}}))
    assert policy.statements[0].conditions[0].values == ("false", "true")


def test_an_empty_sid_labels_a_statement_by_its_index() -> None:
    policy = bucket_policy(allow(Sid="", **GET), allow(Sid="Named", **GET))
    assert [statement.label for statement in policy.statements] == ["#0", "Named"]


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["alice", "*"]}])
def test_principal_everyone(principal: object) -> None:
    (statement,) = bucket_policy(allow(Principal=principal, **GET)).statements
    assert statement.principals is not None
    assert statement.principals.anyone
    assert statement.principals.matches(None, frozenset())


def test_principal_matching() -> None:
    principal = {"AWS": ["arn:aws:iam:::user/alice", "arn:aws:iam:::role/writer"]}
    (statement,) = bucket_policy(allow(Principal=principal, **GET)).statements
    principals = statement.principals
    assert principals is not None
    assert principals.matches("alice", frozenset())
    assert principals.matches("carol", frozenset({"writer", "x"}))
    assert not principals.matches("carol", frozenset({"reader"}))
    assert not principals.matches(None, frozenset())


def test_identity_policy_has_no_principal() -> None:
    (statement,) = identity_policy(
        {"Effect": "Deny", "NotAction": "s3:Get*", "Resource": "*"}
    ).statements
    assert statement.principals is None
    assert statement.not_action
    assert identity_policy({"Effect": "Allow", **GET}).bucket is None


def test_identity_policy_may_name_any_bucket() -> None:
    policy = identity_policy({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::*"})
    assert policy.statements[0].resources.matches("arn:aws:s3:::other/x")


@pytest.mark.parametrize("field", ["Resource", "NotResource"])
def test_bucket_policy_resources_inside_the_bucket_are_accepted(field: str) -> None:
    inside = ["arn:aws:s3:::demo", "arn:aws:s3:::demo/", "arn:aws:s3:::demo/private/*"]
    (statement,) = bucket_policy(allow(Action="s3:*", **{field: inside})).statements
    assert statement.resources.patterns == tuple(inside)
    assert statement.not_resource == (field == "NotResource")
    assert statement.resources.matches("arn:aws:s3:::demo/private/a")
    assert not statement.resources.matches("arn:aws:s3:::demo/public/a")


@pytest.mark.parametrize("field", ["Resource", "NotResource"])
@pytest.mark.parametrize(
    ("resources", "refused"),
    [
        ("arn:aws:s3:::other/*", "arn:aws:s3:::other/*"),
        ("arn:aws:s3:::other", "arn:aws:s3:::other"),
        ("arn:aws:s3:::demo-logs/*", "arn:aws:s3:::demo-logs/*"),  # shares the name's prefix
        ("arn:aws:s3:::demo*", "arn:aws:s3:::demo*"),
        ("arn:aws:s3:::*", "arn:aws:s3:::*"),
        ("*", "*"),
        (["arn:aws:s3:::demo/*", "arn:aws:s3:::other/*"], "arn:aws:s3:::other/*"),
    ],
    ids=[
        "other-bucket-keys",
        "other-bucket",
        "same-prefix",
        "bucket-wildcard",
        "all-s3",
        "star",
        "one-of-two",
    ],
)
def test_bucket_policy_resources_outside_the_bucket_are_refused(
    field: str, resources: str | list[str], refused: str
) -> None:
    """NotResource too: an Allow on everything but one key must not reach another bucket."""
    with pytest.raises(MalformedPolicy) as raised:
        bucket_policy(allow(Action="s3:*", **{field: resources}))
    assert raised.value.reason == f"Policy has invalid resource: {refused} (statement #0)"


def test_bucket_policy_resources_are_checked_against_the_bucket_it_is_attached_to() -> None:
    statement = allow(Action="s3:GetObject", Resource="arn:aws:s3:::demo/*")
    assert bucket_policy(statement, bucket="demo").bucket == "demo"
    with pytest.raises(MalformedPolicy, match=r"invalid resource: arn:aws:s3:::demo/\*"):
        bucket_policy(statement, bucket="other")


def test_policy_variables_are_literal_under_2008() -> None:
    text = json.dumps(
        {
            "Version": "2008-10-17",
            "Statement": allow(Action="s3:GetObject", Resource="arn:aws:s3:::demo/${x}"),
        }
    )
    (statement,) = parse_bucket_policy(text, BUCKET).statements
    assert statement.resources.matches("arn:aws:s3:::demo/${x}")


def test_bytes_and_condition_scalars() -> None:
    text = document(
        allow(**GET, Condition={"Bool": {"aws:SecureTransport": True}}),
        allow(Sid="n", **GET, Condition={"NumericLessThan": {"s3:max-keys": [10, 2.5]}}),
    )
    policy = parse_bucket_policy(text.encode(), BUCKET)
    assert policy.statements[0].conditions[0].values == ("true",)
    assert policy.statements[1].conditions[0].values == ("10", "2.5")


def test_serialize_round_trips() -> None:
    policy = bucket_policy(
        allow(Sid="a", Principal={"AWS": "bob"}, **GET),
        {
            "Effect": "Deny",
            "Principal": "*",
            "NotAction": "s3:Get*",
            "NotResource": "arn:aws:s3:::demo/pub/*",
            "Condition": {
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                "StringLike": {"s3:prefix": "a*", "aws:username": ["x", "y"]},
            },
        },
    )
    assert parse_bucket_policy(serialize(policy), BUCKET) == policy
    with_id = parse_identity_policy(document({"Effect": "Allow", **GET}, Id="x"))
    assert parse_identity_policy(serialize(with_id)) == with_id


def test_largest_allowed_policy() -> None:
    text = document(allow(Sid="x" * 100, **GET))
    padded = text + " " * (MAX_POLICY_BYTES - len(text))
    assert len(parse_bucket_policy(padded, BUCKET).statements) == 1


def _statement(**fields: object) -> str:
    return document({"Effect": "Allow", "Principal": "*", **GET, **fields})


def _replace(**fields: object) -> str:
    statement: dict[str, object] = {"Effect": "Allow", "Principal": "*", **GET}
    for name, value in fields.items():
        if value is None:
            statement.pop(name)
        else:
            statement[name] = value
    return document(statement)


def _condition(condition: object) -> str:
    return _statement(Condition=condition)


MALFORMED_BUCKET_POLICIES = {
    "too-large": (" " * MAX_POLICY_BYTES + _statement(), "maximum is 20480 bytes"),
    "not-json": ("{", "Policies must be valid JSON"),
    "bad-utf8": (b'{"Statement": "\xff"}', "Policies must be valid JSON"),
    "deep-nesting": ("[" * 10_000 + "]" * 10_000, "Policies must be valid JSON"),
    "nan": ('{"Version": NaN}', "NaN is not a JSON value"),
    "not-an-object": ("[]", "the first byte must be '{'"),
    "duplicate-field": ('{"Statement": [], "Statement": []}', "Duplicate field Statement"),
    "unknown-top-field": (document(allow(**GET), Extra=1), "Unknown field Extra"),
    "bad-version": (document(allow(**GET), Version="2020-01-01"), "valid version string"),
    "version-not-string": (document(allow(**GET), Version=2012), "valid version string"),
    "bad-id": (document(allow(**GET), Id=5), "Id must be a string"),
    "no-statement": (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
    "statement-not-list": (json.dumps({"Statement": "x"}), "Statement must be an object or"),
    "empty-statements": (document(), "Policy has no statements"),
    "statement-not-object": (json.dumps({"Statement": ["x"]}), "Statement must be a JSON object"),
    "unknown-statement-field": (_statement(Foo=1), "Unknown field Foo (statement #0)"),
    "sid-not-string": (_statement(Sid=1), "Sid must be a string"),
    "duplicate-sid": (
        document(allow(Sid="s", **GET), allow(Sid="s", **GET)),
        "Statement IDs (SID) in a single policy must be unique",
    ),
    "no-effect": (_replace(Effect=None), "Missing required field Effect"),
    "bad-effect": (_replace(Effect="allow"), "Invalid effect: 'allow'"),
    "no-action": (_replace(Action=None), "Missing required field Action"),
    "action-and-not-action": (_statement(NotAction="s3:Put*"), "both Action and NotAction"),
    "action-not-string": (_replace(Action=5), "Action must be a string or a non-empty list"),
    "empty-action-list": (_replace(Action=[]), "Action must be a string or a non-empty list"),
    "other-service": (_replace(Action="ec2:RunInstances"), "Policy has invalid action: ec2:Run"),
    "bad-action-name": (_replace(Action="s3:Get Object"), "Policy has invalid action"),
    "no-resource": (_replace(Resource=None), "Missing required field Resource"),
    "other-bucket": (_replace(Resource="arn:aws:s3:::other/*"), "invalid resource: arn:aws:s3"),
    "bucket-prefix": (_replace(Resource="arn:aws:s3:::demo*"), "Policy has invalid resource"),
    "star-resource": (_replace(Resource="*"), "Policy has invalid resource: *"),
    "not-an-s3-arn": (_replace(Resource="arn:aws:sqs:::demo"), "Policy has invalid resource"),
    "variable": (
        _replace(Resource="arn:aws:s3:::demo/${aws:username}/*"),
        "Policy variables are not supported",
    ),
    "variable-in-condition": (
        _condition({"StringLike": {"s3:prefix": "home/${aws:username}/*"}}),
        "Policy variables are not supported",
    ),
    "no-principal": (_replace(Principal=None), "Missing required field Principal"),
    "not-principal": (_statement(NotPrincipal="*"), "NotPrincipal is not supported"),
    "service-principal": (
        _replace(Principal={"Service": "s3.amazonaws.com"}),
        "Invalid principal in policy",
    ),
    "principal-string": (_replace(Principal="alice"), 'Invalid principal in policy: "alice"'),
    # A bare ARN prefix names nobody: it is refused, not read as the user or role "".
    "bare-role-arn": (
        _replace(Principal={"AWS": "arn:aws:iam:::role/"}),
        "Invalid principal in policy: arn:aws:iam:::role/",
    ),
    "bare-user-arn": (
        _replace(Principal={"AWS": "arn:aws:iam:::user/"}),
        "Invalid principal in policy: arn:aws:iam:::user/",
    ),
    "account-principal": (
        _replace(Principal={"AWS": "arn:aws:iam::123456789012:root"}),
        "Invalid principal in policy: arn:aws:iam::123456789012:root",
    ),
    "wildcard-principal": (_replace(Principal={"AWS": "al*"}), "Invalid principal in policy"),
    "empty-principal-name": (_replace(Principal={"AWS": ""}), "Invalid principal in policy"),
    "empty-principal-list": (_replace(Principal={"AWS": []}), "Principal AWS must be a string"),
    "condition-not-object": (_condition([]), "Condition must be a JSON object"),
    "unknown-operator": (
        _condition({"StringContains": {"s3:prefix": "a"}}),
        "Invalid Condition type : StringContains",
    ),
    "double-quantifier": (
        _condition({"ForAnyValue:ForAllValues:StringLike": {"s3:prefix": "a"}}),
        "Invalid Condition type",
    ),
    "null-if-exists": (_condition({"NullIfExists": {"s3:prefix": "true"}}), "Invalid Condition"),
    "null-quantified": (
        _condition({"ForAnyValue:Null": {"s3:prefix": "true"}}),
        "Invalid Condition type",
    ),
    "bare-if-exists": (_condition({"IfExists": {"s3:prefix": "a"}}), "Invalid Condition type"),
    "operator-without-keys": (_condition({"StringLike": {}}), "must map keys to values"),
    "operator-not-object": (_condition({"StringLike": "a"}), "must map keys to values"),
    "unknown-key": (
        _condition({"StringEquals": {"s3:x-amz-acl": "private"}}),
        "invalid condition key: s3:x-amz-acl",
    ),
    "empty-tag-key": (
        _condition({"StringEquals": {"aws:PrincipalTag/": "x"}}),
        "invalid condition key",
    ),
    "operator-key-mismatch": (
        _condition({"IpAddress": {"s3:prefix": "10.0.0.0/8"}}),
        "IpAddress cannot be used with s3:prefix",
    ),
    "string-on-ip": (
        _condition({"StringEquals": {"aws:SourceIp": "1.2.3.4"}}),
        "cannot be used with aws:SourceIp",
    ),
    "no-values": (_condition({"StringEquals": {"s3:prefix": []}}), "has no values"),
    "nested-value": (
        _condition({"StringEquals": {"s3:prefix": [["a"]]}}),
        "Condition values must be strings, numbers or booleans",
    ),
    "null-value": (
        _condition({"StringEquals": {"s3:prefix": None}}),
        "Condition values must be strings",
    ),
    "bad-cidr": (
        _condition({"NotIpAddress": {"aws:SourceIp": "10.0.0.300/8"}}),
        "Invalid CIDR '10.0.0.300/8' in condition NotIpAddress",
    ),
    "bad-date": (
        _condition({"DateLessThan": {"aws:CurrentTime": "yesterday"}}),
        "Invalid date 'yesterday' in condition DateLessThan",
    ),
    "huge-epoch": (
        _condition({"DateLessThan": {"aws:CurrentTime": "9" * 30}}),
        "Invalid date",
    ),
    "bad-number": (
        _condition({"NumericLessThan": {"s3:max-keys": "ten"}}),
        "Invalid number 'ten' in condition NumericLessThan",
    ),
    "infinite-number": (_condition({"NumericLessThan": {"s3:max-keys": "inf"}}), "Invalid number"),
    "bad-bool": (
        _condition({"Bool": {"aws:SecureTransport": "yes"}}),
        "Invalid boolean 'yes' in condition Bool",
    ),
    "bad-null": (
        _condition({"Null": {"s3:prefix": "maybe"}}),
        "Invalid Null value 'maybe' in condition Null",
    ),
    "null-two-values": (
        _condition({"Null": {"s3:prefix": ["true", "false"]}}),
        "Invalid Null value",
    ),
}


@pytest.mark.parametrize(
    ("text", "reason"),
    list(MALFORMED_BUCKET_POLICIES.values()),
    ids=list(MALFORMED_BUCKET_POLICIES),
)
def test_malformed_bucket_policy(text: str | bytes, reason: str) -> None:
    with pytest.raises(MalformedPolicy) as raised:
        parse_bucket_policy(text, BUCKET)
    assert reason in raised.value.reason
    assert str(raised.value) == raised.value.reason


def test_error_names_the_statement_by_sid() -> None:
    with pytest.raises(MalformedPolicy, match=r"invalid action: x \(statement Writers\)"):
        bucket_policy(allow(Sid="Writers", Action="x", Resource="arn:aws:s3:::demo"))


def test_error_names_a_statement_with_an_empty_sid_by_its_index() -> None:
    with pytest.raises(MalformedPolicy, match=r"invalid action: x \(statement #1\)"):
        bucket_policy(allow(**GET), allow(Sid="", Action="x", Resource="arn:aws:s3:::demo"))


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ({"Effect": "Allow", "Principal": "*", **GET}, "should not specify a principal"),
        ({"Effect": "Allow", "NotPrincipal": "*", **GET}, "should not specify a principal"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::"}, "invalid resource"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "demo/*"}, "invalid resource"),
    ],
    ids=["principal", "not-principal", "empty-arn", "not-an-arn"],
)
def test_malformed_identity_policy(statement: dict[str, object], reason: str) -> None:
    with pytest.raises(MalformedPolicy, match=reason):
        parse_identity_policy(document(statement))
