"""The outermost layer of every HTTP request: its id and context (``context.py``), the id in
the answer's headers where the protocol layer does not put it itself, and one access line
when the request ends."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observability.context import CURRENT, RequestContext, new_request_id
from gateway.observability.tracing import redact_query

log = logging.getLogger("gateway.request")


class Observed:
    """``header``: the response header that names the request id; added here unless the
    protocol's own layers add it (``adds_header``: the S3 layers add ``x-amz-request-id``)."""

    def __init__(
        self, app: ASGIApp, protocol: str, header: str, *, adds_header: bool = True
    ) -> None:
        self.app, self.protocol = app, protocol
        self.header = header.encode("latin-1")
        self.adds_header = adds_header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(
            request_id=new_request_id(),
            method=scope["method"],
            path=scope["path"],
            protocol=self.protocol,
        )
        token = CURRENT.set(context)
        started = time.perf_counter()
        answered = False  # the whole answer went out

        async def observed_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            elif message["type"] == "http.response.start":
                context.status = int(message["status"])
                if self.adds_header:
                    message["headers"] = [
                        *message.get("headers", []),
                        (self.header, context.request_id.encode()),
                    ]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            # Logged here, with the request's fields; the server would log it without them.
            log.exception("unhandled error in %s %s", context.method, context.path)
            if answered:  # (the JSON API's 500 problem): nothing left to do
                return
            if context.status is not None:
                raise  # the answer is under way: the server ends the connection
            headers = [(b"content-length", b"0"), (self.header, context.request_id.encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            context.status = 500
        finally:
            if context.operation is None:  # the JSON API: the route's name
                context.operation = getattr(scope.get("route"), "name", None)
            log.info(
                "%s %s %s",
                context.method,
                context.path,
                context.status if context.status is not None else "-",
                extra={
                    "method": context.method,
                    "path": context.path,
                    # S3's sub-resources name the operation (?uploads, ?partNumber=); the
                    # values of credentials (a presigned URL's signature) are redacted.
                    "query": redact_query(scope.get("query_string", b"").decode("latin-1")),
                    "status": context.status,
                    "duration_ms": _since(started),
                },
            )
            context.ended = True
            CURRENT.reset(token)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
