"""The S3 application: authenticate, match a route (``routes.py``), decide, audit, run the
handler, and the one place that turns handler results and errors into responses."""

from __future__ import annotations

import logging
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gateway.access import Authorizer
from gateway.audit import AuditLog, AuditRecord, new_request_id
from gateway.auth.errors import AuthError
from gateway.auth.jwt import TokenCheck
from gateway.auth.keyring import Keyring
from gateway.auth.requests import authenticate
from gateway.config import Settings
from gateway.domain.errors import NoSuchKey
from gateway.domain.store import Store
from gateway.domain.values import Principal
from gateway.policy.decide import Decision
from gateway.s3.errors import S3Error, from_exception
from gateway.s3.request import S3Request
from gateway.s3.routes import Target, also_required, match, route_query
from gateway.s3.xml import error_document
from gateway.sts import endpoint as sts
from gateway.sts.web_identity import WebIdentitySts

log = logging.getLogger("gateway.s3")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length", "0")
    return length != "0" or "transfer-encoding" in request.headers


def request_id() -> str:
    return new_request_id()


class S3App:
    """The S3 protocol edge as one ASGI app (mounted under "/" by ``gateway.app``)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        keyring: Keyring,
        bearer: TokenCheck | None = None,
        web_identity: WebIdentitySts | None = None,
        audit: AuditLog | None = None,
        access: Authorizer | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.keyring = keyring
        self.bearer = bearer
        self.web_identity = web_identity
        self.audit = audit or AuditLog(None)
        self.access = access or Authorizer(store)

    def virtual_host(self, request: Request) -> bool:
        domain = self.settings.virtual_host_domain
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        return bool(domain) and host.endswith(f".{domain}")

    def split(self, request: Request) -> tuple[str, str]:
        """(bucket, key) from a path-style or virtual-hosted-style request."""
        raw = request.scope.get("raw_path") or request.scope["path"].encode()
        try:
            path = unquote(raw.decode("latin-1").split("?", 1)[0], errors="strict")
        except UnicodeDecodeError as exc:
            raise S3Error("InvalidArgument", "The request path is not valid UTF-8.") from exc
        if self.virtual_host(request):
            host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
            return host[: -len(str(self.settings.virtual_host_domain)) - 1], path[1:]
        bucket, _, key = path[1:].partition("/")
        return bucket, key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = [0]
        upstream = receive

        async def counting_receive() -> Message:
            message = await upstream()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
            return message

        receive = counting_receive
        request = Request(scope, receive)
        rid = request_id()
        resource = request.url.path
        client = scope.get("client")
        source_ip = client[0] if client else None
        principal: Principal | None = None
        audit: AuditRecord | None = None
        bucket = key = ""
        try:
            bucket, key = self.split(request)
            resource = f"/{bucket}/{key}" if key else f"/{bucket}" if bucket else "/"
            target: Target = "object" if key else "bucket" if bucket else "service"
            if request.method == "POST" and target == "service":
                response = await sts.handle(
                    request,
                    rid,
                    self.web_identity,
                    self.keyring,
                    self.settings.max_skew_seconds,
                    self.audit,
                )
                response.headers["x-amzn-requestid"] = rid
                await response(scope, receive, send)
                return
            query = dict(request.query_params)
            principal, credential = await authenticate(
                request,
                self.keyring,
                self.settings.max_skew_seconds,
                bucket if self.virtual_host(request) else None,
                self.bearer,
            )
            headers = dict(request.headers)
            route = match(request.method, target, query, headers)
            audit = AuditRecord.of(rid, principal, source_ip, route.action, resource)
            if route.per_key:  # each key gets its own decision and audit line
                decision = Decision(True, "per-key")
            else:
                decision = await self.authorize(
                    principal, route.action, bucket, key, request, route_query(route, query)
                )
            for needed in also_required(route, bucket, headers) if decision.allowed else ():
                extra = await self.authorize(
                    principal, needed.action, needed.bucket, needed.key, request, {}
                )
                if not extra.allowed:
                    decision = Decision(False, f"{needed.label}:{extra.rule}")
                    break
            audit.decision, audit.rule = ("allow" if decision.allowed else "deny"), decision.rule
            if not decision.allowed:
                raise S3Error("AccessDenied")
            payload = credential.payload_hash if credential else ""
            caller = principal

            async def can(action: str, name: str, object_key: str = "") -> bool:
                allowed = await self.authorize(caller, action, name, object_key, request, {})
                if object_key:  # a per-key decision is a decision of its own
                    line = AuditRecord.of(rid, caller, source_ip, action, f"/{name}/{object_key}")
                    line.decision = "allow" if allowed.allowed else "deny"
                    line.rule = allowed.rule
                    line.status = 200 if allowed.allowed else 403
                    self.audit.write(line)
                return allowed.allowed

            context = S3Request(
                request=request,
                store=self.store,
                bucket=bucket,
                key=key,
                request_id=rid,
                query=query,
                principal=principal,
                content_sha256=payload if len(payload) == 64 else None,
                payload_hash=payload,
                credential=credential,
                can=can,
            )
            response = await route.handler(context)
        except Exception as exc:
            if audit is None:
                audit = AuditRecord.of(rid, principal, source_ip, "-", resource)
                if isinstance(exc, AuthError):
                    audit.rule = f"authentication:{exc.code}"
                elif principal is not None:
                    audit.rule = "no-route"
            exc = await self.hidden(exc, principal, bucket, request)
            response = self.error_response(exc, request, resource, rid)
        response.headers["x-amz-request-id"] = rid
        response.headers["x-amz-id-2"] = rid
        await self.respond(response, scope, receive, send, audit, received)

    async def respond(
        self,
        response: Response,
        scope: Scope,
        receive: Receive,
        send: Send,
        audit: AuditRecord,
        received: list[int],
    ) -> None:
        """Send the response, counting what crossed the wire for the audit line."""

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                audit.status = int(message["status"])
            elif message["type"] == "http.response.body":
                audit.bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            await response(scope, receive, counting_send)
        finally:
            audit.bytes_in = received[0]
            self.audit.write(audit)

    async def authorize(
        self,
        principal: Principal,
        action: str,
        bucket: str,
        key: str,
        request: Request,
        condition_keys: dict[str, str],
    ) -> Decision:
        client = request.scope.get("client")
        return await self.access.decide(
            principal,
            action,
            bucket,
            key,
            source_ip=client[0] if client else None,
            secure=request.url.scheme == "https",
            condition_keys=condition_keys,
        )

    async def hidden(
        self, exc: Exception, principal: Principal | None, bucket: str, request: Request
    ) -> Exception:
        """A missing key is AccessDenied to callers who may not list the bucket (S3 does so)."""
        if isinstance(exc, NoSuchKey) and principal is not None:
            client = request.scope.get("client")
            told = await self.access.may_learn_missing_keys(
                principal,
                bucket,
                source_ip=client[0] if client else None,
                secure=request.url.scheme == "https",
            )
            if not told:
                return S3Error("AccessDenied")
        return exc

    def error_response(self, exc: Exception, request: Request, resource: str, rid: str) -> Response:
        error = from_exception(exc, resource=resource.lstrip("/"))
        if error is None:
            log.exception("internal error on %s %s (request %s)", request.method, resource, rid)
            error = S3Error("InternalError")
        elif error.status >= 500:
            log.warning("%s on %s %s: %s", error.code, request.method, resource, exc)
        headers = dict(error.headers)
        if _has_body(request):
            # The body may be unread (or only partly read): close rather than let the next
            # request on this connection be parsed from the leftover bytes.
            headers["Connection"] = "close"
        if error.status == 304:
            return Response(status_code=304, headers=headers)
        body = b"" if request.method == "HEAD" else error_document(error, resource, rid)
        return Response(
            body, status_code=error.status, headers=headers, media_type="application/xml"
        )
