"""Condition operators and keys, one behaviour per case, with IAM's missing-key rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import pytest

from gateway.policy.conditions import (
    ContextValues,
    as_bool,
    as_date,
    as_ip,
    as_number,
    as_text,
    compile_condition,
    key_type,
)
from gateway.policy.errors import MalformedPolicy

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def holds(operator: str, key: str, values: list[str], request: ContextValues | None = None) -> bool:
    """Compile ``operator: {key: values}`` and test it on a request where ``key`` is
    ``request`` (None: missing)."""
    context = {} if request is None else {key.lower(): request}
    return compile_condition(operator, key, tuple(values)).holds(context)


@pytest.mark.parametrize(
    ("operator", "values", "prefix", "expected"),
    [
        ("StringEquals", ["logs/"], "logs/", True),
        ("StringEquals", ["logs/"], "Logs/", False),  # values are case-sensitive
        ("StringEquals", ["a", "logs/"], "logs/", True),  # values are ORed
        ("StringNotEquals", ["logs/"], "logs/", False),
        ("StringNotEquals", ["a", "b"], "logs/", True),
        ("StringEqualsIgnoreCase", ["LOGS/"], "logs/", True),
        ("StringNotEqualsIgnoreCase", ["LOGS/"], "logs/", False),
        ("StringLike", ["logs/*"], "logs/2025/", True),
        ("StringLike", ["logs/?"], "logs/ab", False),
        ("StringLike", ["LOGS/*"], "logs/x", False),
        ("StringNotLike", ["logs/*"], "logs/2025/", False),
        ("StringNotLike", ["tmp/*"], "logs/", True),
    ],
)
def test_string_operators(operator: str, values: list[str], prefix: str, expected: bool) -> None:
    assert holds(operator, "s3:prefix", values, prefix) is expected


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringNotEquals", True),  # a negated operator is true when the key is missing
        ("StringLike", False),
        ("StringNotLike", True),
        ("StringEqualsIfExists", True),
        ("StringNotLikeIfExists", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringLikeIfExists", True),
        ("NumericLessThan", False),
        ("NotIpAddress", True),
        ("IpAddress", False),
        ("DateNotEquals", True),
        ("Bool", False),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    key, value = {
        "Num": ("s3:max-keys", "5"),
        "IpA": ("aws:SourceIp", "10.0.0.0/8"),
        "Not": ("aws:SourceIp", "10.0.0.0/8"),
        "Dat": ("aws:CurrentTime", "2025-01-01T00:00:00Z"),
        "Boo": ("aws:SecureTransport", "true"),
    }.get(operator[:3], ("s3:prefix", "x"))
    assert holds(operator, key, [value]) is expected


@pytest.mark.parametrize(
    ("operator", "request_values", "expected"),
    [
        ("ForAnyValue:StringEquals", ("a", "z"), True),
        ("ForAnyValue:StringEquals", ("y", "z"), False),
        ("ForAllValues:StringEquals", ("a", "b"), True),
        ("ForAllValues:StringEquals", ("a", "z"), False),
        ("ForAnyValue:StringNotEquals", ("a", "z"), True),
        ("ForAnyValue:StringNotEquals", ("a", "b"), False),
        ("ForAllValues:StringNotEquals", ("y", "z"), True),
        ("ForAllValues:StringNotEquals", ("a", "z"), False),
        ("ForAllValues:StringLike", ("a1", "b2"), True),
        ("ForAllValues:StringNotLike", ("c", "d"), True),
        ("ForAnyValue:StringEquals", (), False),  # empty set: like missing
        ("ForAllValues:StringEquals", (), True),
        ("StringEquals", ("z", "a"), True),  # unquantified on many values: any matches
        ("StringNotEquals", ("z", "a"), False),
    ],
)
def test_quantifiers(operator: str, request_values: tuple[str, ...], expected: bool) -> None:
    values = ["a*", "b*"] if "Like" in operator else ["a", "b"]
    assert holds(operator, "aws:PrincipalTag/team", values, request_values) is expected


@pytest.mark.parametrize(
    ("operator", "values", "max_keys", "expected"),
    [
        ("NumericEquals", ["100"], "100", True),
        ("NumericEquals", ["100"], "100.0", True),
        ("NumericNotEquals", ["100"], "100", False),
        ("NumericLessThan", ["100"], "99", True),
        ("NumericLessThan", ["100"], "100", False),
        ("NumericLessThanEquals", ["100"], "100", True),
        ("NumericGreaterThan", ["100"], "101", True),
        ("NumericGreaterThanEquals", ["100"], "99", False),
        ("NumericLessThan", ["100"], "lots", False),  # a request value that is not a number
    ],
)
def test_numeric_operators(operator: str, values: list[str], max_keys: str, expected: bool) -> None:
    assert holds(operator, "s3:max-keys", values, max_keys) is expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("DateEquals", "2025-06-01T12:00:00Z", True),
        ("DateEquals", "2025-06-01T14:00:00+02:00", True),
        ("DateEquals", "2025-06-01T12:00:00", True),  # naive is UTC
        ("DateNotEquals", "2025-06-01T12:00:00Z", False),
        ("DateLessThan", "2025-06-01T12:00:01Z", True),
        ("DateLessThan", "2025-06-01T12:00:00Z", False),
        ("DateLessThanEquals", "2025-06-01T12:00:00Z", True),
        ("DateGreaterThan", "2025-06-01", True),
        ("DateGreaterThanEquals", str(int(NOW.timestamp()) + 1), False),
        ("DateGreaterThanEquals", str(int(NOW.timestamp())), True),  # epoch seconds
    ],
)
def test_date_operators_on_current_time(operator: str, value: str, expected: bool) -> None:
    assert holds(operator, "aws:CurrentTime", [value], NOW) is expected


def test_epoch_time_takes_date_and_numeric_operators() -> None:
    epoch = int(NOW.timestamp())
    assert holds("DateLessThan", "aws:EpochTime", ["2026-01-01T00:00:00Z"], epoch)
    assert holds("NumericGreaterThan", "aws:EpochTime", [str(epoch - 1)], epoch)
    assert not holds("NumericLessThan", "aws:EpochTime", [str(epoch)], epoch)


@pytest.mark.parametrize(
    ("operator", "values", "source", "expected"),
    [
        ("IpAddress", ["192.0.2.0/24"], "192.0.2.10", True),
        ("IpAddress", ["192.0.2.0/24"], "198.51.100.1", False),
        ("IpAddress", ["192.0.2.10"], "192.0.2.10", True),  # a bare address is a /32
        ("IpAddress", ["192.0.2.1/24"], "192.0.2.99", True),  # host bits are ignored
        ("IpAddress", ["2001:db8::/32"], "2001:db8::1", True),
        ("IpAddress", ["2001:db8::/32"], "2001:db9::1", False),
        ("IpAddress", ["192.0.2.0/24"], "::ffff:192.0.2.7", True),  # IPv4-mapped IPv6
        ("IpAddress", ["::/0"], "192.0.2.7", False),  # families never mix
        ("IpAddress", ["192.0.2.0/24"], "not-an-ip", False),
        ("NotIpAddress", ["192.0.2.0/24"], "198.51.100.1", True),
        ("NotIpAddress", ["192.0.2.0/24", "10.0.0.0/8"], "10.1.2.3", False),
    ],
)
def test_ip_operators(operator: str, values: list[str], source: str, expected: bool) -> None:
    assert holds(operator, "aws:SourceIp", values, source) is expected
    address = as_ip(source)
    if address is not None:
        assert holds(operator, "aws:SourceIp", values, address) is expected


@pytest.mark.parametrize(
    ("values", "secure", "expected"),
    [
        (["true"], True, True),
        (["false"], True, False),
        (["FALSE"], False, True),  # Bool is the one case-insensitive comparison
        (["True"], "true", True),
        (["true"], "yes", False),
    ],
)
def test_bool(values: list[str], secure: bool | str, expected: bool) -> None:
    assert holds("Bool", "aws:SecureTransport", values, secure) is expected


@pytest.mark.parametrize(
    ("value", "present", "expected"),
    [("true", False, True), ("true", True, False), ("false", True, True), ("false", False, False)],
)
def test_null(value: str, present: bool, expected: bool) -> None:
    assert holds("Null", "aws:username", [value], "alice" if present else None) is expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("s3:prefix", "logs/"),
        ("s3:delimiter", "/"),
        ("aws:username", "alice"),
        ("aws:userid", "f81d4fae"),
        ("aws:PrincipalType", "User"),
        ("aws:PrincipalTag/team", "ops"),
        ("s3:max-keys", "100"),
    ],
)
def test_string_keys(key: str, value: str) -> None:
    assert holds("StringEquals", key, [value], value)
    assert not holds("StringEquals", key, [value], value + "x")


def test_key_names_are_case_insensitive() -> None:
    condition = compile_condition("StringEquals", "AWS:UserName", ("alice",))
    assert condition.name == "aws:username"
    assert condition.holds({"aws:username": "alice"})
    assert key_type("S3:PREFIX") == "string"


def test_typed_request_values_as_text() -> None:
    assert as_text(True) == "true"
    assert as_text(False) == "false"
    assert as_text(NOW) == "2025-06-01T12:00:00Z"
    assert as_text(datetime(2025, 6, 1)) == "2025-06-01T00:00:00Z"
    assert as_text(5) == "5"
    assert as_text(ip_address("::1")) == "::1"


def test_typed_request_values_elsewhere() -> None:
    assert as_number(True) is None
    assert as_number(NOW) is None
    assert as_number(7) == 7.0
    assert as_date(True) is None
    assert as_date(ip_address("10.0.0.1")) is None
    assert as_date(0) == datetime(1970, 1, 1, tzinfo=UTC)
    assert as_date(datetime(2025, 1, 1)) == datetime(2025, 1, 1, tzinfo=UTC)
    assert as_bool(1) is None
    assert as_ip(5) is None
    assert as_date("2025-06-01T12:00:00Z") == NOW
    assert as_date(NOW + timedelta(0)) == NOW


@pytest.mark.parametrize(
    "key", ["s3:ExistingObjectTag/env", "s3:RequestObjectTag/env", "S3:existingobjecttag/a b"]
)
def test_tag_condition_keys_are_strings(key: str) -> None:
    assert key_type(key) == "string"
    assert holds("StringEquals", key, ["prod"], "prod")
    assert not holds("StringEquals", key, ["prod"], "dev")
    assert not holds("StringEquals", key, ["prod"])  # an object without that tag
    assert holds("StringNotEquals", key, ["prod"])


@pytest.mark.parametrize("key", ["s3:ExistingObjectTag/", "s3:RequestObjectTag/"])
def test_a_tag_condition_key_needs_a_tag_key(key: str) -> None:
    with pytest.raises(MalformedPolicy):
        key_type(key)


TAG_KEYS = "s3:RequestObjectTagKeys"


@pytest.mark.parametrize(
    ("operator", "values", "carried", "expected"),
    [
        # The IAM user guide's example: only these keys may be set.
        ("ForAllValues:StringEquals", ["Owner", "CreationDate"], ("Owner",), True),
        ("ForAllValues:StringEquals", ["Owner", "CreationDate"], ("CreationDate", "Owner"), True),
        ("ForAllValues:StringEquals", ["Owner", "CreationDate"], ("Owner", "Project"), False),
        ("ForAllValues:StringEquals", ["Owner"], None, True),  # no tags: none outside the set
        ("ForAllValues:StringLike", ["team*"], ("team", "team-lead"), True),
        ("ForAllValues:StringLike", ["team*"], ("team", "owner"), False),
        # At least one of these keys must be set.
        ("ForAnyValue:StringEquals", ["Project"], ("Owner", "Project"), True),
        ("ForAnyValue:StringEquals", ["Project"], ("Owner",), False),
        ("ForAnyValue:StringEquals", ["Project"], None, False),
        ("ForAnyValue:StringNotEquals", ["Owner"], ("Owner",), False),
        ("ForAnyValue:StringNotEquals", ["Owner"], ("Owner", "Project"), True),
        # Without a set operator a multi-valued key holds if any of its values matches.
        ("StringEquals", ["Project"], ("Owner", "Project"), True),
        ("Null", ["true"], None, True),
        ("Null", ["false"], ("Owner",), True),
    ],
)
def test_request_object_tag_keys_is_a_set_of_the_request_tag_keys(
    operator: str, values: list[str], carried: tuple[str, ...] | None, expected: bool
) -> None:
    assert holds(operator, TAG_KEYS, values, carried) is expected


def test_request_object_tag_keys_is_a_string_key_named_in_any_case() -> None:
    assert key_type(TAG_KEYS) == key_type("S3:REQUESTOBJECTTAGKEYS") == "string"
    with pytest.raises(MalformedPolicy):
        compile_condition("NumericEquals", TAG_KEYS, ("1",))
