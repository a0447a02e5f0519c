"""Bucket policies and IAM-style identity policies: parsed once into frozen, compiled values.

The grammar is the S3 subset of https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_grammar.html. A bucket policy names its principals and may only name
resources of its own bucket; an identity policy (an STS session policy, an access key's own
policy) has no principal: it is attached to whoever carries it and can only narrow.
Anything S3 would refuse raises ``MalformedPolicy`` with the reason; evaluation of a parsed
policy never fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from gateway.policy.conditions import Condition, compile_condition, split_operator
from gateway.policy.errors import MalformedPolicy
from gateway.policy.patterns import Wildcards

MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2012-10-17", "2008-10-17")
DEFAULT_VERSION = "2008-10-17"  # what IAM assumes when Version is absent
POLICY_FIELDS = frozenset({"Version", "Id", "Statement"})
STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
S3_ARN = "arn:aws:s3:::"
USER_ARN = "arn:aws:iam:::user/"
ROLE_ARN = "arn:aws:iam:::role/"
ACTION = re.compile(r"s3:[A-Za-z0-9*?]+", re.IGNORECASE)
Effect = Literal["Allow", "Deny"]


@dataclass(frozen=True)
class Principals:
    """Who a bucket policy statement is about: everyone, user names, or realm roles."""

    entries: tuple[str, ...]  # as written; Principal "*" is kept as ("*",)
    anyone: bool = field(compare=False)
    users: frozenset[str] = field(compare=False)
    roles: frozenset[str] = field(compare=False)

    def matches(self, user: str | None, roles: frozenset[str]) -> bool:
        """``user`` is None for an anonymous caller, whom only ``*`` matches."""
        if self.anyone:
            return True
        return (user is not None and user in self.users) or not self.roles.isdisjoint(roles)


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    principals: Principals | None  # None in identity policies: they apply to their holder
    actions: Wildcards  # case-insensitive
    not_action: bool
    resources: Wildcards
    not_resource: bool
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """How the audit log names this statement: its Sid, else its position."""
        return self.sid or f"#{self.index}"


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = DEFAULT_VERSION
    id: str | None = None
    bucket: str | None = None  # the bucket a bucket policy is attached to


def parse_bucket_policy(document: str | bytes, bucket: str) -> Policy:
    """Parse the policy PutBucketPolicy would attach to ``bucket``."""
    return _parse(document, bucket)


def parse_identity_policy(document: str | bytes) -> Policy:
    """Parse a narrowing policy (STS session policy, access key policy): no Principal."""
    return _parse(document, None)


def serialize(policy: Policy) -> str:
    """The policy as JSON that parses back to an equal policy."""
    document: dict[str, object] = {"Version": policy.version}
    if policy.id is not None:
        document["Id"] = policy.id
    document["Statement"] = [_statement_json(s) for s in policy.statements]
    return json.dumps(document)


def _parse(document: str | bytes, bucket: str | None) -> Policy:
    raw = _load(document)
    _reject_unknown(raw, POLICY_FIELDS)
    version = raw.get("Version", DEFAULT_VERSION)
    if not isinstance(version, str) or version not in VERSIONS:
        raise MalformedPolicy(f"The policy must contain a valid version string: {version!r}")
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise MalformedPolicy("Id must be a string")
    statements: list[Statement] = []
    for index, item in enumerate(_statement_list(raw)):
        try:
            statements.append(_statement(index, item, bucket))
        except MalformedPolicy as exc:
            raise MalformedPolicy(f"{exc.reason} (statement {_label(index, item)})") from None
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique")
    if version == "2012-10-17":
        _reject_variables(statements)
    return Policy(tuple(statements), version, policy_id, bucket)


def _load(document: str | bytes) -> dict[str, object]:
    size = len(document.encode("utf-8", "surrogatepass") if isinstance(document, str) else document)
    if size > MAX_POLICY_BYTES:
        raise MalformedPolicy(f"Policy is {size} bytes; the maximum is {MAX_POLICY_BYTES} bytes")
    try:
        raw = json.loads(document, object_pairs_hook=_unique_fields, parse_constant=_no_constant)
    except MalformedPolicy:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedPolicy(f"Policies must be valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise MalformedPolicy("Policies must be valid JSON and the first byte must be '{'")
    return raw


def _unique_fields(pairs: list[tuple[str, object]]) -> dict[str, object]:
    fields: dict[str, object] = {}
    for name, value in pairs:
        if name in fields:
            raise MalformedPolicy(f"Duplicate field {name}")
        fields[name] = value
    return fields


def _no_constant(name: str) -> object:
    raise MalformedPolicy(f"Policies must be valid JSON: {name} is not a JSON value")


def _reject_unknown(raw: dict[str, object], known: frozenset[str]) -> None:
    for name in raw:
        if name not in known:
            raise MalformedPolicy(f"Unknown field {name}")


def _statement_list(raw: dict[str, object]) -> list[object]:
    if "Statement" not in raw:
        raise MalformedPolicy("Missing required field Statement")
    items = raw["Statement"]
    if isinstance(items, dict):
        return [items]
    if not isinstance(items, list):
        raise MalformedPolicy("Statement must be an object or a list of objects")
    if not items:
        raise MalformedPolicy("Policy has no statements")
    return items


def _label(index: int, raw: object) -> str:
    sid = raw.get("Sid") if isinstance(raw, dict) else None
    return sid if isinstance(sid, str) and sid else f"#{index}"


def _statement(index: int, raw: object, bucket: str | None) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Statement must be a JSON object")
    _reject_unknown(raw, STATEMENT_FIELDS)
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicy("Sid must be a string")
    effect = raw.get("Effect")
    if effect is None:
        raise MalformedPolicy("Missing required field Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy(f"Invalid effect: {effect!r} (must be Allow or Deny)")
    actions, not_action = _either(raw, "Action")
    resources, not_resource = _either(raw, "Resource")
    for action in actions:
        if action != "*" and not ACTION.fullmatch(action):
            raise MalformedPolicy(f"Policy has invalid action: {action}")
    for resource in resources:
        _check_resource(resource, bucket)
    return Statement(
        index=index,
        sid=sid,
        effect="Allow" if effect == "Allow" else "Deny",
        principals=_principals(raw, bucket is not None),
        actions=Wildcards.compile(actions, ignore_case=True),
        not_action=not_action,
        resources=Wildcards.compile(resources),
        not_resource=not_resource,
        conditions=_conditions(raw.get("Condition", {})),
    )


def _either(raw: dict[str, object], name: str) -> tuple[tuple[str, ...], bool]:
    """The values of ``name`` or ``Not<name>`` (exactly one must be there) and which it was."""
    negated = f"Not{name}"
    if name in raw and negated in raw:
        raise MalformedPolicy(f"A statement cannot have both {name} and {negated}")
    if name not in raw and negated not in raw:
        raise MalformedPolicy(f"Missing required field {name}")
    field_name = name if name in raw else negated
    return _strings(raw[field_name], field_name), field_name == negated


def _strings(value: object, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    raise MalformedPolicy(f"{field_name} must be a string or a non-empty list of strings")


def _check_resource(resource: str, bucket: str | None) -> None:
    if bucket is None:
        if resource == "*" or (resource.startswith(S3_ARN) and len(resource) > len(S3_ARN)):
            return
    else:
        path = resource.removeprefix(S3_ARN)
        if resource.startswith(S3_ARN) and (path == bucket or path.startswith(f"{bucket}/")):
            return
    raise MalformedPolicy(f"Policy has invalid resource: {resource}")


def _principals(raw: dict[str, object], required: bool) -> Principals | None:
    if not required:
        if "Principal" in raw or "NotPrincipal" in raw:
            raise MalformedPolicy("Policy document should not specify a principal")
        return None
    if "NotPrincipal" in raw:
        raise MalformedPolicy("NotPrincipal is not supported; use Principal")
    if "Principal" not in raw:
        raise MalformedPolicy("Missing required field Principal")
    value = raw["Principal"]
    if value == "*":
        entries: tuple[str, ...] = ("*",)
    elif isinstance(value, dict) and set(value) == {"AWS"}:
        entries = _strings(value["AWS"], "Principal AWS")
    else:
        raise MalformedPolicy(f'Invalid principal in policy: {json.dumps(value)} (use "*" or AWS)')
    users: set[str] = set()
    roles: set[str] = set()
    for entry in entries:
        if entry.startswith(ROLE_ARN) and len(entry) > len(ROLE_ARN):
            roles.add(entry.removeprefix(ROLE_ARN))
        elif entry.startswith(USER_ARN) and len(entry) > len(USER_ARN):
            users.add(entry.removeprefix(USER_ARN))
        elif entry != "*" and (entry.startswith("arn:") or not entry or "*" in entry):
            raise MalformedPolicy(f"Invalid principal in policy: {entry}")
        elif entry != "*":
            users.add(entry)
    return Principals(entries, "*" in entries, frozenset(users), frozenset(roles))


def _conditions(raw: object) -> tuple[Condition, ...]:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Condition must be a JSON object")
    compiled: list[Condition] = []
    for written_operator, tests in raw.items():
        split_operator(written_operator)
        if not isinstance(tests, dict) or not tests:
            raise MalformedPolicy(f"Condition {written_operator} must map keys to values")
        for key, values in tests.items():
            compiled.append(compile_condition(written_operator, key, _condition_values(values)))
    return tuple(compiled)


def _condition_values(raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    values: list[str] = []
    for item in items:
        if isinstance(item, bool):
            values.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            values.append(str(item))
        else:
            raise MalformedPolicy("Condition values must be strings, numbers or booleans")
    return tuple(values)


def _reject_variables(statements: list[Statement]) -> None:
    """Version 2012-10-17 makes ``${...}`` a policy variable, which this subset lacks.

    Refusing is safer than matching the text literally: a literal match would make a Deny
    statement written with a variable silently apply to nobody.
    """
    for statement in statements:
        texts = [*statement.resources.patterns]
        texts += [value for condition in statement.conditions for value in condition.values]
        for text in texts:
            if "${" in text:
                raise MalformedPolicy(
                    f"Policy variables are not supported: {text} (statement {statement.label})"
                )


def _statement_json(statement: Statement) -> dict[str, object]:
    body: dict[str, object] = {}
    if statement.sid is not None:
        body["Sid"] = statement.sid
    body["Effect"] = statement.effect
    if statement.principals is not None:
        body["Principal"] = {"AWS": list(statement.principals.entries)}
    body["NotAction" if statement.not_action else "Action"] = list(statement.actions.patterns)
    resources = list(statement.resources.patterns)
    body["NotResource" if statement.not_resource else "Resource"] = resources
    conditions: dict[str, dict[str, list[str]]] = {}
    for condition in statement.conditions:
        conditions.setdefault(condition.operator, {})[condition.key] = list(condition.values)
    if conditions:
        body["Condition"] = conditions
    return body
