"""``/v2/token``: the registry token endpoint of the Docker token spec
(https://distribution.github.io/distribution/spec/auth/token/), where ``podman``, ``skopeo``,
``oras``, ``crane``, ``regctl`` and ``cosign`` trade credentials for a short-lived token.

``GET`` with ``Basic`` (an access key and its secret, or a Keycloak username and password),
with a Keycloak ``Bearer`` token, or with nothing (anonymous); ``POST`` with the OAuth2
password grant form (https://distribution.github.io/distribution/spec/auth/oauth/). Each
action of each requested scope is decided as the request itself will be, and only what is
allowed is granted; each of those decisions is an audit line. A registry token is not a
credential here: a new token needs the credentials again.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from gateway.access import Authorizer
from gateway.audit import AuditLog, AuditRecord
from gateway.domain.values import Principal
from gateway.observability.context import note, request_id
from gateway.oci import routes
from gateway.oci.errors import OciError, unavailable
from gateway.oci.login import Caller, Login, LoginFailed
from gateway.oci.resources import resource_of
from gateway.oci.tokens import RegistryTokens, Scope, parse_scopes

OPERATION = "GetRegistryToken"
ALL_ACTIONS: tuple[routes.Access, ...] = (routes.PULL, routes.PUSH, routes.DELETE)
BASIC_CHALLENGE = 'Basic realm="artifact-store"'


MAX_FORM = 64 * 1024


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (RFC 6749 §4.3.2), at most 64 KiB."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM:
            raise OciError(413, "SIZE_INVALID", "The form may not exceed 64 KiB.")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


class TokenEndpoint:
    def __init__(
        self, tokens: RegistryTokens, login: Login, access: Authorizer, audit: AuditLog, prefix: str
    ) -> None:
        self.tokens, self.login, self.access = tokens, login, access
        self.audit, self.prefix = audit, prefix

    async def __call__(self, request: Request, send: Send) -> None:
        client = request.scope.get("client")
        source_ip = client[0] if client else None
        record = AuditRecord.of(request_id(), None, source_ip, "-", "/v2/token", OPERATION)
        note(operation=OPERATION)
        try:
            caller, scopes = await self._caller_and_scopes(request)
            note(principal=caller.principal.name)
            record = AuditRecord.of(
                record.request_id, caller.principal, source_ip, "-", "/v2/token", OPERATION
            )
            record.decision, record.rule = "allow", f"login:{caller.method}"
            granted = [await self._grant(request, caller.principal, s, source_ip) for s in scopes]
            token = self.tokens.issue(caller.principal, [s for s in granted if s.actions])
            body = {
                "token": token,
                "access_token": token,
                "expires_in": self.tokens.lifetime,
                "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            response = Response(json.dumps(body).encode(), 200, media_type="application/json")
        except OciError as exc:
            response = exc.response(request.method)
        record.status = response.status_code
        record.bytes_out = len(response.body)
        self.audit.write(record)
        await response(request.scope, request.receive, send)

    async def _caller_and_scopes(self, request: Request) -> tuple[Caller, list[Scope]]:
        if request.method == "GET":
            authorization = request.headers.get("authorization")
            scopes = parse_scopes(request.query_params.getlist("scope"))
        elif request.method == "POST":
            form = await _form(request)
            if form.get("grant_type") != "password":
                raise OciError(400, "UNSUPPORTED", "Only the password grant is supported.")
            pair = f"{form.get('username', '')}:{form.get('password', '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode()
            scopes = parse_scopes([str(form.get("scope", ""))])
        else:
            raise OciError(405, "UNSUPPORTED", "GET or POST the token endpoint.")
        try:
            caller = await self.login.caller(authorization)
        except LoginFailed as exc:
            if exc.unavailable:
                raise unavailable(exc.message) from None
            raise OciError(
                401, "UNAUTHORIZED", exc.message, {"WWW-Authenticate": BASIC_CHALLENGE}
            ) from None
        if caller.grant is not None:
            raise OciError(
                401,
                "UNAUTHORIZED",
                "A registry token is not a credential: send the credentials again.",
                {"WWW-Authenticate": BASIC_CHALLENGE},
            )
        return caller, scopes

    async def _grant(
        self, request: Request, who: Principal, scope: Scope, source_ip: str | None
    ) -> Scope:
        if scope.type == "registry" and scope.name == "catalog":
            return Scope(scope.type, scope.name, frozenset({"*"}))  # the catalog filters itself
        if scope.type != "repository":
            return Scope(scope.type, scope.name, frozenset())
        wanted = set(ALL_ACTIONS) if "*" in scope.actions else scope.actions & set(ALL_ACTIONS)
        resource = resource_of(self.prefix, scope.name)
        granted: set[str] = set()
        for access in sorted(wanted):
            action = resource.action(access)  # type: ignore[arg-type]
            line = AuditRecord.of(
                request_id(),
                who,
                source_ip,
                action or f"oci:{access}",
                f"/v2/{scope.name}",
                OPERATION,
            )
            if action is None:
                line.rule = "read-only:s3-objects"
            else:
                decision = await self.access.decide(
                    who,
                    action,
                    resource.bucket,
                    resource.key,
                    source_ip=source_ip,
                    secure=request.url.scheme == "https",
                )
                line.rule = decision.rule
                if decision.allowed:
                    line.decision = "allow"
                    granted.add(access)
            line.status = 200
            self.audit.write(line)
        return Scope(scope.type, scope.name, frozenset(granted))
