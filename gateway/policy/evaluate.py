"""Which statements of one compiled policy match one request.

Only matching is done here; combining the result with roles, groups and narrowing
policies (explicit Deny wins, no match is an implicit deny) is ``decide``'s job.
See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.policy.conditions import ContextValues
from gateway.policy.document import Policy, Statement


@dataclass(frozen=True)
class EvaluationContext:
    """A request as policies see it.

    ``user`` is the principal's name, None for an anonymous caller (only ``Principal: "*"``
    matches them); ``keys`` maps condition keys (any case) to the request's values.
    """

    action: str  # e.g. "s3:GetObject"
    resource: str  # e.g. "arn:aws:s3:::demo/a.txt"
    user: str | None = None
    roles: frozenset[str] = frozenset()
    keys: Mapping[str, ContextValues] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", {k.lower(): v for k, v in self.keys.items()})


@dataclass(frozen=True)
class Evaluation:
    """The labels (Sid, else ``#index``) of the matching statements, in policy order."""

    allowed_by: tuple[str, ...] = ()
    denied_by: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return bool(self.allowed_by) and not self.denied_by

    @property
    def denied(self) -> bool:
        return bool(self.denied_by)


def evaluate(policy: Policy, context: EvaluationContext) -> Evaluation:
    allowed: list[str] = []
    denied: list[str] = []
    for statement in policy.statements:
        if applies(statement, context):
            (allowed if statement.effect == "Allow" else denied).append(statement.label)
    return Evaluation(tuple(allowed), tuple(denied))


def applies(statement: Statement, context: EvaluationContext) -> bool:
    """Whether the statement covers the request: principal, action, resource, conditions."""
    if statement.principals is not None and not statement.principals.matches(
        context.user, context.roles
    ):
        return False
    if statement.actions.matches(context.action) == statement.not_action:
        return False
    if statement.resources.matches(context.resource) == statement.not_resource:
        return False
    return all(condition.holds(context.keys) for condition in statement.conditions)
