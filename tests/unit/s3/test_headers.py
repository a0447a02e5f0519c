"""Object headers at the S3 edge: Range, Content-MD5, stored headers, metadata, overrides."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers

from gateway.domain.conditions import RangeRequest
from gateway.domain.values import Layer, ObjectRecord
from gateway.s3.errors import S3Error
from gateway.s3.headers import (
    MAX_METADATA_BYTES,
    OCI_REFERENCE,
    apply_overrides,
    content_md5,
    object_headers,
    parse_range,
    read_conditions,
    stored_headers,
    user_metadata,
)

# -- Range -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes=0-0", RangeRequest(0, 0)),
        ("bytes=0-99", RangeRequest(0, 99)),
        ("bytes=5-", RangeRequest(5, None)),
        ("bytes=-5", RangeRequest(None, 5)),
        ("bytes=-0", RangeRequest(None, 0)),  # parsed; resolve() calls it unsatisfiable
        ("bytes=7-7", RangeRequest(7, 7)),
        ("  bytes=1-2  ", RangeRequest(1, 2)),
        ("bytes=0012-0013", RangeRequest(12, 13)),
    ],
)
def test_parse_range(value: str, expected: RangeRequest) -> None:
    assert parse_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="absent"),
        pytest.param("", id="empty"),
        pytest.param("bytes=", id="no-spec"),
        pytest.param("bytes=-", id="dash-only"),
        pytest.param("bytes=5-3", id="last-before-first"),
        pytest.param("bytes=0-1,3-4", id="two-ranges"),
        pytest.param("bytes=0-1, 3-4", id="two-ranges-spaced"),
        pytest.param("bytes=-1,-2", id="two-suffixes"),
        pytest.param("items=0-1", id="other-unit"),
        pytest.param("bytes 0-1", id="no-equals"),
        pytest.param("bytes=a-b", id="letters"),
        pytest.param("bytes=1.5-2", id="fraction"),
        pytest.param("bytes=-1-2", id="negative"),
        pytest.param("bytes=1", id="no-dash"),
        pytest.param("0-1", id="no-unit"),
    ],
)
def test_ranges_that_are_ignored(value: str | None) -> None:
    assert parse_range(value) is None


@settings(max_examples=100, deadline=None)
@given(first=st.integers(0, 2**63), length=st.integers(0, 2**20))
def test_parse_range_property(first: int, length: int) -> None:
    last = first + length
    assert parse_range(f"bytes={first}-{last}") == RangeRequest(first, last)
    assert parse_range(f"bytes={first}-") == RangeRequest(first, None)
    if length:
        assert parse_range(f"bytes=-{length}") == RangeRequest(None, length)
        assert parse_range(f"bytes={last}-{first}") is None
    assert parse_range(f"bytes={first}-{last},{last}-") is None


# -- Content-MD5 -----------------------------------------------------------------------------


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def test_content_md5_valid_and_absent() -> None:
    value = md5_b64(b"hello")
    assert content_md5(Headers({"Content-MD5": value})) == value
    assert content_md5(Headers({})) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param("XrY7u+Ae7tCTyyK7j1rNww", id="missing-padding"),
        pytest.param(base64.b64encode(b"x" * 15).decode(), id="15-bytes"),
        pytest.param(base64.b64encode(b"x" * 17).decode(), id="17-bytes"),
        pytest.param(base64.b64encode(b"x" * 32).decode(), id="sha256-size"),
        pytest.param("", id="empty"),
        pytest.param(hashlib.md5(b"hello", usedforsecurity=False).hexdigest(), id="hex"),
    ],
)
def test_invalid_content_md5(value: str) -> None:
    with pytest.raises(S3Error) as caught:
        content_md5(Headers({"Content-MD5": value}))
    assert caught.value.code == "InvalidDigest"
    assert caught.value.status == 400


# -- stored headers and metadata -------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "stored"),
    [
        ("aws-chunked", None),
        ("aws-chunked, gzip", "gzip"),
        ("gzip,aws-chunked", "gzip"),
        ("gzip, br", "gzip, br"),
        ("gzip", "gzip"),
        (" aws-chunked , aws-chunked ", None),
    ],
)
def test_stored_headers_drop_aws_chunked(encoding: str, stored: str | None) -> None:
    found = stored_headers(Headers({"content-encoding": encoding, "content-type": "text/plain"}))
    expected = {"Content-Type": "text/plain"}
    if stored is not None:
        expected["Content-Encoding"] = stored
    assert found == expected


def test_stored_headers_keep_only_the_object_headers() -> None:
    headers = Headers(
        {
            "content-type": "application/json",
            "content-disposition": 'attachment; filename="a.json"',
            "content-language": "fr",
            "cache-control": "no-cache",
            "expires": "Wed, 21 Oct 2015 07:28:00 GMT",
            "content-length": "10",
            "authorization": "AWS4-HMAC-SHA256 ...",
            "x-amz-meta-color": "blue",
            "host": "localhost",
        }
    )
    assert stored_headers(headers) == {
        "Content-Type": "application/json",
        "Content-Disposition": 'attachment; filename="a.json"',
        "Content-Language": "fr",
        "Cache-Control": "no-cache",
        "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
    }


def test_user_metadata_lowercases_names_and_drops_the_prefix() -> None:
    headers = Headers(
        raw=[
            (b"x-amz-meta-color", b"blue"),
            (b"X-Amz-Meta-Build-Id", b"42"),
            (b"x-amz-metadata-directive", b"REPLACE"),
            (b"content-type", b"text/plain"),
        ]
    )
    assert user_metadata(headers) == {"color": "blue", "build-id": "42"}


def test_user_metadata_size_limit() -> None:
    name_and_value = MAX_METADATA_BYTES - 1  # "k" is one byte
    at_limit = Headers({"x-amz-meta-k": "v" * name_and_value})
    assert user_metadata(at_limit) == {"k": "v" * name_and_value}
    over = Headers({"x-amz-meta-k": "v" * (name_and_value + 1)})
    with pytest.raises(S3Error) as caught:
        user_metadata(over)
    assert caught.value.code == "MetadataTooLarge"
    assert caught.value.status == 400


def test_user_metadata_size_sums_every_entry() -> None:
    half = MAX_METADATA_BYTES // 2
    fits = Headers({"x-amz-meta-a": "x" * (half - 1), "x-amz-meta-b": "y" * (half - 1)})
    assert len(user_metadata(fits)) == 2
    over = Headers({"x-amz-meta-a": "x" * (half - 1), "x-amz-meta-b": "y" * half})
    with pytest.raises(S3Error, match="metadata"):
        user_metadata(over)


def test_user_metadata_size_counts_utf8_bytes_once() -> None:
    value = "é".encode() * 1000  # 2000 bytes on the wire, plus the 1-byte name
    assert len(user_metadata(Headers(raw=[(b"x-amz-meta-k", value)]))) == 1


# -- overrides, conditions and the response headers ------------------------------------------


def test_apply_overrides_replaces_only_the_named_headers() -> None:
    headers = {"Content-Type": "text/plain", "ETag": '"e"', "Cache-Control": "max-age=60"}
    apply_overrides(
        headers,
        {
            "response-content-type": "application/pdf",
            "response-content-disposition": "attachment",
            "response-cache-control": "no-store",
            "response-unknown": "x",
            "versionId": "null",
        },
    )
    assert headers == {
        "Content-Type": "application/pdf",
        "ETag": '"e"',
        "Cache-Control": "no-store",
        "Content-Disposition": "attachment",
    }


def test_apply_overrides_without_parameters_changes_nothing() -> None:
    headers = {"Content-Type": "text/plain"}
    apply_overrides(headers, {})
    assert headers == {"Content-Type": "text/plain"}


def test_read_conditions_from_headers() -> None:
    conditions = read_conditions(
        Headers(
            {
                "if-match": '"a"',
                "if-none-match": '"b"',
                "if-modified-since": "Wed, 21 Oct 2015 07:28:00 GMT",
                "if-unmodified-since": "not a date",
            }
        )
    )
    assert conditions.if_match == '"a"'
    assert conditions.if_none_match == '"b"'
    assert conditions.if_modified_since == datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert conditions.if_unmodified_since is None  # unparseable: ignored, as S3 does
    copy = read_conditions(
        Headers({"x-amz-copy-source-if-match": '"c"'}), prefix="x-amz-copy-source-if-"
    )
    assert copy.if_match == '"c"'
    assert copy.if_none_match is None


def test_object_headers() -> None:
    record = ObjectRecord(
        bucket="b",
        key="k",
        manifest_digest="sha256:0",
        size=3,
        etag='"e"',
        last_modified=datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
        layers=(Layer(digest="sha256:1", size=3),),
        headers={"Content-Type": "text/csv", "Cache-Control": "no-cache"},
        metadata={"plain": "v", "word": "naïve ☃"},
    )
    headers = object_headers(record, "s3/b/aa:o-x")
    assert headers["ETag"] == '"e"'
    assert headers["Last-Modified"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert headers["Content-Type"] == "text/csv"
    assert headers["Cache-Control"] == "no-cache"
    assert headers[OCI_REFERENCE] == "s3/b/aa:o-x"
    assert headers["x-amz-meta-plain"] == "v"
    # RFC 2047, as S3 returns non-ASCII metadata; never raw bytes
    assert headers["x-amz-meta-word"] == "=?UTF-8?B?bmHDr3ZlIOKYgw==?="
    default = object_headers(ObjectRecord("b", "k", "d", 0, '"e"', record.last_modified, ()), "ref")
    assert default["Content-Type"] == "binary/octet-stream"
