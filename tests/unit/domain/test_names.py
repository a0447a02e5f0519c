"""S3 naming rules: bucket names (S3's general purpose rules, a little stricter) and keys."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.errors import InvalidBucketName, InvalidKey, KeyTooLong
from gateway.domain.names import MAX_KEY_BYTES, check_bucket_name, check_key

VALID_BUCKETS = [
    pytest.param("abc", id="3-chars"),
    pytest.param("a" * 63, id="63-chars"),
    pytest.param("my-bucket", id="hyphen"),
    pytest.param("my.bucket.name", id="dots"),
    pytest.param("a--b", id="adjacent-hyphens"),
    pytest.param("0bucket9", id="digits-at-the-ends"),
    pytest.param("123", id="all-digits"),
    pytest.param("1.2.3", id="three-part-not-ip"),
    pytest.param("192.168.1.1a", id="ip-like-with-letter"),
    pytest.param("1.2.3.4.5", id="five-part-not-ip"),
    pytest.param("axn--b", id="xn-inside"),
    pytest.param("bucket-s3alias-x", id="reserved-suffix-inside"),
]
INVALID_BUCKETS = [
    pytest.param("", id="empty"),
    pytest.param("ab", id="2-chars"),
    pytest.param("a" * 64, id="64-chars"),
    pytest.param("Abc", id="uppercase-first"),
    pytest.param("abC", id="uppercase-last"),
    pytest.param("MYBUCKET", id="uppercase"),
    pytest.param("a..b", id="adjacent-dots"),
    pytest.param("a.-b", id="dot-hyphen"),
    pytest.param("a-.b", id="hyphen-dot"),
    pytest.param("-abc", id="leading-hyphen"),
    pytest.param("abc-", id="trailing-hyphen"),
    pytest.param(".abc", id="leading-dot"),
    pytest.param("abc.", id="trailing-dot"),
    pytest.param("192.168.5.4", id="ipv4"),
    pytest.param("10.0.0.1", id="ipv4-private"),
    pytest.param("0.0.0.0", id="ipv4-zero"),
    pytest.param("xn--abc", id="xn-prefix"),
    pytest.param("sthree-abc", id="sthree-prefix"),
    pytest.param("amzn-s3-demo-bucket", id="amzn-demo-prefix"),
    pytest.param("abc-s3alias", id="s3alias-suffix"),
    pytest.param("abc--ol-s3", id="ol-s3-suffix"),
    pytest.param("abc.mrap", id="mrap-suffix"),
    pytest.param("abc--x-s3", id="x-s3-suffix"),
    pytest.param("abc--table-s3", id="table-s3-suffix"),
    pytest.param("a_b", id="underscore"),
    pytest.param("a b", id="space"),
    pytest.param("a/b", id="slash"),
    pytest.param("abé", id="non-ascii"),
    pytest.param("ab\x00", id="nul"),
]


@pytest.mark.parametrize("name", VALID_BUCKETS)
def test_valid_bucket_names(name: str) -> None:
    check_bucket_name(name)


@pytest.mark.parametrize("name", INVALID_BUCKETS)
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(InvalidBucketName) as caught:
        check_bucket_name(name)
    assert repr(name) in caught.value.message


@pytest.mark.parametrize("name", ["abc\n", "my-bucket\n"])
def test_bucket_name_with_a_trailing_newline(name: str) -> None:
    with pytest.raises(InvalidBucketName):
        check_bucket_name(name)


S3_SHAPE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _is_ipv4(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(name=st.text("abz09.-A_", min_size=0, max_size=66))
def test_accepted_bucket_names_keep_every_rule(name: str) -> None:
    try:
        check_bucket_name(name)
    except InvalidBucketName:
        accepted = False
    else:
        accepted = True
    expected = (
        S3_SHAPE.fullmatch(name) is not None
        and ".." not in name
        and ".-" not in name
        and "-." not in name
        and not _is_ipv4(name)
    )
    assert accepted == expected


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("a", id="one-char"),
        pytest.param("a" * MAX_KEY_BYTES, id="1024-ascii"),
        pytest.param("é" * 512, id="1024-bytes-of-2-byte-chars"),
        pytest.param("\U0001f600" * 256, id="1024-bytes-of-4-byte-chars"),
        pytest.param("€" * 341 + "a", id="1024-bytes-of-3-byte-chars"),
        pytest.param("dir/", id="trailing-slash"),
        pytest.param("/leading//double", id="slashes"),
        pytest.param(" \t\n", id="whitespace"),
        pytest.param("\U0010ffff", id="last-code-point"),
    ],
)
def test_valid_keys(key: str) -> None:
    check_key(key)


@pytest.mark.parametrize(
    ("key", "error"),
    [
        pytest.param("", InvalidKey, id="empty"),
        pytest.param("\x00", InvalidKey, id="nul"),
        pytest.param("a\x00b", InvalidKey, id="nul-inside"),
        pytest.param("\ud800", InvalidKey, id="lone-high-surrogate"),
        pytest.param("a\udcff", InvalidKey, id="lone-low-surrogate"),
        pytest.param("a" * (MAX_KEY_BYTES + 1), KeyTooLong, id="1025-ascii"),
        pytest.param("é" * 512 + "a", KeyTooLong, id="1025-bytes-2-byte-chars"),
        pytest.param("a" + "é" * 512, KeyTooLong, id="1025-bytes-leading-ascii"),
        pytest.param("\U0001f600" * 256 + "a", KeyTooLong, id="1025-bytes-4-byte-chars"),
        pytest.param("€" * 342, KeyTooLong, id="1026-bytes-3-byte-chars"),
    ],
)
def test_invalid_keys(key: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_key(key)


def test_key_length_counts_utf8_bytes_not_characters() -> None:
    key = "é" * 513  # 513 characters, 1026 bytes
    with pytest.raises(KeyTooLong) as caught:
        check_key(key)
    assert "1026 bytes" in caught.value.message
    assert not isinstance(caught.value, InvalidKey)
