"""Load shedding: a cap on the data requests one gateway process serves at once.

A data request moves an object's bytes (S3 GetObject, PutObject, UploadPart, copies; OCI
blob and manifest transfers; tus appends). Each holds memory, a registry connection and a
file descriptor for as long as its body flows, so the process serves at most ``cap`` of
them; one more is refused at once (:class:`Overloaded`: S3 ``503 SlowDown``, a 503 problem,
OCI ``503 UNAVAILABLE``, each with ``Retry-After``) rather than queued: a queue without bound
only turns overload into timeouts, and clients (the AWS SDKs, containers/image, tus
libraries) retry a 503 with backoff. Cheap requests (listings, HEAD, metadata, health) are
never counted: they finish in milliseconds and must keep answering under load.

The cap is per process: ``workers`` processes serve up to ``workers * cap``. The slot is
held until the protocol edge returns from the ASGI call, which for a streamed answer is when
its last byte was sent or the client went away (Starlette cancels the stream on
``http.disconnect``), so a download read slowly holds its slot as long as it really runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import Counter, Gauge

IN_FLIGHT = Gauge(
    "artifact_store_inflight_data_requests",
    "Data requests (object bytes in or out) being served by this process, by protocol.",
    ["protocol"],
)
SHED = Counter(
    "artifact_store_shed_data_requests_total",
    "Data requests refused at once (503) because the process served its cap already.",
    ["protocol"],
)
LIMIT = Gauge(
    "artifact_store_inflight_data_requests_limit",
    "The cap on data requests in flight per process (0: none).",
)


class Overloaded(Exception):
    """The process serves its cap of data requests already: retry after ``retry_after`` s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Please reduce your request rate.")
        self.retry_after = retry_after


class Draining(Exception):
    """The process is shutting down and its drain deadline passed: this request's body (or
    its answer's) was cut. Nothing of an upload cut so is stored; the client retries, against
    another replica or the restarted process."""

    retry_after = 1

    def __init__(self) -> None:
        super().__init__("The server is shutting down; retry the request.")


class Limiter:
    """Counts the data requests in flight; ``cap`` 0 counts without refusing any.

    No lock: the event loop runs one request's code at a time, and the check and the count
    happen without an ``await`` between them."""

    def __init__(self, cap: int, retry_after: int = 1) -> None:
        self.cap, self.retry_after = cap, retry_after
        self._in_flight = 0
        LIMIT.set(cap)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @asynccontextmanager
    async def slot(self, protocol: str) -> AsyncIterator[None]:
        """Hold a slot while the block runs; over the cap raise :class:`Overloaded`."""
        if self.cap and self._in_flight >= self.cap:
            SHED.labels(protocol).inc()
            raise Overloaded(self.retry_after)
        self._in_flight += 1
        IN_FLIGHT.labels(protocol).inc()
        try:
            yield
        finally:
            self._in_flight -= 1
            IN_FLIGHT.labels(protocol).dec()
