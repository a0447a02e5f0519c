"""Registry failures, translated from HTTP at the adapter (as httpx maps httpcore's).

RegistryError
 +-- RegistryUnavailable   connection refused/reset, timeouts, 5xx: retry later (S3 503)
 +-- RegistryNotFound      MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN
 +-- RegistryDigestInvalid the bytes did not match the digest we declared
 +-- RegistryRejected      any other 4xx: a bug on our side, logged as InternalError
"""

from __future__ import annotations


class RegistryError(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryUnavailable(RegistryError):
    pass


class RegistryNotFound(RegistryError):
    pass


class RegistryDigestInvalid(RegistryError):
    pass


class RegistryRejected(RegistryError):
    pass
