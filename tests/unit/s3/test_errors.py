"""From domain, auth and registry exceptions to S3 error codes and statuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.auth.errors import AuthError
from gateway.domain import errors as domain
from gateway.domain.ports.index import IndexBusy
from gateway.domain.ports.registry import (
    RegistryDigestInvalid,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)
from gateway.error_table import TABLE as ANSWERS
from gateway.s3.errors import TABLE, S3Error, from_exception


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        pytest.param(domain.NoSuchBucket(), "NoSuchBucket", 404, id="NoSuchBucket"),
        pytest.param(domain.NoSuchKey(), "NoSuchKey", 404, id="NoSuchKey"),
        pytest.param(
            domain.BucketAlreadyOwnedByYou(), "BucketAlreadyOwnedByYou", 409, id="AlreadyOwned"
        ),
        pytest.param(domain.BucketNotEmpty(), "BucketNotEmpty", 409, id="BucketNotEmpty"),
        pytest.param(domain.InvalidBucketName("x"), "InvalidBucketName", 400, id="BucketName"),
        pytest.param(domain.KeyTooLong("x"), "KeyTooLongError", 400, id="KeyTooLong"),
        pytest.param(domain.InvalidKey("x"), "InvalidArgument", 400, id="InvalidKey"),
        pytest.param(domain.BadDigest(), "BadDigest", 400, id="BadDigest"),
        pytest.param(
            domain.ContentSHA256Mismatch(), "XAmzContentSHA256Mismatch", 400, id="SHA256Mismatch"
        ),
        pytest.param(domain.IncompleteBody(), "IncompleteBody", 400, id="IncompleteBody"),
        pytest.param(domain.InvalidRange(7), "InvalidRange", 416, id="InvalidRange"),
        pytest.param(domain.InvalidArgument("x"), "InvalidArgument", 400, id="InvalidArgument"),
        pytest.param(domain.PreconditionFailed(), "PreconditionFailed", 412, id="Precondition"),
        pytest.param(domain.NotModified(), "NotModified", 304, id="NotModified"),
    ],
)
def test_domain_errors_map_to_codes(exc: domain.DomainError, code: str, status: int) -> None:
    error = from_exception(exc)
    assert error is not None
    assert (error.code, error.status) == (code, status)
    assert error.headers == {}


def _leaves(kind: type[domain.DomainError]) -> list[type[domain.DomainError]]:
    below = kind.__subclasses__()
    return [kind] if not below else [leaf for sub in below for leaf in _leaves(sub)]


def test_every_concrete_domain_error_has_a_code() -> None:
    leaves = [k for k in _leaves(domain.DomainError) if k.__module__ == domain.__name__]
    assert len(leaves) >= 14
    for leaf in leaves:
        assert leaf in ANSWERS, leaf.__name__
        code = ANSWERS[leaf].s3
        assert code is not None, leaf.__name__
        assert code in TABLE, leaf.__name__


def test_default_message_is_the_aws_description() -> None:
    error = from_exception(domain.NoSuchKey())
    assert error is not None
    assert error.message == TABLE["NoSuchKey"].description


def test_specific_message_is_kept() -> None:
    error = from_exception(domain.InvalidBucketName("The specified bucket is not valid: 'A'"))
    assert error is not None
    assert error.message == "The specified bucket is not valid: 'A'"


@pytest.mark.parametrize(
    ("exc", "resource", "fields"),
    [
        (domain.NoSuchBucket(), "photos", {"BucketName": "photos"}),
        (domain.NoSuchBucket(), "photos/a/b", {"BucketName": "photos"}),
        (domain.BucketNotEmpty(), "photos", {"BucketName": "photos"}),
        (domain.BucketAlreadyOwnedByYou(), "photos", {"BucketName": "photos"}),
        (domain.NoSuchBucket(), "", {}),
        (domain.NoSuchKey(), "photos/dir/a.jpg", {"Key": "dir/a.jpg"}),
        (domain.NoSuchKey(), "photos", {}),
        (domain.InvalidRange(12), "b/k", {"RangeRequested": "", "ActualObjectSize": "12"}),
        (domain.PreconditionFailed(), "b/k", {}),
    ],
)
def test_extra_fields(exc: domain.DomainError, resource: str, fields: dict[str, str]) -> None:
    error = from_exception(exc, resource=resource)
    assert error is not None
    assert error.fields == fields


def test_a_304_carries_its_validators_and_caching_headers() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)
    caching = {"Cache-Control": "no-cache", "Expires": "Thu, 01 Jan 2099 00:00:00 GMT"}
    error = from_exception(domain.NotModified('"e"', moment, caching))
    assert error is not None
    assert error.status == 304
    assert error.headers == {
        "ETag": '"e"',
        "Last-Modified": "Wed, 01 May 2024 12:00:00 GMT",
        **caching,
    }


def test_registry_unavailable_is_a_retryable_503() -> None:
    error = from_exception(RegistryUnavailable("connection refused"))
    assert error is not None
    assert error.code == "ServiceUnavailable"
    assert error.status == 503
    assert error.headers == {"Retry-After": "5"}


def test_auth_errors_keep_code_message_and_details() -> None:
    exc = AuthError("SignatureDoesNotMatch", "nope", StringToSign="s", CanonicalRequest="c")
    error = from_exception(exc)
    assert error is not None
    assert (error.code, error.status, error.message) == ("SignatureDoesNotMatch", 403, "nope")
    assert error.fields == {"StringToSign": "s", "CanonicalRequest": "c"}


def test_s3_errors_pass_through() -> None:
    original = S3Error("MalformedXML")
    assert from_exception(original) is original


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(ValueError("x"), id="ValueError"),
        pytest.param(KeyError("x"), id="KeyError"),
        pytest.param(RuntimeError("x"), id="RuntimeError"),
        pytest.param(RegistryNotFound("x"), id="RegistryNotFound"),
        pytest.param(RegistryRejected("x", status=400), id="RegistryRejected"),
        pytest.param(RegistryDigestInvalid("x"), id="RegistryDigestInvalid"),
        pytest.param(domain.DomainError(), id="bare-DomainError"),
    ],
)
def test_unknown_exceptions_are_internal(exc: Exception) -> None:
    assert from_exception(exc) is None


def test_s3_error_takes_status_and_description_from_the_table() -> None:
    error = S3Error("NoSuchBucket", headers={"X": "1"})
    assert error.status == 404
    assert error.message == "The specified bucket does not exist"
    assert str(error) == error.message
    assert error.headers == {"X": "1"}
    with pytest.raises(KeyError):
        S3Error("NoSuchThing")


def test_an_index_busy_past_its_lock_wait_is_slow_down() -> None:
    error = from_exception(IndexBusy("put_object: database is locked"))
    assert error is not None
    assert (error.code, error.status) == ("SlowDown", 503)
    assert error.headers == {"Retry-After": "1"}
