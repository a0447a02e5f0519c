"""The S3 application: small ASGI layers, composed as Starlette composes middleware.

    StsFirst        POST / goes to STS (its own answers and audit lines)
    Audited         request id, byte counts, one audit line per request once answered
    CrossOrigin     OPTIONS preflights; Access-Control-* on answers to an Origin (crossorigin.py)
    S3Errors        any exception before the answer started -> an S3 error document
    Authenticated   who is asking (auth/requests.py), bucket and key from the URL
    Authorized      the route (routes.py), the decision, what else the request needs
    Limited         a data request over the process's cap: 503 SlowDown (limited.py)
    Endpoint        the handler, and the one renderer of its result (result.py)

Each layer reads and fills the request's ``Exchange``, kept in the ASGI scope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.access import Authorizer
from gateway.audit import AuditLog, AuditRecord
from gateway.auth.errors import AuthError
from gateway.auth.jwt import TokenCheck
from gateway.auth.keyring import Keyring
from gateway.auth.requests import authenticate
from gateway.config import Settings
from gateway.domain.errors import NoSuchKey
from gateway.domain.store import Store
from gateway.domain.values import Principal
from gateway.observability import metrics
from gateway.observability.context import annotate, note, request_id
from gateway.policy.conditions import ContextValues
from gateway.policy.decide import Decision
from gateway.s3 import tagging
from gateway.s3.crossorigin import CrossOrigin
from gateway.s3.errors import S3Error, from_exception
from gateway.s3.exchange import EXCHANGE, Exchange, exchange_of, split, target_of, virtual_host
from gateway.s3.limited import Limited
from gateway.s3.request import S3Request
from gateway.s3.result import render
from gateway.s3.routes import also_required, match, route_query
from gateway.s3.xml import error_document
from gateway.shedding import Limiter
from gateway.sts import endpoint as sts
from gateway.sts.web_identity import WebIdentitySts

log = logging.getLogger("gateway.s3")
# The operations whose bodies are objects' bytes, for the transfers-in-flight gauge.
TRANSFERS = {"PutObject": "upload", "UploadPart": "upload", "GetObject": "download"}


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length", "0")
    return length != "0" or "transfer-encoding" in request.headers


class StsFirst:
    """``POST /`` is an STS (or IAM query API) request, answered and audited by ``sts/``."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        keyring: Keyring,
        web_identity: WebIdentitySts | None,
        audit: AuditLog,
    ) -> None:
        self.app, self.settings, self.keyring = app, settings, keyring
        self.web_identity, self.audit = web_identity, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] == "POST":
            request = Request(scope, receive)
            try:
                bucket, key = split(self.settings, request)
            except S3Error:
                bucket = key = "-"  # not STS: the S3 layers answer the bad path
            if target_of(bucket, key) == "service":
                started = time.perf_counter()
                rid = request_id()
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
                elapsed = time.perf_counter() - started
                sent = len(response.body)
                metrics.observe_request(metrics.S3, "STS", response.status_code, elapsed, 0, sent)
                return
        await self.app(scope, receive, send)


class Audited:
    """Gives the request its id and Exchange, counts the bytes in and out, names the id in
    the answer's headers, and writes the request's audit line and metrics once the answer is
    sent."""

    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app, self.audit = app, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        client = scope.get("client")
        rid = request_id()
        upstream = receive

        async def counting_receive() -> Message:
            message = await upstream()
            if message["type"] == "http.request":
                exchange.received += len(message.get("body", b""))
            return message

        exchange = Exchange(
            request_id=rid,
            request=Request(scope, counting_receive),
            resource=scope["path"],
            source_ip=client[0] if client else None,
        )
        scope[EXCHANGE] = exchange

        async def counting_send(message: Message) -> None:
            record = exchange.audit
            if message["type"] == "http.response.start":
                exchange.started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-amz-request-id", rid.encode()),
                    (b"x-amz-id-2", rid.encode()),
                ]
                if record is not None:
                    record.status = int(message["status"])
            elif message["type"] == "http.response.body" and record is not None:
                record.bytes_out += len(message.get("body", b""))
            await send(message)

        in_flight = metrics.child(metrics.HTTP_IN_FLIGHT, metrics.S3)
        in_flight.inc()
        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            in_flight.dec()
            record = exchange.audit
            if record is not None:
                record.bytes_in = exchange.received
                self.audit.write(record)
            metrics.observe_request(
                metrics.S3,
                exchange.route.operation if exchange.route else metrics.UNROUTED,
                record.status if record else 0,
                time.perf_counter() - started,
                exchange.received,
                record.bytes_out if record else 0,
            )


class S3Errors:
    """Any exception raised before the answer started becomes an S3 error document, and the
    audit line of a request refused before its route was known is made here."""

    def __init__(self, app: ASGIApp, access: Authorizer) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if exchange.started:
                raise
            if exchange.audit is None:
                exchange.audit = self.unrouted(exchange, exc)
            exc = await self.hidden(exc, exchange)
            await self.error_response(exc, exchange)(scope, receive, send)

    @staticmethod
    def unrouted(exchange: Exchange, exc: Exception) -> AuditRecord:
        record = AuditRecord.of(
            exchange.request_id, exchange.principal, exchange.source_ip, "-", exchange.resource
        )
        if isinstance(exc, AuthError):
            record.rule = f"authentication:{exc.code}"
        elif exchange.principal is not None:
            record.rule = "no-route"
        return record

    async def hidden(self, exc: Exception, exchange: Exchange) -> Exception:
        """A missing key is AccessDenied to callers who may not list the bucket (S3 does so)."""
        if isinstance(exc, NoSuchKey) and exchange.principal is not None:
            request = exchange.request
            client = request.scope.get("client")
            told = await self.access.may_learn_missing_keys(
                exchange.principal,
                exchange.bucket,
                source_ip=client[0] if client else None,
                secure=request.url.scheme == "https",
            )
            if not told:
                return S3Error("AccessDenied")
        return exc

    @staticmethod
    def error_response(exc: Exception, exchange: Exchange) -> Response:
        request, resource, rid = exchange.request, exchange.resource, exchange.request_id
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


class Authenticated:
    """Who is asking: a request whose credentials do not verify is refused, never treated as
    anonymous (DESIGN.md §4)."""

    def __init__(
        self, app: ASGIApp, settings: Settings, keyring: Keyring, bearer: TokenCheck | None
    ) -> None:
        self.app, self.settings, self.keyring, self.bearer = app, settings, keyring, bearer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        request = exchange.request
        exchange.bucket, exchange.key = bucket, key = split(self.settings, request)
        exchange.resource = f"/{bucket}/{key}" if key else f"/{bucket}" if bucket else "/"
        exchange.principal, exchange.credential = await authenticate(
            request,
            self.keyring,
            self.settings.max_skew_seconds,
            bucket if virtual_host(self.settings, request) else None,
            self.bearer,
        )
        note(principal=exchange.principal.name)
        if bucket:  # the path names them already: no more is told than the URL attribute
            annotate({"aws.s3.bucket": bucket, **({"aws.s3.key": key} if key else {})})
        await self.app(scope, receive, send)


class Authorized:
    """The route, and the decision on its action (plus what else the request needs: a copy's
    source, a public ACL); the audit line is made here, named by the S3 operation."""

    def __init__(self, app: ASGIApp, access: Authorizer) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        request, principal = exchange.request, exchange.principal
        assert principal is not None  # Authenticated ran
        bucket, key = exchange.bucket, exchange.key
        exchange.query = query = dict(request.query_params)
        headers = dict(request.headers)
        route = match(request.method, target_of(bucket, key), query, headers)
        exchange.route = route
        note(operation=route.operation)
        audit = AuditRecord.of(
            exchange.request_id,
            principal,
            exchange.source_ip,
            route.action,
            exchange.resource,
            operation=route.operation,
        )
        exchange.audit = audit
        if route.per_key:  # each key gets its own decision and audit line
            decision = Decision(True, "per-key")
        else:
            mentions = await self.access.policy_mentions(principal, bucket, tagging.TAG_CONDITIONS)
            keys: dict[str, ContextValues] = {**route_query(route, query)}
            if mentions:
                keys |= await tagging.condition_keys(
                    self.access.store, route.operation, route.action, bucket, key, request, mentions
                )
            decision = await decide(
                self.access, principal, route.action, bucket, key, request, keys
            )
        for needed in also_required(route, bucket, key, headers) if decision.allowed else ():
            extra = await decide(
                self.access, principal, needed.action, needed.bucket, needed.key, request, {}
            )
            if not extra.allowed:
                decision = Decision(False, f"{needed.label}:{extra.rule}")
                break
        audit.decision, audit.rule = ("allow" if decision.allowed else "deny"), decision.rule
        if not decision.allowed:
            raise S3Error("AccessDenied")
        await self.app(scope, receive, send)


async def decide(
    access: Authorizer,
    principal: Principal,
    action: str,
    bucket: str,
    key: str,
    request: Request,
    condition_keys: Mapping[str, ContextValues],
) -> Decision:
    client = request.scope.get("client")
    return await access.decide(
        principal,
        action,
        bucket,
        key,
        source_ip=client[0] if client else None,
        secure=request.url.scheme == "https",
        condition_keys=condition_keys,
    )


def _unsigned_framing(request: Request) -> str:
    """The payload mode of a request without SigV4 (a Bearer token, anonymous): only the
    unsigned aws-chunked framing, which needs no key. The AWS SDKs send it for stream bodies
    with a flexible checksum; ignoring it refused them (or would store the framing)."""
    declared = request.headers.get("x-amz-content-sha256", "")
    return declared if declared == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" else ""


class Endpoint:
    """Runs the route's handler and renders what it returns."""

    def __init__(self, store: Store, access: Authorizer, audit: AuditLog) -> None:
        self.store, self.access, self.audit = store, access, audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = exchange_of(scope)
        route, caller, request = exchange.route, exchange.principal, exchange.request
        assert route is not None  # Authorized ran
        assert caller is not None
        credential = exchange.credential
        payload = credential.payload_hash if credential else _unsigned_framing(request)

        async def can(action: str, name: str, object_key: str = "") -> bool:
            allowed = await decide(self.access, caller, action, name, object_key, request, {})
            if object_key:  # a per-key decision is a decision of its own
                line = AuditRecord.of(
                    exchange.request_id,
                    caller,
                    exchange.source_ip,
                    action,
                    f"/{name}/{object_key}",
                    operation=route.operation,
                )
                line.decision = "allow" if allowed.allowed else "deny"
                line.rule = allowed.rule
                line.status = 200 if allowed.allowed else 403
                self.audit.write(line)
            return allowed.allowed

        context = S3Request(
            request=request,
            store=self.store,
            bucket=exchange.bucket,
            key=exchange.key,
            request_id=exchange.request_id,
            query=exchange.query or {},
            principal=caller,
            content_sha256=payload if len(payload) == 64 else None,
            payload_hash=payload,
            credential=credential,
            can=can,
        )
        direction = TRANSFERS.get(route.operation)
        if direction is None:
            response = render(await route.handler(context))
            await response(scope, receive, send)
            return
        transfers = metrics.child(metrics.TRANSFERS_IN_FLIGHT, direction)
        transfers.inc()
        try:
            response = render(await route.handler(context))
            await response(scope, receive, send)
        finally:
            transfers.dec()


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
        limiter: Limiter | None = None,
    ) -> None:
        self.settings, self.store = settings, store
        self.limiter = limiter or Limiter(0)
        self.audit = audit or AuditLog(None)
        self.access = access or Authorizer(store)
        self.app: ASGIApp = StsFirst(
            Audited(
                CrossOrigin(
                    S3Errors(
                        Authenticated(
                            Authorized(
                                Limited(Endpoint(store, self.access, self.audit), self.limiter),
                                self.access,
                            ),
                            settings,
                            keyring,
                            bearer,
                        ),
                        self.access,
                    ),
                    settings,
                    store,
                ),
                self.audit,
            ),
            settings,
            keyring,
            web_identity,
            self.audit,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
