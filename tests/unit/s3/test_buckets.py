"""The ListBuckets parameters: the continuation token and ``max-buckets``."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.s3.buckets import MAX_BUCKETS, bucket_after, bucket_token, max_buckets
from gateway.s3.errors import S3Error

NAMES = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True)


@given(NAMES)
def test_a_token_continues_after_its_bucket(name):
    token = bucket_token(name)
    assert bucket_after(token) == name
    assert name not in token  # opaque: the name is not readable in it
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)  # URL-safe, unpadded


@given(st.text())
def test_any_other_token_is_invalid_argument(text):
    try:
        after = bucket_after(text)
    except S3Error as exc:
        error = exc
    else:
        assert bucket_after(bucket_token(after)) == after  # only a token of ours decodes
        return
    assert (error.code, error.status) == ("InvalidArgument", 400)
    assert error.message == "The continuation token provided is incorrect"
    assert error.fields == {"ArgumentName": "continuation-token", "ArgumentValue": text}


@pytest.mark.parametrize(
    "token",
    ["", "x", "e30", "W10", "eyJ2IjoxfQ", "eyJ2IjoyLCJhZnRlciI6ImEifQ", "eyJ2IjoxLCJhZnRlciI6IiJ9"],
    ids=["empty", "garbage", "empty-object", "a-list", "no-after", "version-2", "empty-after"],
)
def test_malformed_tokens(token):
    with pytest.raises(S3Error) as caught:
        bucket_after(token)
    assert caught.value.code == "InvalidArgument"


@given(st.integers(min_value=1, max_value=MAX_BUCKETS))
def test_max_buckets_in_range(number):
    assert max_buckets(str(number)) == number


def test_max_buckets_absent_is_ten_thousand():
    assert max_buckets(None) == 10_000


@given(
    st.one_of(
        st.integers(max_value=0).map(str),
        st.integers(min_value=MAX_BUCKETS + 1).map(str),
        st.text().filter(lambda t: not re.fullmatch(r"[+-]?[0-9]+", t)),
    )
)
def test_max_buckets_out_of_range_is_invalid_argument(value):
    with pytest.raises(S3Error) as caught:
        max_buckets(value)
    assert (caught.value.code, caught.value.status) == ("InvalidArgument", 400)
    assert caught.value.message == "Argument max-buckets must be an integer between 1 and 10000"
    assert caught.value.fields == {"ArgumentName": "max-buckets", "ArgumentValue": value}
