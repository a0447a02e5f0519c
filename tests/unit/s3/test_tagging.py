"""Tag sets at the S3 edge: the x-amz-tagging header and the Tagging document, checked as
S3 checks them (property-based against a model of the rules, plus S3's own answers)."""

from __future__ import annotations

import unicodedata
from typing import Any, cast
from urllib.parse import urlencode
from xml.sax.saxutils import escape

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from gateway.policy.conditions import ContextValues
from gateway.s3.errors import S3Error
from gateway.s3.tagging import check_tags, condition_keys, header_tags, parse_document

ALLOWED = st.characters(categories=("L", "N", "Zs")) | st.sampled_from("_.:/=+-@")
KEYS = st.text(ALLOWED, min_size=1, max_size=128).filter(lambda k: not k.lower().startswith("aws:"))
VALUES = st.text(ALLOWED, max_size=256)
TAG_SETS = st.dictionaries(KEYS, VALUES, max_size=10)


def document(pairs: list[tuple[str, str]]) -> bytes:
    tags = "".join(f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in pairs)
    return f'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>{tags}</TagSet></Tagging>'.encode()


def is_valid(text: str) -> bool:
    return all(c in "_.:/=+-@" or unicodedata.category(c)[0] in "LZN" for c in text)


@given(TAG_SETS)
def test_a_valid_tag_set_round_trips_through_the_document_and_the_header(
    tags: dict[str, str],
) -> None:
    expected = dict(sorted(tags.items()))
    assert check_tags(parse_document(document(list(tags.items())))) == expected
    assert header_tags({"x-amz-tagging": urlencode(list(tags.items()))}) == expected


@given(st.text(max_size=140), st.text(max_size=260))
def test_one_tag_is_accepted_exactly_when_s3_would(key: str, value: str) -> None:
    valid = (
        1 <= len(key) <= 128
        and len(value) <= 256
        and is_valid(key)
        and is_valid(value)
        and not key.lower().startswith("aws:")
    )
    if valid:
        assert check_tags([(key, value)]) == {key: value}
        return
    with pytest.raises(S3Error) as refused:
        check_tags([(key, value)])
    assert (refused.value.code, refused.value.status) == ("InvalidTag", 400)


@given(st.lists(st.tuples(KEYS, VALUES), min_size=11, max_size=15))
def test_more_than_ten_tags_is_a_bad_request(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(S3Error) as refused:
        check_tags(pairs)
    assert (refused.value.code, refused.value.message) == (
        "BadRequest",
        "Object tags cannot be greater than 10",
    )


def test_fifty_bucket_tags_and_not_fifty_one() -> None:
    fifty = [(f"k{n}", "") for n in range(50)]
    assert len(check_tags(fifty, bucket=True)) == 50
    with pytest.raises(S3Error) as refused:
        check_tags([*fifty, ("k50", "")], bucket=True)
    assert refused.value.message == "Bucket tag count cannot be greater than 50"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("a=1&a=2", "InvalidArgument"),
        ("=1", "InvalidArgument"),
        ("a=%FF", "InvalidArgument"),
        ("a%2Cb=1", "InvalidTag"),
    ],
)
def test_wrong_headers(header: str, code: str) -> None:
    with pytest.raises(S3Error) as refused:
        header_tags({"x-amz-tagging": header})
    assert refused.value.code == code


@pytest.mark.parametrize(
    "body",
    [
        b"<Tagging/>",
        b"<Other><TagSet/></Other>",
        b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
        b"not xml",
    ],
)
def test_malformed_documents(body: bytes) -> None:
    with pytest.raises(S3Error) as refused:
        parse_document(body)
    assert refused.value.code == "MalformedXML"


def request_of(headers: dict[str, str], body: bytes = b"") -> Request:
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/b/k",
        "query_string": b"",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


async def request_keys(operation: str, request: Request) -> dict[str, ContextValues]:
    action = "s3:PutObjectTagging" if operation == "PutObjectTagging" else "s3:PutObject"
    no_store = cast(Any, None)  # the request's own tags need no lookup
    return await condition_keys(
        no_store, operation, action, "b", "k", request, {"requestobjecttag"}
    )


@pytest.mark.parametrize(
    ("operation", "headers", "body", "expected"),
    [
        pytest.param(
            "PutObject",
            {"x-amz-tagging": "team=blue&env=prod"},
            b"",
            {
                "s3:RequestObjectTag/env": "prod",
                "s3:RequestObjectTag/team": "blue",
                "s3:RequestObjectTagKeys": ("env", "team"),
            },
            id="put-object-header",
        ),
        pytest.param(
            "PutObjectTagging",
            {"content-length": str(len(document([("Owner", "me")])))},
            document([("Owner", "me")]),
            {"s3:RequestObjectTag/Owner": "me", "s3:RequestObjectTagKeys": ("Owner",)},
            id="put-object-tagging-body",
        ),
        pytest.param("PutObject", {}, b"", {}, id="no-tags-no-keys"),
        pytest.param(
            "CopyObject", {"x-amz-tagging": "a=1"}, b"", {}, id="copy-keeps-the-source-tags"
        ),
        pytest.param(
            "CopyObject",
            {"x-amz-tagging": "a=1", "x-amz-tagging-directive": "REPLACE"},
            b"",
            {"s3:RequestObjectTag/a": "1", "s3:RequestObjectTagKeys": ("a",)},
            id="copy-replacing-the-tags",
        ),
        pytest.param("PutObject", {"x-amz-tagging": "a=1&a=2"}, b"", {}, id="malformed"),
    ],
)
def test_request_tag_condition_keys(
    operation: str, headers: dict[str, str], body: bytes, expected: dict[str, ContextValues]
) -> None:
    found = anyio.run(request_keys, operation, request_of(headers, body))
    assert found == expected
