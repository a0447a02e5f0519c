"""Domain errors: what went wrong in S3 terms, without a wire format.

The S3 edge maps each class to its AWS error code (``s3/errors.py``); the JSON API
maps them to RFC 7807 problems. Hierarchy::

    DomainError
     +-- NotFound: NoSuchBucket, NoSuchKey (DeletedKey), NoSuchVersion, NoSuchUpload,
     |           NoSuchReferrer, NoSuchAccessKey
     +-- Conflict: BucketAlreadyOwnedByYou, BucketNotEmpty, ObjectChanged, TooManyAccessKeys,
     |             ConditionalRequestConflict
     +-- InvalidInput: InvalidBucketName, KeyTooLong, InvalidKey, BadDigest, IncompleteBody,
     |                 InvalidRange, InvalidArgument (InvalidDocument, UnsupportedDocumentType),
     |                 EntityTooSmall, EntityTooLarge, InvalidPart, InvalidPartOrder,
     |                 InvalidPartNumber, InvalidRequest, InvalidTrust
     +-- NotSigned (a require-signature bucket refuses to hand the object out)
     +-- ObjectLocked, ContentRefused (a recursive bucket deletion meets what it may not delete)
     +-- PreconditionFailed, NotModified
     +-- DeleteMarkerVersion (GET/HEAD of a delete marker by its version id: 405)
"""

from __future__ import annotations

from datetime import datetime


class DomainError(Exception):
    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.message = str(self)


class NotFound(DomainError):
    """The resource does not exist."""


class NoSuchBucket(NotFound):
    """The specified bucket does not exist"""


class NoSuchKey(NotFound):
    """The specified key does not exist."""


class NoSuchVersion(NotFound):
    """The specified version does not exist."""

    def __init__(self, version_id: str = "") -> None:
        super().__init__()
        self.version_id = version_id


class DeletedKey(NoSuchKey):
    """The specified key does not exist: its latest version is a delete marker, which the
    answer names (``x-amz-delete-marker``, ``x-amz-version-id``)."""

    def __init__(self, version_id: str) -> None:
        super().__init__()
        self.version_id = version_id


class DeleteMarkerVersion(DomainError):
    """The specified method is not allowed against this resource."""

    def __init__(self, version_id: str, last_modified: datetime) -> None:
        super().__init__()
        self.version_id = version_id
        self.last_modified = last_modified


class NoSuchUpload(NotFound):
    """The specified multipart upload does not exist. The upload ID might be invalid, or the
    multipart upload might have been aborted or completed."""


class NoSuchReferrer(NotFound):
    """The object has no such signature, SBOM or attestation."""


class NoSuchImage(NotFound):
    """No manifest by that tag or digest in that repository."""


class NoSuchAccessKey(NotFound):
    """The access key does not exist, is revoked, or is not yours."""


class Conflict(DomainError):
    """The request conflicts with the resource's state."""


class InvalidBucketState(Conflict):
    """The request is not valid with the current state of the bucket."""


class ObjectLocked(DomainError):
    """Access Denied because object protected by object lock."""


class ContentRefused(DomainError):
    """A recursive bucket deletion met content the caller may not delete, or versions Object
    Lock keeps: it stops there and the bucket stays. ``keys`` names some of them; ``left``
    counts what the bucket still holds, by kind, when known."""

    def __init__(
        self,
        *,
        refused: int = 0,
        locked: int = 0,
        keys: tuple[str, ...] = (),
        left: dict[str, int] | None = None,
        detail: str = "",
    ) -> None:
        reasons = []
        if refused:
            reasons.append(f"{refused} the caller may not delete")
        if locked:
            reasons.append(f"{locked} kept by Object Lock")
        super().__init__(
            detail
            or f"The bucket holds content that cannot be deleted ({' and '.join(reasons)}); "
            "the bucket stays."
        )
        self.refused, self.locked, self.keys = refused, locked, keys
        self.left = dict(left or {})


class ObjectLockConfigurationNotFound(NotFound):
    """Object Lock configuration does not exist for this bucket"""


class NoSuchObjectLockConfiguration(NotFound):
    """The specified object does not have a ObjectLock configuration"""


class TooManyAccessKeys(Conflict):
    """The owner has as many keys as allowed: revoke one first. The owner's state, not the
    request, is at fault (IAM's ``LimitExceeded`` is a 409 too)."""


class BucketAlreadyOwnedByYou(Conflict):
    """Your previous request to create the named bucket succeeded and you already own it."""


class BucketNotEmpty(Conflict):
    """The bucket you tried to delete is not empty"""


class ObjectChanged(Conflict):
    """The object was replaced or deleted while the request ran; nothing was attached."""


class ConditionalRequestConflict(Conflict):
    """A conflicting operation occurred. If using PutObject you can retry the request. If using
    multipart upload you should initiate another CreateMultipartUpload request and re-upload
    each part."""


class InvalidInput(DomainError):
    """The request is not valid."""


class InvalidBucketName(InvalidInput):
    """The specified bucket is not valid."""


class KeyTooLong(InvalidInput):
    """Your key is too long"""


class InvalidKey(InvalidInput):
    """Object keys must be valid UTF-8 without NUL characters."""


class BadDigest(InvalidInput):
    """The Content-MD5 or checksum you specified did not match what we received."""


class ContentSHA256Mismatch(InvalidInput):
    """The provided 'x-amz-content-sha256' header does not match what was computed."""


class IncompleteBody(InvalidInput):
    """You did not provide the number of bytes specified by the Content-Length HTTP header."""


class InvalidRange(InvalidInput):
    """The requested range is not satisfiable"""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size


class InvalidArgument(InvalidInput):
    """Invalid Argument"""


class InvalidTrust(InvalidArgument):
    """The trust settings are not valid; the message names the failing place."""


class NotSigned(DomainError):
    """The object is not signed by a key or identity this bucket trusts (require-signature)."""


class InvalidDocument(InvalidArgument):
    """A signature, SBOM or attestation that is not what its media type says.

    ``path`` names the failing place in the document (``components[0].type``, ``$`` for the
    whole document)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedDocumentType(InvalidArgument):
    """The media type is not one this kind of referrer accepts."""


class InvalidRequest(InvalidInput):
    """Invalid Request"""


class EntityTooSmall(InvalidInput):
    """Your proposed upload is smaller than the minimum allowed object size."""

    def __init__(self, proposed: int, minimum: int) -> None:
        super().__init__()
        self.proposed = proposed
        self.minimum = minimum


class EntityTooLarge(InvalidInput):
    """Your proposed upload exceeds the maximum allowed object size."""

    def __init__(self, maximum: int | None = None) -> None:
        super().__init__()
        self.maximum = maximum


class InvalidPart(InvalidInput):
    """One or more of the specified parts could not be found. The part might not have been
    uploaded, or the specified entity tag might not have matched the part's entity tag."""


class InvalidPartOrder(InvalidInput):
    """The list of parts was not in ascending order. The parts list must be specified in order
    by part number."""


class InvalidPartNumber(InvalidInput):
    """The requested partnumber is not satisfiable"""


class PreconditionFailed(DomainError):
    """At least one of the pre-conditions you specified did not hold"""

    def __init__(self, condition: str = "") -> None:
        super().__init__()
        self.condition = condition  # the header that did not hold, as S3 names it


class NotModified(DomainError):
    """Not Modified"""

    def __init__(
        self,
        etag: str = "",
        last_modified: datetime | None = None,
        caching: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        # A 304 still names the version the client already has, and carries the
        # Cache-Control and Expires a 200 would (RFC 9110 §15.4.5), to refresh its cache.
        self.etag = etag
        self.last_modified = last_modified
        self.caching = dict(caching or {})
