"""``/v2/``: the OCI distribution API, through the gateway's identities and decisions, to Zot.

    authenticate   login.py: Basic (access key, Keycloak password), Bearer (registry token,
                   Keycloak token) or anonymous; bad credentials are a 401, never anonymous
    route          routes.py: which endpoint, which repository, pull/push/delete
    decide         resources.py: the repository as a bucket-like resource, the S3 action,
                   the same ``Authorizer`` as S3; a token's scopes narrow it further
    shed           a blob or manifest transfer over the process's cap of data requests:
                   503 UNAVAILABLE with Retry-After at once (gateway/shedding.py)
    forward        upstream.py: streamed both ways, the registry's answer as it is
    audit          one line per request, named by the endpoint's operation

Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gateway.access import Authorizer
from gateway.audit import AuditLog, AuditRecord
from gateway.domain.store import Store
from gateway.domain.supply.referrers import pushed_elsewhere
from gateway.observability import metrics
from gateway.observability.context import note, request_id
from gateway.oci import catalog, routes
from gateway.oci.challenge import TOKEN_PATH, bearer_challenge
from gateway.oci.errors import OciError, denied, unauthorized, unavailable
from gateway.oci.login import Caller, Login, LoginFailed
from gateway.oci.resources import Resource, resource_of
from gateway.oci.token_endpoint import TokenEndpoint
from gateway.oci.upstream import Answer, RegistryUnreachable, Upstream
from gateway.shedding import Draining, Limiter, Overloaded

log = logging.getLogger("gateway.oci")
MAX_MANIFEST = 4 * 1024 * 1024  # Zot's own cap
# A manifest this small is read before it is forwarded: a body the registry adapter can send
# again, so it may carry Zot's session cookie (gateway/registry/session.py); a larger one
# streams on, and Zot judges it.
WHOLE_MANIFEST = 64 * 1024
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
# The endpoints that move blob or manifest bytes: each holds a slot of the cap while it runs.
DATA_OPERATIONS = frozenset(
    {"GetBlob", "GetManifest", "PutManifest", "PatchBlobUpload", "PutBlobUpload"}
)
READ_ONLY = (
    "Repositories of S3 objects are read-only through /v2/: only referrers (a manifest with "
    "a subject, pushed by digest, and its blobs) may be added."
)


def is_oci_path(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


class OciApp:
    def __init__(
        self,
        *,
        store: Store,
        upstream: Upstream,
        login: Login,
        tokens: TokenEndpoint,
        access: Authorizer,
        audit: AuditLog,
        service: str,
        limiter: Limiter | None = None,
    ) -> None:
        self.store, self.upstream, self.login = store, upstream, login
        self.tokens, self.access, self.audit, self.service = tokens, access, audit, service
        self.limiter = limiter or Limiter(0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request = Request(scope, receive)
        if scope["path"] == TOKEN_PATH:
            await self.token(request, send, started)
            return
        in_flight = metrics.child(metrics.HTTP_IN_FLIGHT, metrics.OCI)
        in_flight.inc()
        try:
            await self.serve(request, send, started)
        finally:
            in_flight.dec()

    async def token(self, request: Request, send: Send, started: float) -> None:
        """The registry token endpoint, measured as the ``Token`` operation."""
        status = 0

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.tokens(request, noting)
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe_request(metrics.OCI, "Token", status, elapsed, 0, 0)

    async def serve(self, request: Request, send: Send, started: float) -> None:
        scope, receive = request.scope, request.receive
        endpoint = routes.endpoint(request.method, scope["path"])
        client = scope.get("client")
        if endpoint is not None:
            note(operation=endpoint.operation)
        record = AuditRecord.of(
            request_id(),
            None,
            client[0] if client else None,
            "-",
            scope["path"],
            operation=endpoint.operation if endpoint else "-",
        )
        exchange = _Exchange(request, record, send)
        try:
            try:
                caller = await self.login.caller(request.headers.get("authorization"))
            except LoginFailed as exc:
                record.rule = "authentication:failed"
                if exc.unavailable:
                    raise unavailable(exc.message) from None
                raise unauthorized(exc.message, self.challenge(request)) from None
            note(principal=caller.principal.name)
            exchange.record = record = AuditRecord.of(
                record.request_id,
                caller.principal,
                record.source_ip,
                "-",
                record.resource,
                operation=record.operation,
            )
            try:
                await self.dispatch(exchange, endpoint, caller)
            except Draining as exc:  # cut by the drain deadline (gateway/drain.py)
                if exchange.started:
                    raise
                headers = {"Retry-After": str(exc.retry_after), "Connection": "close"}
                raise OciError(503, "UNAVAILABLE", str(exc), headers) from None
        except OciError as exc:
            if exchange.started:
                raise
            exchange.record.status = exc.status
            response = exc.response(request.method)
            await response(scope, receive, send)
        finally:
            record = exchange.record
            record.bytes_in = exchange.received
            self.audit.write(record)
            metrics.observe_request(
                metrics.OCI,
                record.operation if record.operation != "-" else metrics.UNROUTED,
                record.status,
                time.perf_counter() - started,
                record.bytes_in,
                record.bytes_out,
            )

    def challenge(
        self, request: Request, scope: str | None = None, error: str | None = None
    ) -> str:
        return bearer_challenge(request, self.service, scope, error)

    async def dispatch(
        self, exchange: _Exchange, endpoint: routes.Endpoint | None, caller: Caller
    ) -> None:
        request, record = exchange.request, exchange.record
        if endpoint is not None and endpoint.operation in (routes.BASE, routes.CATALOG):
            if caller.principal.anonymous and caller.grant is None:
                record.rule = "unauthenticated"
                scope = "registry:catalog:*" if endpoint.operation == routes.CATALOG else None
                raise unauthorized("Authentication required.", self.challenge(request, scope))
            record.decision, record.rule = "allow", caller.method
            if endpoint.operation == routes.BASE:
                await exchange.answer(Response(b"{}", 200, dict([API_VERSION]), "application/json"))
                return
            await self.catalog(exchange, caller)
            return
        if endpoint is None or endpoint.repository is None or endpoint.access is None:
            record.rule = "no-route"
            if caller.principal.anonymous:
                raise unauthorized("Authentication required.", self.challenge(request))
            if endpoint is None:
                raise OciError(404, "UNSUPPORTED", "No such endpoint of the distribution API.")
            raise OciError(405, "UNSUPPORTED", f"{request.method} is not served here.")
        await self.repository(exchange, endpoint, endpoint.repository, endpoint.access, caller)

    async def repository(
        self,
        exchange: _Exchange,
        endpoint: routes.Endpoint,
        repository: str,
        access: routes.Access,
        caller: Caller,
    ) -> None:
        request, record = exchange.request, exchange.record
        resource = resource_of(self.store.prefix, repository)
        action = resource.action(access)
        record.action = action or f"oci:{access}"
        scope = f"repository:{repository}:{'pull,push' if access == routes.PUSH else access}"
        if action is None:  # refused to everyone: no token would help
            record.rule = "read-only:s3-objects"
            raise denied(READ_ONLY)
        if caller.grant is not None and not caller.grant.covers("repository", repository, access):
            record.rule = "token-scope"
            raise unauthorized(
                f"The token does not grant {access} on {repository}.",
                self.challenge(request, scope, "insufficient_scope"),
            )
        allowed, record.rule = await self.decide(request, caller, action, resource)
        record.decision = "allow" if allowed else "deny"
        if not allowed:
            if caller.principal.anonymous:
                raise unauthorized("Authentication required.", self.challenge(request, scope))
            raise denied(f"{caller.principal.name} may not {access} {repository}.")
        if endpoint.operation not in DATA_OPERATIONS and not (
            endpoint.operation == "StartBlobUpload" and exchange.has_body  # a monolithic push
        ):
            await self.transfer(exchange, endpoint, resource, caller)
            return
        try:
            async with self.limiter.slot("oci"):
                await self.transfer(exchange, endpoint, resource, caller)
        except Overloaded as exc:  # raised on entry only: nothing was sent
            headers = {"Retry-After": str(exc.retry_after)}
            raise OciError(503, "UNAVAILABLE", str(exc), headers) from None

    async def transfer(
        self, exchange: _Exchange, endpoint: routes.Endpoint, resource: Resource, caller: Caller
    ) -> None:
        """Forward the request and relay the registry's answer (a referrer's manifest to an
        S3 object's repository checked first)."""
        request, record = exchange.request, exchange.record
        manifest: bytes | None = None
        if resource.s3_objects and endpoint.operation == "PutManifest":
            manifest = await _small_body(exchange)
            if not _is_referrer(endpoint.reference or "", manifest):
                record.decision, record.rule = "deny", "read-only:s3-objects"
                raise denied(READ_ONLY)
        query = request.scope.get("query_string", b"")
        if endpoint.operation == "StartBlobUpload":
            query = await self.mount_query(request, caller, query)
        body: AsyncIterator[bytes] | bytes | None = manifest
        if body is None and endpoint.operation == "PutManifest":
            body = await _gathered(exchange.body(), WHOLE_MANIFEST)
        elif body is None:
            body = exchange.body()
        answer = None
        if endpoint.operation == "GetBlob":
            answer = await self.fast_blob(request)
        if answer is None:
            answer = await self.forward(request, query, body)
        if endpoint.operation == "PutManifest" and answer.status == 201:
            for name, value in answer.headers:
                if name.lower() == "oci-subject":  # verdicts on the subject are out of date
                    pushed_elsewhere(self.store, value)
        await exchange.relay(answer)

    async def decide(
        self, request: Request, caller: Caller, action: str, resource: Resource
    ) -> tuple[bool, str]:
        client = request.scope.get("client")
        decision = await self.access.decide(
            caller.principal,
            action,
            resource.bucket,
            resource.key,
            source_ip=client[0] if client else None,
            secure=request.url.scheme == "https",
        )
        return decision.allowed, decision.rule

    async def mount_query(self, request: Request, caller: Caller, query: bytes) -> bytes:
        """A cross-repository mount needs the caller to be allowed to pull the source too;
        without it the mount is dropped and the registry opens an ordinary upload (as the
        spec lets it). The source is decided, not looked up in the token's scopes: clients
        ask for a token for the repository they push to only (the conformance suite does)."""
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        source = dict(pairs).get("from")
        if "mount" not in dict(pairs) or not source:
            return query
        resource = resource_of(self.store.prefix, source)
        action = resource.action(routes.PULL)
        if action is not None:
            allowed, _rule = await self.decide(request, caller, action, resource)
            if allowed:
                return query
        kept = [(k, v) for k, v in pairs if k not in ("mount", "from")]
        return urlencode(kept).encode("latin-1")

    async def fast_blob(self, request: Request) -> Answer | None:
        try:
            return await self.upstream.get_blob(
                request.scope["path"], list(request.headers.items())
            )
        except RegistryUnreachable as exc:
            log.warning("registry unreachable for GET %s: %s", request.url.path, exc)
            message = "The registry cannot be reached; retry later."
            raise unavailable(message, exc.retry_after) from None

    async def forward(
        self, request: Request, query: bytes, body: AsyncIterator[bytes] | bytes | None
    ) -> Answer:
        headers = [(k, v) for k, v in request.headers.items()]
        try:
            answer = await self.upstream.send(
                request.method, request.scope["path"], query, headers, body
            )
        except RegistryUnreachable as exc:
            log.warning("registry unreachable for %s %s: %s", request.method, request.url.path, exc)
            message = "The registry cannot be reached; retry later."
            raise unavailable(message, exc.retry_after) from None
        if answer.status == 401:  # the gateway's own credentials: never the caller's fault
            await answer.aclose()
            log.error("the registry refused the gateway's credentials")
            raise unavailable("The registry refused the gateway; retry later.")
        return answer

    async def catalog(self, exchange: _Exchange, caller: Caller) -> None:
        request = exchange.request
        if caller.grant is not None and not caller.grant.covers("registry", "catalog", "*"):
            exchange.record.rule = "token-scope"
            raise unauthorized(
                "The token does not grant the catalog.",
                self.challenge(request, "registry:catalog:*", "insufficient_scope"),
            )
        answer = await self.forward(request, b"", None)
        try:
            if answer.status != 200:
                await exchange.relay(answer)
                return
            listed = json.loads(await answer.read()).get("repositories") or []
        finally:
            await answer.aclose()

        async def allowed(action: str, bucket: str) -> bool:
            return (await self.decide(request, caller, action, Resource(bucket, "")))[0]

        shown = await catalog.visible(list(listed), self.store.prefix, allowed)
        params = request.query_params
        body, link = catalog.page(shown, params.get("n"), params.get("last"))
        headers = {"Link": link} if link else {}
        await exchange.answer(Response(body, 200, headers, "application/json"))


def _is_referrer(reference: str, manifest: bytes) -> bool:
    """A manifest pushed by digest whose ``subject`` names another manifest."""
    if ":" not in reference:
        return False
    try:
        document = json.loads(manifest)
        subject = document.get("subject")
        return isinstance(subject, dict) and isinstance(subject.get("digest"), str)
    except (ValueError, AttributeError):
        return False


async def _small_body(exchange: _Exchange) -> bytes:
    pieces: list[bytes] = []
    size = 0
    body = exchange.body()
    if body is None:
        return b""
    async for chunk in body:
        size += len(chunk)
        if size > MAX_MANIFEST:
            raise OciError(413, "SIZE_INVALID", "A manifest may not exceed 4 MiB.")
        pieces.append(chunk)
    return b"".join(pieces)


async def _gathered(
    body: AsyncIterator[bytes] | None, most: int
) -> AsyncIterator[bytes] | bytes | None:
    """``body`` whole when it ends within ``most`` bytes, else the same bytes as a stream."""
    if body is None:
        return None
    pieces: list[bytes] = []
    size = 0
    async for chunk in body:
        pieces.append(chunk)
        size += len(chunk)
        if size > most:
            return _chained(pieces, body)
    return b"".join(pieces)


async def _chained(first: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for piece in first:
        yield piece
    async for piece in rest:
        yield piece


class _Exchange:
    """One request's state: its audit line, the bytes counted, whether the answer started."""

    def __init__(self, request: Request, record: AuditRecord, send: Send) -> None:
        self.request, self.record, self._send = request, record, send
        self.received = 0
        self.started = False

    @property
    def has_body(self) -> bool:
        headers = self.request.headers
        return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers

    def body(self) -> AsyncIterator[bytes] | None:
        headers = self.request.headers
        if "content-length" not in headers and "transfer-encoding" not in headers:
            return None
        return self._counted()

    async def _counted(self) -> AsyncIterator[bytes]:
        async for chunk in self.request.stream():
            self.received += len(chunk)
            if chunk:
                yield chunk

    async def answer(self, response: Response) -> None:
        self.record.status = response.status_code
        self.record.bytes_out = len(response.body)
        self.started = True
        await response(self.request.scope, self.request.receive, self._send)

    async def relay(self, answer: Answer) -> None:
        """The registry's answer to the client, streamed; the upstream response is closed
        however this ends (a client gone mid-body included)."""
        try:
            self.record.status = answer.status
            self.started = True
            await self._send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": [
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in answer.headers
                    ],
                }
            )
            if self.request.method != "HEAD":
                async for chunk in answer.body():
                    self.record.bytes_out += len(chunk)
                    await self._send(
                        {"type": "http.response.body", "body": chunk, "more_body": True}
                    )
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await answer.aclose()
