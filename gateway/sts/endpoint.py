"""``POST /`` with a form body: the STS (and stray IAM) query API.

S3 has no ``POST /`` operation, so nothing collides (DESIGN.md §5). Clients and test suites
call IAM and STS actions here during set-up and clean-up; every action we do not serve gets an
AWS-style XML error at once, never a hang or a 500.
https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gateway.audit import AuditLog, AuditRecord
from gateway.auth.keyring import Keyring
from gateway.auth.requests import signed_request
from gateway.observability.context import note
from gateway.sts import caller_identity, web_identity
from gateway.sts.web_identity import StsError, WebIdentitySts

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_FORM = 64 * 1024
SERVED = ("AssumeRoleWithWebIdentity", "GetCallerIdentity")


def error(code: str, message: str, status: int, request_id: str) -> Response:
    document = ET.Element("ErrorResponse", xmlns=NAMESPACE)
    detail = ET.SubElement(document, "Error")
    ET.SubElement(detail, "Type").text = "Sender" if status < 500 else "Receiver"
    ET.SubElement(detail, "Code").text = code
    ET.SubElement(detail, "Message").text = message
    ET.SubElement(document, "RequestId").text = request_id
    body = ET.tostring(document, encoding="utf-8", xml_declaration=True)
    return Response(body, status_code=status, media_type="text/xml")


async def _form(request: Request) -> tuple[dict[str, str], bytes]:
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                break
    except ClientDisconnect:
        return {}, b""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    form = {name: values[0] for name, values in fields.items()}
    form.update({k: v for k, v in request.query_params.items() if k not in form})
    return form, bytes(body)


async def handle(
    request: Request,
    request_id: str,
    sts: WebIdentitySts | None = None,
    keyring: Keyring | None = None,
    max_skew: int = 900,
    audit: AuditLog | None = None,
) -> Response:
    """Answer one STS request. The two served actions write an audit line each (the token
    exchange and the identity check are decisions about a caller); unknown actions do not."""
    form, body = await _form(request)
    action = form.get("Action", "")
    if not action:
        return error("MissingAction", "Missing Action parameter.", 400, request_id)
    client = request.scope.get("client")
    source_ip = client[0] if client else None
    record = AuditRecord.of(request_id, None, source_ip, f"sts:{action}", "/", operation=action)
    record.bytes_in = len(body)
    try:
        if action in SERVED:
            note(operation=action)
        if action == "AssumeRoleWithWebIdentity":
            if sts is None:
                return error(
                    "NotImplemented",
                    "No OIDC issuer is configured on this server.",
                    501,
                    request_id,
                )
            session = await sts.assume(form)
            record.principal, record.auth = session.principal.name, "web-identity"
            note(principal=record.principal)
            record.decision, record.rule = "allow", "web-identity"
            answer = Response(web_identity.response(session, request_id), media_type="text/xml")
        elif action == "GetCallerIdentity" and keyring is not None:
            caller = await caller_identity.authenticate(
                signed_request(request), body, keyring, max_skew
            )
            record.principal, record.auth = caller.name, caller.method
            note(principal=record.principal)
            record.access_key = caller.access_key
            record.decision, record.rule = "allow", "authenticated"
            identity = caller_identity.identity_of(caller)
            answer = Response(caller_identity.response(identity, request_id), media_type="text/xml")
        else:
            return error("InvalidAction", f"Could not find operation {action}.", 400, request_id)
    except StsError as exc:
        record.rule, record.status = exc.code, exc.status
        answer = error(exc.code, exc.message, exc.status, request_id)
    else:
        record.status = answer.status_code
    if audit is not None:
        record.bytes_out = len(answer.body)
        audit.write(record)
    return answer
