"""Matching one compiled policy against one request: which statements allow, which deny."""

from __future__ import annotations

from gateway.policy import Evaluation, EvaluationContext, evaluate
from tests.unit.policy.support import allow, bucket_policy, deny, identity_policy

OBJECT = "arn:aws:s3:::demo/docs/a.txt"


def request(
    action: str = "s3:GetObject", resource: str = OBJECT, **fields: object
) -> EvaluationContext:
    return EvaluationContext(action=action, resource=resource, **fields)  # type: ignore[arg-type]


def test_labels_in_policy_order() -> None:
    policy = bucket_policy(
        allow(Action="s3:Get*", Resource="arn:aws:s3:::demo/*"),
        allow(Sid="Docs", Action="s3:GetObject", Resource="arn:aws:s3:::demo/docs/*"),
        deny(Sid="Never", Action="s3:*", Resource="arn:aws:s3:::demo/docs/a.txt"),
        deny(Action="s3:PutObject", Resource="arn:aws:s3:::demo/*"),
    )
    result = evaluate(policy, request())
    assert result == Evaluation(allowed_by=("#0", "Docs"), denied_by=("Never",))
    assert result.denied
    assert not result.allowed


def test_no_match_is_neither() -> None:
    result = evaluate(
        bucket_policy(allow(Action="s3:PutObject", Resource="arn:aws:s3:::demo/*")), request()
    )
    assert result == Evaluation()
    assert not result.allowed
    assert not result.denied


def test_action_names_are_case_insensitive_resources_are_not() -> None:
    policy = bucket_policy(allow(Action="S3:getobject", Resource="arn:aws:s3:::demo/Docs/*"))
    assert not evaluate(policy, request()).allowed
    assert evaluate(policy, request(resource="arn:aws:s3:::demo/Docs/x")).allowed


def test_not_action_and_not_resource() -> None:
    policy = bucket_policy(
        deny(Sid="ReadOnly", NotAction=["s3:Get*", "s3:List*"], Resource="arn:aws:s3:::demo/*"),
        allow(Sid="All", Action="s3:*", NotResource="arn:aws:s3:::demo/secret/*"),
    )
    assert evaluate(policy, request()).allowed_by == ("All",)
    assert evaluate(policy, request("s3:PutObject")).denied_by == ("ReadOnly",)
    secret = evaluate(policy, request(resource="arn:aws:s3:::demo/secret/k"))
    assert secret == Evaluation()


def test_principals() -> None:
    policy = bucket_policy(
        allow(
            Sid="Alice",
            Principal={"AWS": "arn:aws:iam:::user/alice"},
            Action="s3:*",
            Resource="arn:aws:s3:::demo/*",
        ),
        allow(
            Sid="Ops",
            Principal={"AWS": "arn:aws:iam:::role/ops"},
            Action="s3:*",
            Resource="arn:aws:s3:::demo/*",
        ),
    )
    assert evaluate(policy, request(user="alice")).allowed_by == ("Alice",)
    assert evaluate(policy, request(user="bob", roles=frozenset({"ops"}))).allowed_by == ("Ops",)
    assert evaluate(policy, request(user=None)) == Evaluation()


def test_conditions_are_anded_and_keys_case_insensitive() -> None:
    policy = bucket_policy(
        allow(
            Action="s3:ListBucket",
            Resource="arn:aws:s3:::demo",
            Condition={
                "StringLike": {"s3:prefix": "docs/*"},
                "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
            },
        )
    )
    listing = "arn:aws:s3:::demo"
    both = {"S3:Prefix": "docs/x", "AWS:SOURCEIP": "192.0.2.1"}
    assert evaluate(policy, request("s3:ListBucket", listing, keys=both)).allowed
    one = {"s3:prefix": "docs/x", "aws:SourceIp": "198.51.100.1"}
    assert not evaluate(policy, request("s3:ListBucket", listing, keys=one)).allowed


def test_identity_policy_applies_to_whoever_holds_it() -> None:
    policy = identity_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    assert evaluate(policy, request(user=None)).allowed_by == ("#0",)
