"""S3 errors: the AWS codes with their statuses, and S3's answer to any known exception
(``error_table.py`` maps domain and registry errors to codes).

Codes and statuses as AWS documents them:
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.errors import AuthError
from gateway.domain.errors import DomainError
from gateway.error_table import answer_for


@dataclass(frozen=True)
class APIError:
    status: int
    description: str


TABLE: dict[str, APIError] = {
    "AccessDenied": APIError(403, "Access Denied"),
    # A preflight refused (CORS): not in the error table, but what S3 answers on the wire.
    "AccessForbidden": APIError(403, "CORSResponse: This CORS request is not allowed."),
    "AuthorizationHeaderMalformed": APIError(400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": APIError(
        400, "Error parsing the X-Amz-Credential parameter."
    ),
    "BadRequest": APIError(400, "Bad Request"),
    "BadDigest": APIError(400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyExists": APIError(409, "The requested bucket name is not available."),
    "BucketAlreadyOwnedByYou": APIError(
        409, "Your previous request to create the named bucket succeeded and you already own it."
    ),
    "BucketNotEmpty": APIError(409, "The bucket you tried to delete is not empty"),
    "ConditionalRequestConflict": APIError(
        409,
        "A conflicting operation occurred. If using PutObject you can retry the request. If "
        "using multipart upload you should initiate another CreateMultipartUpload request and "
        "re-upload each part.",
    ),
    "EntityTooLarge": APIError(400, "Your proposed upload exceeds the maximum allowed size"),
    "EntityTooSmall": APIError(
        400, "Your proposed upload is smaller than the minimum allowed object size."
    ),
    "ExpiredToken": APIError(400, "The provided token has expired."),
    "IncompleteBody": APIError(
        400, "You did not provide the number of bytes specified by the Content-Length HTTP header"
    ),
    "InternalError": APIError(500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": APIError(
        403, "The AWS Access Key Id you provided does not exist in our records."
    ),
    "InvalidArgument": APIError(400, "Invalid Argument"),
    "InvalidBucketState": APIError(
        409, "The request is not valid with the current state of the bucket."
    ),
    "InvalidBucketName": APIError(400, "The specified bucket is not valid."),
    "InvalidChunkSizeError": APIError(
        400, "Only the last chunk is allowed to have a size less than 8192 bytes"
    ),
    "InvalidDigest": APIError(400, "The Content-MD5 you specified is not valid."),
    "InvalidPart": APIError(
        400,
        "One or more of the specified parts could not be found. The part might not have been "
        "uploaded, or the specified entity tag might not have matched the part's entity tag.",
    ),
    "InvalidPartNumber": APIError(416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": APIError(
        400,
        "The list of parts was not in ascending order. The parts list must be specified in "
        "order by part number.",
    ),
    "InvalidRange": APIError(416, "The requested range is not satisfiable"),
    "InvalidTag": APIError(400, "The tag provided was not a valid tag."),
    "InvalidToken": APIError(400, "The provided token is malformed or otherwise invalid."),
    "InvalidRequest": APIError(400, "Invalid Request"),
    "KeyTooLongError": APIError(400, "Your key is too long"),
    "MalformedPolicy": APIError(400, "Policies must be valid JSON and the first byte must be '{'"),
    "MalformedXML": APIError(
        400,
        "The XML you provided was not well-formed or did not validate against our published schema",
    ),
    "MalformedTrailerError": APIError(
        400,
        "The request contained trailing data that was not well-formed or did not conform to "
        "our published schema.",
    ),
    "MetadataTooLarge": APIError(
        400, "Your metadata headers exceed the maximum allowed metadata size."
    ),
    "IllegalVersioningConfigurationException": APIError(
        400, "The versioning configuration specified in the request is invalid."
    ),
    "MethodNotAllowed": APIError(405, "The specified method is not allowed against this resource."),
    "MissingContentLength": APIError(411, "You must provide the Content-Length HTTP header."),
    "NoSuchBucket": APIError(404, "The specified bucket does not exist"),
    "NoSuchBucketPolicy": APIError(404, "The bucket policy does not exist"),
    "NoSuchLifecycleConfiguration": APIError(404, "The lifecycle configuration does not exist"),
    "NoSuchCORSConfiguration": APIError(404, "The CORS configuration does not exist"),
    "NoSuchKey": APIError(404, "The specified key does not exist."),
    "NoSuchObjectLockConfiguration": APIError(
        404, "The specified object does not have a ObjectLock configuration"
    ),
    "ObjectLockConfigurationNotFoundError": APIError(
        404, "Object Lock configuration does not exist for this bucket"
    ),
    "NoSuchTagSet": APIError(404, "The TagSet does not exist"),
    "NoSuchVersion": APIError(404, "The specified version does not exist."),
    "NoSuchUpload": APIError(
        404,
        "The specified multipart upload does not exist. The upload ID might be invalid, or the "
        "multipart upload might have been aborted or completed.",
    ),
    "NotImplemented": APIError(
        501, "A header you provided implies functionality that is not implemented"
    ),
    "NotModified": APIError(304, "Not Modified"),
    "PreconditionFailed": APIError(
        412, "At least one of the pre-conditions you specified did not hold"
    ),
    "RequestTimeTooSkewed": APIError(
        403, "The difference between the request time and the server's time is too large."
    ),
    "ServiceUnavailable": APIError(503, "Please reduce your request rate."),
    "SlowDown": APIError(503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": APIError(
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    "XAmzContentSHA256Mismatch": APIError(
        400, "The provided 'x-amz-content-sha256' header does not match what was computed."
    ),
}


class S3Error(Exception):
    """An error answered as an S3 XML document; ``fields`` become extra XML elements."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        entry = TABLE[code]
        super().__init__(message or entry.description)
        self.code = code
        self.status = entry.status
        self.message = message or entry.description
        self.headers = headers or {}
        self.fields = fields or {}


def from_exception(exc: Exception, *, resource: str = "") -> S3Error | None:
    """The S3 error for a known exception (``error_table.TABLE``); None for anything else
    (-> InternalError). ``resource`` is the request's ``bucket/key``."""
    if isinstance(exc, S3Error):
        return exc
    if isinstance(exc, AuthError):
        return S3Error(exc.code, exc.message, fields=exc.details)
    answer = answer_for(exc)
    if answer is None or answer.s3 is None:
        return None
    message = answer.message
    if message is None and isinstance(exc, DomainError) and exc.message != type(exc).__doc__:
        message = exc.message  # the error's own words; else the AWS description
    return S3Error(
        answer.s3, message, headers=answer.headers(exc), fields=answer.fields(exc, resource)
    )
