"""Which registry calls are sent again, after which failures, and how many retries a process
may add at all.

A call is repeatable when sending it twice leaves the registry as sending it once would
(or leaves only garbage the registry collects), and its body can be sent again:

- GET and HEAD (blobs, manifests, tags, the catalog, referrers);
- DELETE (a manifest by digest; a missing one is no error) and the cancel of an upload;
- PUT of a manifest: its bytes name its digest; a tag is pushed under the key's lock, so no
  other write of the gateway moves it in between;
- POST that opens an upload, mounts a blob, or pushes a whole blob by its digest: an opened
  session that is not used is garbage the registry expires.

Never repeated: PATCH into an upload session and the PUT that closes one (the session's
offset or the session itself is consumed; only a whole new upload could repeat them), and
any call with a streamed body (gone once sent).

A failure is transient when the registry may answer the same call well a moment later: a
connection refused, reset or closed under the request, a connect timeout, 500/502/503/504,
and DIGEST_INVALID for a manifest (its digest is computed from the very bytes sent, so only
the registry's own passing trouble can refuse it). A read timeout is not: the registry may
be busy with the request still. An open circuit is not either: it fails fast by design.

The budget: a token bucket. Every first attempt adds ``ratio`` of a token, every retry
takes one; the bucket also refills at ``per_second`` and holds at most ``burst``. In a
registry outage the retries thus add at most ``ratio`` to the load (plus a trickle), where
``attempts`` tries of every call would multiply it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable

import httpx
from prometheus_client import Counter

from gateway.domain.ports.registry import RegistryDigestInvalid, RegistryError, RegistryUnavailable
from gateway.registry.circuit import CircuitOpen

RETRIES = Counter(
    "artifact_store_registry_retries_total",
    "Registry calls sent again after a transient failure, by call.",
    ["call"],
)
REFUSED = Counter(
    "artifact_store_registry_retries_refused_total",
    "Retries not made because the process's retry budget was spent, by call.",
    ["call"],
)
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# What a connection that failed before or under a request raises (httpx; and the OS's own
# errors under the fast blob path, blobfetch.py).
TRANSIENT_TRANSPORT = (
    ConnectionError,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
UNREACHABLE_STATUSES = frozenset({502, 503, 504})


def call_name(what: str) -> str:
    """A metric label from a call's description: ``get manifest`` -> ``get_manifest``."""
    return what.replace(" ", "_")


def repeatable(method: str, url: str, content: object) -> bool:
    if isinstance(content, AsyncIterable):
        return False
    path = url.split("?", 1)[0]
    if method in ("GET", "HEAD", "DELETE"):
        return True
    if method == "PUT":
        return "/manifests/" in path
    if method == "POST":
        return path.endswith("/blobs/uploads/")
    return False


def transient(error: BaseException, method: str, url: str) -> bool:
    if isinstance(error, CircuitOpen):
        return False
    if isinstance(error, RegistryDigestInvalid):
        return method == "PUT" and "/manifests/" in url
    if not isinstance(error, RegistryUnavailable):
        return False
    if error.status is not None:
        return error.status in TRANSIENT_STATUSES
    return isinstance(error.__cause__, TRANSIENT_TRANSPORT)


def unreachable(error: RegistryError) -> bool:
    """What counts against the circuit: no answer at all, or the registry (or a proxy before
    it) saying it is unavailable."""
    if not isinstance(error, RegistryUnavailable):
        return False
    return error.status is None or error.status in UNREACHABLE_STATUSES


class RetryBudget:
    def __init__(
        self,
        ratio: float = 0.1,
        per_second: float = 1.0,
        burst: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio, self.per_second, self.burst, self._clock = ratio, per_second, burst, clock
        self._tokens = burst
        self._at = clock()

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def deposit(self) -> None:
        """A call's first attempt."""
        self._refill()
        self._tokens = min(self.burst, self._tokens + self.ratio)

    def withdraw(self) -> bool:
        """May one retry go? Takes a token if so."""
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def _refill(self) -> None:
        now = self._clock()
        if now > self._at:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.per_second)
        self._at = now
