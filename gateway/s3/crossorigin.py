"""CORS for browsers, as one ASGI layer around the S3 layers that answer errors (so error
answers carry the headers too): an ``OPTIONS`` preflight is answered here, unauthenticated,
by the bucket's first matching rule; any other request with an ``Origin`` gets that rule's
``Access-Control-*`` headers on whatever it is answered.

https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html
What S3 answers where its pages are silent (error codes ``AccessForbidden``/``BadRequest``,
``Method`` and ``ResourceType`` fields, ``Vary``, credentials) follows recordings of S3 itself
(docs/s3-compatibility.md, CORS).
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.audit import AuditRecord
from gateway.config import Settings
from gateway.domain import buckets
from gateway.domain.cors import CorsRule, first_match, rules_of
from gateway.domain.errors import NoSuchBucket
from gateway.domain.store import Store
from gateway.domain.values import ANONYMOUS
from gateway.observability.context import note
from gateway.s3.errors import S3Error
from gateway.s3.exchange import exchange_of, split
from gateway.s3.xml import error_document

log = logging.getLogger("gateway.s3")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
    "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
    "are not whitelisted by the resource's CORS spec."
)


def requested_headers(value: str | None) -> tuple[str, ...]:
    """``Access-Control-Request-Headers``: names split at commas, lowercased, as S3 answers
    them back."""
    return tuple(name.strip().lower() for name in (value or "").split(",") if name.strip())


def cors_headers(rule: CorsRule, origin: str) -> dict[str, str]:
    """What the matching rule adds to an answer; a rule open to every origin answers ``*``
    and no credentials."""
    headers = {"Access-Control-Allow-Origin": "*" if rule.any_origin else origin}
    if not rule.any_origin:
        headers["Access-Control-Allow-Credentials"] = "true"
    headers["Access-Control-Allow-Methods"] = ", ".join(rule.allowed_methods)
    if rule.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    headers["Vary"] = VARY
    return headers


class CrossOrigin:
    def __init__(self, app: ASGIApp, settings: Settings, store: Store) -> None:
        self.app, self.settings, self.store = app, settings, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS":
            response = await self.preflight(scope, headers, origin)
            await response(scope, receive, send)
            return
        if origin is None:
            await self.app(scope, receive, send)
            return
        method = headers.get("access-control-request-method") or scope["method"]

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                rule = await self.rule_for(scope, origin, method)
                if rule is not None:
                    message["headers"] = [
                        *message.get("headers", []),
                        *(
                            (k.lower().encode(), v.encode())
                            for k, v in cors_headers(rule, origin).items()
                        ),
                    ]
            await send(message)

        await self.app(scope, receive, with_cors)

    async def rule_for(self, scope: Scope, origin: str, method: str) -> CorsRule | None:
        """The bucket's first rule for an actual request; none when anything is missing (a
        lookup failure costs the headers, never the answer)."""
        try:
            bucket, _ = split(self.settings, exchange_of(scope).request)
            if not bucket:
                return None
            rules = rules_of(await buckets.get_bucket(self.store, bucket))
        except Exception:
            log.debug("no CORS headers for %s", scope.get("path"), exc_info=True)
            return None
        return first_match(rules, origin, method) if rules else None

    async def preflight(self, scope: Scope, headers: Headers, origin: str | None) -> Response:
        """An ``OPTIONS`` request, answered by the first rule that allows its origin, the
        method it announces and every header it announces; no signature is looked at."""
        exchange = exchange_of(scope)
        note(operation="PreflightCors")
        exchange.audit = audit = AuditRecord.of(
            exchange.request_id,
            ANONYMOUS,
            exchange.source_ip,
            "-",
            exchange.resource,
            operation="PreflightCors",
        )
        try:
            rule, answer = await self._preflight(scope, headers, origin)
        except S3Error as error:
            audit.rule = f"cors:{error.code}"
            body = error_document(error, exchange.resource, exchange.request_id)
            return Response(body, status_code=error.status, media_type="application/xml")
        audit.decision, audit.rule = "allow", f"cors:{rule.id or 'rule'}"
        return Response(status_code=200, headers=answer)

    async def _preflight(
        self, scope: Scope, headers: Headers, origin: str | None
    ) -> tuple[CorsRule, dict[str, str]]:
        if origin is None:
            raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
        method = headers.get("access-control-request-method")
        shown = {"Method": method or "OPTIONS"}
        bucket, key = split(self.settings, exchange_of(scope).request)
        try:
            record = await buckets.get_bucket(self.store, bucket) if bucket else None
        except NoSuchBucket:
            record = None
        if record is None:
            fields = {**shown, "ResourceType": "BUCKET"}
            raise S3Error("AccessForbidden", "CORSResponse: Bucket not found", fields=fields)
        rules = rules_of(record)
        if not rules:
            raise S3Error(
                "AccessForbidden", NOT_ENABLED, fields={**shown, "ResourceType": "BUCKET"}
            )
        if method is None:
            raise S3Error(
                "BadRequest",
                "Insufficient information. Access-Control-Request-Method header needed.",
            )
        announced = requested_headers(headers.get("access-control-request-headers"))
        rule = first_match(rules, origin, method, announced)
        if rule is None:
            fields = {**shown, "ResourceType": "OBJECT" if key else "BUCKET"}
            raise S3Error("AccessForbidden", NOT_ALLOWED, fields=fields)
        answer = cors_headers(rule, origin)
        if announced:
            answer["Access-Control-Allow-Headers"] = ", ".join(announced)
        return rule, answer
