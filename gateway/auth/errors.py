"""Authentication failures, named by the AWS error code the S3 edge answers with.

The identity layer knows nothing of XML or HTTP; the protocol edge turns an
``AuthError`` into the S3 error document (``s3/errors.py``) or an RFC 7807 problem.
"""

from __future__ import annotations


class AuthError(Exception):
    """A request whose credentials do not hold. Never falls back to anonymous."""

    def __init__(self, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        # Extra XML fields AWS adds to some errors (StringToSign, CanonicalRequest, ...).
        self.details = details


def two_mechanisms() -> AuthError:
    """Header and query credentials together: S3 refuses to guess which one counts."""
    return AuthError(
        "InvalidArgument",
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
        "Signature query string parameter or the Authorization header should be specified",
        ArgumentName="Authorization",
    )
