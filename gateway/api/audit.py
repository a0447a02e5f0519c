"""``/_artifacts/audit``: the audit log read back, newest first, filtered by principal, action
and decision, for the store's administrators (the web console's audit view).

It reads the gateway's own audit file (``audit_log``, default ``data_dir/audit.log``), the
last 16 MiB of it: with several worker processes on one host, all of theirs (they append to
one file); replicas on other hosts keep their own. A log sent to standard output or turned
off cannot be read back here (404). Each read is itself an audit line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.api.identity import caller
from gateway.api.problems import AUTH, ApiError, problem_responses
from gateway.audit import AuditLog, AuditQuery, AuditRecord, read_recent
from gateway.domain.values import Principal
from gateway.observability.context import request_id

router = APIRouter(prefix="/_artifacts/audit", tags=["audit"])
ACTION = "artifacts:GetAuditLog"  # what the read's own audit line names
ADMIN_ROLE = "artifact-admin"


class AuditLine(BaseModel):
    time: datetime
    request_id: str
    principal: str
    auth: str
    access_key: str | None = None
    source_ip: str | None = None
    operation: str
    action: str
    resource: str
    decision: Literal["allow", "deny"]
    rule: str
    status: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


class AuditPage(BaseModel):
    records: list[AuditLine] = Field(description="Newest first.")


def reads_audit(who: Principal) -> str | None:
    """The rule that lets ``who`` read the whole store's audit log: root, or the realm's
    admin role not narrowed by a policy (an access key's or an STS session's)."""
    if who.root:
        return "root"
    if ADMIN_ROLE in who.roles and not who.policies and who.method == "bearer":
        return f"role:{ADMIN_ROLE}"
    return None


@router.get(
    "",
    response_model=AuditPage,
    summary="The audit log's latest lines (admins)",
    responses=problem_responses(
        AUTH,
        {
            403: "Not an administrator of the whole store.",
            404: "The audit log goes to standard output, or is off: nothing to read here.",
        },
    ),
)
async def get_audit_log(
    request: Request,
    who: Annotated[Principal, Depends(caller)],
    principal: Annotated[str | None, Query(description="Exactly this principal.")] = None,
    action: Annotated[
        str | None, Query(description="Actions containing this text (case-insensitive).")
    ] = None,
    decision: Annotated[Literal["allow", "deny"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The newest lines that match, from the last 16 MiB of the audit file."""
    audit: AuditLog = request.app.state.audit
    record = AuditRecord.of(
        request_id(),
        who,
        request.client.host if request.client else None,
        ACTION,
        "/_artifacts/audit",
        operation="get_audit_log",
    )
    rule = reads_audit(who)
    if rule is None:
        record.status = 403
        audit.write(record)
        raise ApiError(403, "Forbidden", f"{who.name} may not read the audit log.")
    record.decision, record.rule = "allow", rule
    if audit.path is None:
        record.status = 404
        audit.write(record)
        raise ApiError(
            404,
            "Not Found",
            "The audit log is written to standard output or is off (audit_log): read it there.",
        )
    query = AuditQuery(principal=principal, action=action, decision=decision, limit=limit)
    lines = await asyncio.to_thread(read_recent, audit.path, query)
    record.status = 200
    audit.write(record)
    return {"records": lines}
