"""Error mapping: one family per S3 code / HTTP status, the same as the Go and JS SDKs."""

from __future__ import annotations

import json

import pytest
from artifactstore import errors
from artifactstore.errors import error_for, family_for, from_problem, retry_after_of
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("code", "status", "family"),
    [
        ("NoSuchKey", 404, "NotFound"),
        ("NoSuchBucket", 404, "NotFound"),
        ("NoSuchBucketPolicy", 404, "NotFound"),
        ("404", 404, "NotFound"),  # HEAD answers carry no body, botocore names the status
        ("AccessDenied", 403, "AccessDenied"),
        ("SignatureDoesNotMatch", 403, "AccessDenied"),
        ("ExpiredToken", 400, "Unauthorized"),
        ("InvalidIdentityToken", 400, "Unauthorized"),
        ("BucketNotEmpty", 409, "Conflict"),
        ("ConditionalRequestConflict", 409, "Conflict"),
        ("PreconditionFailed", 412, "PreconditionFailed"),
        ("SlowDown", 503, "Retryable"),
        ("ServiceUnavailable", 503, "Retryable"),
        ("InternalError", 500, "Retryable"),
        ("InvalidArgument", 400, "InvalidRequest"),
        ("MalformedPolicy", 400, "InvalidRequest"),
        ("EntityTooSmall", 400, "InvalidRequest"),
        (None, 401, "Unauthorized"),
        (None, 422, "InvalidRequest"),
        (None, 429, "Retryable"),
    ],
)
def test_codes_map_to_their_family(code: str | None, status: int, family: str) -> None:
    assert family_for(code, status).family == family
    error = error_for(code, "m", status, "req-1", 2.0)
    assert isinstance(error, errors.ArtifactStoreError)
    assert error.request_id == "req-1"
    assert "req-1" in str(error)
    assert f"HTTP {status}" in str(error)


@given(st.integers(100, 599))
def test_every_status_has_a_family(status: int) -> None:
    family = family_for(None, status)
    if status >= 500:
        assert family is errors.Retryable
    elif status >= 400:
        assert family is not errors.ArtifactStoreError
    else:
        assert family is errors.ArtifactStoreError


def test_only_transient_families_are_retryable() -> None:
    retryable = {cls.family for cls in errors.ArtifactStoreError.__subclasses__() if cls.retryable}
    assert retryable == {"Retryable", "Unavailable"}


def test_a_problem_keeps_detail_request_id_and_retry_after() -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "busy",
         "request_id": "abc"}
    ).encode()  # fmt: skip
    error = from_problem(409, body, {"Retry-After": "3"})
    assert isinstance(error, errors.Conflict)
    assert (error.message, error.request_id, error.retry_after) == ("busy", "abc", 3.0)
    plain = from_problem(503, b"not json", {"x-request-id": "r9"})
    assert isinstance(plain, errors.Retryable)
    assert plain.request_id == "r9"
    assert plain.message == "not json"


def test_retry_after_ignores_dates() -> None:
    assert retry_after_of("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_of(None) is None
    assert retry_after_of("-4") == 0.0
