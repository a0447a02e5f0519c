"""The gateway's own metrics, in prometheus_client's default registry; docs/operations.md
says what each means. Names are ``artifact_store_<what>_<unit>``.

Every label takes a bounded set of values: a protocol, an operation name from a route table,
a status class, a registry or index call name, an outcome. Never a bucket, key, path, user
or request id: one series per such value would grow without bound.

Gauges declare how worker processes add up (``multiprocess_mode``), for ``serve --workers``
(exposition.py); a single process ignores it.
"""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)

# Seconds: from a cached small GET (about a millisecond) to a multi-GiB transfer.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# Seconds: SQLite answers in well under a millisecond, PostgreSQL in a few.
INDEX_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5)

S3, OCI, API = "s3", "oci", "api"
UNROUTED = "Unrouted"  # refused before its operation was known (credentials, path, method)

HTTP_REQUESTS = Counter(
    "artifact_store_http_requests_total",
    "Requests answered, by protocol (s3, oci, api), operation and status class.",
    ["protocol", "operation", "status"],
)
HTTP_DURATION = Histogram(
    "artifact_store_http_request_duration_seconds",
    "From a request's arrival to the last byte of its answer, by protocol and operation.",
    ["protocol", "operation"],
    buckets=REQUEST_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "artifact_store_http_requests_in_flight",
    "Requests being served now, by protocol.",
    ["protocol"],
    multiprocess_mode="livesum",
)
RECEIVED_BYTES = Counter(
    "artifact_store_received_bytes_total",
    "Request body bytes received, by protocol and operation.",
    ["protocol", "operation"],
)
SENT_BYTES = Counter(
    "artifact_store_sent_bytes_total",
    "Response body bytes sent, by protocol and operation.",
    ["protocol", "operation"],
)
TRANSFERS_IN_FLIGHT = Gauge(
    "artifact_store_transfers_in_flight",
    "S3 object bodies being received (upload: PutObject, UploadPart, ...) or sent "
    "(download: GetObject) now.",
    ["direction"],
    multiprocess_mode="livesum",
)
UPLOADS_IN_FLIGHT = Gauge(
    "artifact_store_uploads_in_flight",
    "Multipart uploads started and neither completed nor aborted (counted in the index when "
    "scraped).",
    multiprocess_mode="mostrecent",
)

REGISTRY_DURATION = Histogram(
    "artifact_store_registry_request_duration_seconds",
    "Registry (Zot) requests of the registry port until the answer's headers, by call.",
    ["call"],
    buckets=REQUEST_BUCKETS,
)
REGISTRY_REQUESTS = Counter(
    "artifact_store_registry_requests_total",
    "Registry requests by call and outcome: the status class, or transport_error when no "
    "answer came (refused, reset, timed out).",
    ["call", "outcome"],
)
INDEX_DURATION = Histogram(
    "artifact_store_index_call_duration_seconds",
    "Calls of the metadata index (SQLite or PostgreSQL), by method.",
    ["call"],
    buckets=INDEX_BUCKETS,
)
INDEX_ERRORS = Counter(
    "artifact_store_index_errors_total",
    "Index calls that failed (database errors, not answers such as 'no such upload').",
    ["call"],
)

VERIFY_VERDICTS = Counter(
    "artifact_store_verify_verdicts_total",
    "Supply-chain verdicts, by subject (object, image), outcome (signed: a trusted "
    "signature covers it; unsigned) and whether the verdict cache answered.",
    ["subject", "outcome", "cached"],
)
AUTHZ_DECISIONS = Counter(
    "artifact_store_authz_decisions_total",
    "Access decisions, by IAM action, outcome (allow, deny) and basis (root, role, group, "
    "authenticated, bucket-policy, identity-policy, session-policy, default-deny).",
    ["action", "outcome", "basis"],
)
JWKS_REFRESHES = Counter(
    "artifact_store_jwks_refreshes_total",
    "Fetches of an OIDC issuer's signing keys, by issuer and outcome (ok, failed).",
    ["issuer", "outcome"],
)
SWEEP_ACTIONS = Counter(
    "artifact_store_sweep_actions_total",
    "What the background sweeps did: lifecycle expire and abort, uploads abort (expired "
    "multipart uploads).",
    ["sweep", "action"],
)
SWEEP_FAILURES = Counter(
    "artifact_store_sweep_failures_total",
    "Sweep passes that failed (registry or index errors); the next pass tries again.",
    ["sweep"],
)

_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: M, *values: str) -> M:
    """``metric.labels(*values)``, kept: ``labels`` checks its arguments and takes a lock on
    every call, about half the cost of an update; the label values are bounded, and so is
    this cache."""
    key = (metric, values)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*values)
    return found


def status_class(status: int) -> str:
    """``2xx`` etc.; 0 (no answer was started: an exception escaped) counts as the 500 the
    server then sends."""
    return _CLASSES.get(status // 100, "5xx")


def observe_request(
    protocol: str, operation: str, status: int, seconds: float, received: int, sent: int
) -> None:
    """One answered request, at its end (the protocol edges call this)."""
    child(HTTP_REQUESTS, protocol, operation, status_class(status)).inc()
    child(HTTP_DURATION, protocol, operation).observe(seconds)
    if received:
        child(RECEIVED_BYTES, protocol, operation).inc(received)
    if sent:
        child(SENT_BYTES, protocol, operation).inc(sent)
