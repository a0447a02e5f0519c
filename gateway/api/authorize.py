"""Decisions on the JSON API: the same decision function as the S3 edge (``access.py``), and
one audit line per decision, allowed or denied, with the answer's status and byte counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from gateway.access import Authorizer
from gateway.api.identity import CHALLENGE
from gateway.api.problems import ApiError, as_problem
from gateway.audit import AuditLog, AuditRecord
from gateway.domain.errors import NoSuchKey
from gateway.domain.values import Principal
from gateway.observability.context import request_id


def _source_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _decide(
    request: Request, who: Principal, action: str, bucket: str, key: str
) -> tuple[bool, str]:
    access: Authorizer = request.app.state.access
    decision = await access.decide(
        who,
        action,
        bucket,
        key,
        source_ip=_source_ip(request),
        secure=request.url.scheme == "https",
    )
    return decision.allowed, decision.rule


@asynccontextmanager
async def authorized(
    request: Request, who: Principal, action: str, bucket: str, key: str, *, bytes_in: int = 0
) -> AsyncIterator[AuditRecord]:
    """Allow ``who`` to do ``action`` on the object, or answer 403; the body of the ``with``
    sets ``status`` and ``bytes_out`` on the yielded record, an error sets them itself.

    A missing key is told only to callers who may list the bucket (as S3 does): to others
    it is a 403 like a refusal."""
    audit: AuditLog = request.app.state.audit
    record = AuditRecord.of(
        request_id(),
        who,
        _source_ip(request),
        action,
        f"/{bucket}/{key}",
        operation=getattr(request.scope.get("route"), "name", "-"),  # the endpoint's name
    )
    record.bytes_in = bytes_in
    record.rule = "undecided"
    try:
        allowed, record.rule = await _decide(request, who, action, bucket, key)
        record.decision = "allow" if allowed else "deny"
        if not allowed and who.anonymous:  # no credentials: say which ones would do
            raise ApiError(
                401,
                "Unauthorized",
                "Send a Bearer token or Basic access-key credentials.",
                CHALLENGE,
            )
        if not allowed:
            raise ApiError(403, "Forbidden", f"{who.name} may not {action} on /{bucket}/{key}.")
        try:
            yield record
        except NoSuchKey:
            access: Authorizer = request.app.state.access
            told = await access.may_learn_missing_keys(
                who,
                bucket,
                source_ip=_source_ip(request),
                secure=request.url.scheme == "https",
            )
            if not told:
                raise ApiError(
                    403, "Forbidden", f"{who.name} may not {action} on /{bucket}/{key}."
                ) from None
            raise
    except Exception as exc:
        answer = as_problem(exc)
        record.status = answer.status_code if answer is not None else 500
        raise
    finally:
        audit.write(record)
