"""The S3 layer of load shedding (``gateway/shedding.py``): once the route is known, a data
request holds one of the process's slots while it runs, its answer's body included; over
the cap it is refused with ``503 SlowDown`` and ``Retry-After`` before any byte moves.

It sits after the decision, so that a refused request has its audit line (status 503) like
any other, and before the handler, so that nothing is read from the body or the registry.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.s3.exchange import exchange_of
from gateway.shedding import Limiter

# The operations that move an object's bytes; the rest (listings, HEAD, tagging, ACLs,
# CreateMultipartUpload, CompleteMultipartUpload, DeleteObject) are never refused by the cap.
DATA_OPERATIONS = frozenset(
    {"GetObject", "PutObject", "UploadPart", "UploadPartCopy", "CopyObject"}
)


class Limited:
    def __init__(self, app: ASGIApp, limiter: Limiter) -> None:
        self.app, self.limiter = app, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = exchange_of(scope).route
        if route is None or route.operation not in DATA_OPERATIONS:
            await self.app(scope, receive, send)
            return
        async with self.limiter.slot("s3"):
            await self.app(scope, receive, send)
