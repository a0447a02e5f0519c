"""IAM wildcards: ``*`` and ``?`` only, everything else literal, no catastrophic backtracking."""

from __future__ import annotations

import time

import pytest

from gateway.policy.patterns import Wildcards, has_wildcard


@pytest.mark.parametrize(
    ("patterns", "value", "expected"),
    [
        (("s3:GetObject",), "s3:GetObject", True),
        (("s3:GetObject",), "s3:GetObjectAcl", False),
        (("s3:Get*",), "s3:GetObject", True),
        (("s3:Get*",), "s3:Get", True),
        (("s3:Get*",), "s3:PutObject", False),
        (("s3:?etObject",), "s3:GetObject", True),
        (("s3:?etObject",), "s3:etObject", False),
        (("*",), "", True),
        (("a*b*c",), "abc", True),
        (("a*b*c",), "a-b-b-c", True),
        (("a*b*c",), "acb", False),
        (("a*b*c*d",), "abcd", True),  # two middle segments, side by side
        (("a*b*c*d",), "a-b-c-d", True),
        (("a", "b"), "", False),  # only exact patterns: no regex, so "" matches nothing
        (("a**c",), "ac", True),
        (("a.c",), "abc", False),  # regex metacharacters are literal
        (("a+(c)",), "a+(c)", True),
        (("x*",), "x\nline", True),  # * spans newlines in keys
        (("demo/*", "other"), "other", True),
        (("demo/*", "other"), "demo/a/b", True),
        (("demo/*", "other"), "demox", False),
        (("*/?.txt",), "dir/a.txt", True),
        (("*/?.txt",), "dir/ab.txt", False),
    ],
)
def test_matches(patterns: tuple[str, ...], value: str, expected: bool) -> None:
    assert Wildcards.compile(patterns).matches(value) is expected


def test_case_is_folded_only_when_asked() -> None:
    assert Wildcards.compile(("s3:get*",), ignore_case=True).matches("S3:GetObject")
    assert not Wildcards.compile(("s3:get*",)).matches("S3:GetObject")
    assert Wildcards.compile(("S3:GETOBJECT",), ignore_case=True).matches("s3:getobject")


def test_equality_compares_what_was_written() -> None:
    assert Wildcards.compile(("a*", "b")) == Wildcards.compile(("a*", "b"))
    assert Wildcards.compile(("a*",)) != Wildcards.compile(("a*",), ignore_case=True)


def test_pathological_pattern_is_linear() -> None:
    patterns = Wildcards.compile(("*a*a*a*a*a*a*a*a*a*a*b",))
    started = time.perf_counter()
    assert not patterns.matches("a" * 20_000)
    assert time.perf_counter() - started < 1.0


def test_has_wildcard() -> None:
    assert has_wildcard("a*")
    assert has_wildcard("?")
    assert not has_wildcard("abc")
