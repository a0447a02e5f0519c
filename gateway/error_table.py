"""One table: each domain error class -> its S3 code, its RFC 7807 problem, its OCI code.

``s3/errors.py`` (S3 XML) and ``api/problems.py`` (RFC 7807) both answer from it, and the OCI
front door will too. A class without a row answers with its nearest ancestor's. Extra answer
fields come from the error's own typed attributes (``fields``, ``headers``), never from
if-chains on code strings. Registry failures arrive here as the registry port's classes
(``domain/ports/registry.py``): the edge never imports the adapter.

S3 codes and statuses: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
OCI codes: https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from typing import Any

from gateway.domain import errors as d
from gateway.domain.ports.index import IndexBusy
from gateway.domain.ports.registry import RegistryUnavailable
from gateway.domain.resumable import OffsetMismatch
from gateway.shedding import Draining, Overloaded

RETRY_AFTER = 5  # seconds, when the registry is unavailable and no better guess is known


@dataclass(frozen=True)
class Problem:
    status: int
    title: str


BAD_REQUEST = Problem(400, "Bad Request")
NOT_FOUND = Problem(404, "Not Found")
CONFLICT = Problem(409, "Conflict")


def _none(_exc: Any, _resource: str) -> dict[str, str]:
    return {}


def _bucket(_exc: Any, resource: str) -> dict[str, str]:
    return {"BucketName": resource.split("/", 1)[0]} if resource else {}


def _key(_exc: Any, resource: str) -> dict[str, str]:
    return {"Key": resource.split("/", 1)[1]} if "/" in resource else {}


def _too_small(exc: d.EntityTooSmall, _resource: str) -> dict[str, str]:
    return {"ProposedSize": str(exc.proposed), "MinSizeAllowed": str(exc.minimum)}


def _too_large(exc: d.EntityTooLarge, _resource: str) -> dict[str, str]:
    return {} if exc.maximum is None else {"MaxSizeAllowed": str(exc.maximum)}


def _condition(exc: d.PreconditionFailed, _resource: str) -> dict[str, str]:
    return {"Condition": exc.condition} if exc.condition else {}


def _validators(exc: d.NotModified) -> dict[str, str]:
    """What a 304 still carries (RFC 9110 §15.4.5; S3 sends ETag and Last-Modified): the
    validators, and the Cache-Control and Expires a 200 would have carried."""
    headers = {"ETag": exc.etag} if exc.etag else {}
    if exc.last_modified is not None:
        moment = exc.last_modified.astimezone(UTC).replace(microsecond=0)
        headers["Last-Modified"] = format_datetime(moment, usegmt=True)
    return {**headers, **exc.caching}


def _version(exc: d.NoSuchVersion, resource: str) -> dict[str, str]:
    return {**_key(exc, resource), "VersionId": exc.version_id} if exc.version_id else {}


def _marker(exc: d.DeletedKey) -> dict[str, str]:
    return {"x-amz-delete-marker": "true", "x-amz-version-id": exc.version_id}


def _marker_version(exc: d.DeleteMarkerVersion) -> dict[str, str]:
    moment = exc.last_modified.astimezone(UTC).replace(microsecond=0)
    return {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": exc.version_id,
        "Last-Modified": format_datetime(moment, usegmt=True),
        "Allow": "DELETE",
    }


def _range(exc: d.InvalidRange, _resource: str) -> dict[str, str]:
    return {"RangeRequested": "", "ActualObjectSize": str(exc.size)}


def _refused(exc: d.ContentRefused) -> dict[str, Any]:
    members: dict[str, Any] = {"refused": exc.refused, "locked": exc.locked, "keys": list(exc.keys)}
    if exc.left:
        members["left"] = dict(exc.left)
    return members


@dataclass(frozen=True)
class Answer:
    """How one error class is answered on each protocol."""

    s3: str | None  # AWS error code (s3/errors.py has its status); None: InternalError
    problem: Problem
    oci: str | None = None  # distribution-spec error code, for the /v2/ front door
    # Extra S3 XML elements, from the error and the request's ``bucket/key``.
    fields: Callable[[Any, str], dict[str, str]] = _none
    # Extra response headers, on every protocol.
    headers: Callable[[Any], dict[str, str]] = field(default=lambda _exc: {})
    # What every protocol says instead of the error's own message (which may name internals).
    message: str | None = None
    # Extension members of the RFC 7807 problem (the JSON API), from the error's attributes.
    extensions: Callable[[Any], dict[str, Any]] = field(default=lambda _exc: {})


TABLE: dict[type[Exception], Answer] = {
    # Abstract kinds: what a subclass without a row of its own answers.
    d.DomainError: Answer(None, CONFLICT),
    d.NotFound: Answer(None, NOT_FOUND),
    d.Conflict: Answer(None, CONFLICT),
    d.InvalidInput: Answer(None, BAD_REQUEST),
    # Not found
    d.NoSuchBucket: Answer("NoSuchBucket", NOT_FOUND, "NAME_UNKNOWN", fields=_bucket),
    d.NoSuchKey: Answer("NoSuchKey", NOT_FOUND, "MANIFEST_UNKNOWN", fields=_key),
    d.NoSuchUpload: Answer("NoSuchUpload", NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"),
    d.NoSuchVersion: Answer("NoSuchVersion", NOT_FOUND, "MANIFEST_UNKNOWN", fields=_version),
    d.DeletedKey: Answer("NoSuchKey", NOT_FOUND, "MANIFEST_UNKNOWN", fields=_key, headers=_marker),
    d.DeleteMarkerVersion: Answer(
        "MethodNotAllowed", Problem(405, "Method Not Allowed"), headers=_marker_version
    ),
    # Referrers and access keys live in the JSON API; their S3 codes matter only if one
    # ever reaches S3.
    d.NoSuchReferrer: Answer("NoSuchKey", NOT_FOUND, "MANIFEST_UNKNOWN", fields=_key),
    d.NoSuchAccessKey: Answer("InvalidAccessKeyId", NOT_FOUND),
    d.NoSuchImage: Answer("NoSuchKey", NOT_FOUND, "MANIFEST_UNKNOWN"),
    d.ObjectLockConfigurationNotFound: Answer(
        "ObjectLockConfigurationNotFoundError", NOT_FOUND, fields=_bucket
    ),
    d.NoSuchObjectLockConfiguration: Answer("NoSuchObjectLockConfiguration", NOT_FOUND),
    # Conflicts
    d.InvalidBucketState: Answer("InvalidBucketState", CONFLICT),
    d.BucketAlreadyOwnedByYou: Answer("BucketAlreadyOwnedByYou", CONFLICT, fields=_bucket),
    d.BucketNotEmpty: Answer("BucketNotEmpty", CONFLICT, fields=_bucket),
    d.ObjectChanged: Answer("PreconditionFailed", CONFLICT),
    d.ConditionalRequestConflict: Answer("ConditionalRequestConflict", CONFLICT),
    d.TooManyAccessKeys: Answer("InvalidRequest", CONFLICT),
    OffsetMismatch: Answer(
        None,
        CONFLICT,
        headers=lambda exc: {"Upload-Offset": str(exc.offset)},
    ),
    # Invalid input
    d.InvalidBucketName: Answer("InvalidBucketName", BAD_REQUEST, "NAME_INVALID"),
    d.KeyTooLong: Answer("KeyTooLongError", BAD_REQUEST, "NAME_INVALID"),
    d.InvalidKey: Answer("InvalidArgument", BAD_REQUEST, "NAME_INVALID"),
    # tus's checksum extension answers a mismatch with its own status, 460.
    d.BadDigest: Answer("BadDigest", Problem(460, "Checksum Mismatch"), "DIGEST_INVALID"),
    d.ContentSHA256Mismatch: Answer("XAmzContentSHA256Mismatch", BAD_REQUEST, "DIGEST_INVALID"),
    d.IncompleteBody: Answer("IncompleteBody", BAD_REQUEST, "SIZE_INVALID"),
    d.InvalidRange: Answer("InvalidRange", BAD_REQUEST, fields=_range),
    d.InvalidArgument: Answer("InvalidArgument", BAD_REQUEST),
    d.InvalidTrust: Answer("InvalidArgument", BAD_REQUEST),
    d.InvalidDocument: Answer(
        "InvalidArgument", Problem(400, "Invalid Document"), "MANIFEST_INVALID"
    ),
    d.UnsupportedDocumentType: Answer(
        "InvalidArgument", Problem(415, "Unsupported Media Type"), "UNSUPPORTED"
    ),
    d.InvalidRequest: Answer("InvalidRequest", BAD_REQUEST),
    d.EntityTooSmall: Answer("EntityTooSmall", BAD_REQUEST, "SIZE_INVALID", fields=_too_small),
    d.EntityTooLarge: Answer("EntityTooLarge", BAD_REQUEST, "SIZE_INVALID", fields=_too_large),
    d.InvalidPart: Answer("InvalidPart", BAD_REQUEST),
    d.InvalidPartOrder: Answer("InvalidPartOrder", BAD_REQUEST),
    d.InvalidPartNumber: Answer("InvalidPartNumber", BAD_REQUEST),
    # Refusals and conditions (the JSON API has no conditional requests: 409 there)
    d.NotSigned: Answer("AccessDenied", Problem(403, "Forbidden"), "DENIED"),
    d.ObjectLocked: Answer("AccessDenied", Problem(403, "Forbidden"), "DENIED"),
    # S3 answers a locked version's delete with AccessDenied too; only the JSON API raises it.
    d.ContentRefused: Answer(
        "AccessDenied", Problem(403, "Forbidden"), "DENIED", extensions=_refused
    ),
    d.PreconditionFailed: Answer("PreconditionFailed", CONFLICT, fields=_condition),
    d.NotModified: Answer("NotModified", CONFLICT, headers=_validators),
    # The registry port
    RegistryUnavailable: Answer(
        "ServiceUnavailable",
        Problem(503, "Service Unavailable"),
        None,  # the distribution spec has no code for it: the 503 says it
        headers=lambda exc: {"Retry-After": str(exc.retry_after or RETRY_AFTER)},
        message="The storage backend is unavailable; retry later.",
    ),
    # The cap on data requests in flight (shedding.py); OCI: 503 and distribution's own
    # UNAVAILABLE, not the spec's 429 TOOMANYREQUESTS, which says one client asked too often.
    Overloaded: Answer(
        "SlowDown",
        Problem(503, "Service Unavailable"),
        "UNAVAILABLE",
        headers=lambda exc: {"Retry-After": str(exc.retry_after)},
        message="Please reduce your request rate.",
    ),
    # Another writer held the index past the lock wait (an overloaded gateway); nothing was
    # committed, and the AWS SDKs retry SlowDown with backoff.
    IndexBusy: Answer(
        "SlowDown",
        Problem(503, "Service Unavailable"),
        "UNAVAILABLE",
        headers=lambda exc: {"Retry-After": "1"},
        message="Please reduce your request rate.",
    ),
    # An upload still receiving when the drain deadline passed (gateway/drain.py).
    Draining: Answer(
        "ServiceUnavailable",
        Problem(503, "Service Unavailable"),
        "UNAVAILABLE",
        headers=lambda exc: {"Retry-After": str(exc.retry_after), "Connection": "close"},
        message="The server is shutting down; retry the request.",
    ),
}


def answer_for(exc: BaseException) -> Answer | None:
    """The row of the error's class or nearest ancestor; None for errors no table knows."""
    for kind in type(exc).__mro__:
        row = TABLE.get(kind)
        if row is not None:
            return row
    return None
