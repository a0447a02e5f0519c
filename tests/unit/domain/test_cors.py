"""CORS rules: origin and header patterns (one ``*``), the first matching rule, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.cors import CorsRule, check_rules, first_match
from gateway.domain.errors import InvalidRequest

text = st.text(alphabet=st.characters(codec="ascii", exclude_characters="*"), max_size=12)


@given(prefix=text, middle=text, suffix=text)
def test_one_wildcard_matches_any_run_anchored_at_both_ends(prefix, middle, suffix):
    rule = CorsRule(("GET",), (f"{prefix}*{suffix}",))
    assert rule.allows(prefix + middle + suffix, "GET", ())


@pytest.mark.parametrize(
    ("pattern", "origin", "allowed"),
    [  # the cases of ceph s3-tests' test_cors_origin_response
        ("*suffix", "foo.suffix", True),
        ("*suffix", "foo.suffix.get", False),
        ("start*end", "startend", True),
        ("start*end", "0start12end", False),
        ("prefix*", "prefix.suffix", True),
        ("prefix*", "bla.prefix", False),
        ("http://*.origin.com", "http://test.origin.com/", False),
    ],
)
def test_patterns_are_anchored(pattern, origin, allowed):
    assert CorsRule(("GET",), (pattern,)).allows(origin, "GET", ()) is allowed


@given(origin=text)
def test_an_origin_without_wildcard_matches_only_itself(origin):
    rule = CorsRule(("GET",), (origin,))
    assert rule.allows(origin, "GET", ())
    assert not rule.allows(origin + "x", "GET", ())


@given(name=text)
def test_headers_match_without_regard_to_case(name):
    rule = CorsRule(("PUT",), ("*",), allowed_headers=(name.upper(),))
    assert rule.allows("o", "PUT", (name.lower(),))


@pytest.mark.parametrize(
    ("origin", "method", "headers", "chosen"),
    [
        ("https://a.test", "GET", (), "first"),
        ("https://a.test", "PUT", (), "second"),
        ("https://b.test", "GET", (), "second"),
        ("https://a.test", "GET", ("x-amz-date",), "second"),
        ("https://b.test", "DELETE", (), None),
    ],
)
def test_the_first_rule_that_allows_the_request_is_used(origin, method, headers, chosen):
    rules = [
        CorsRule(("GET",), ("https://a.test",), id="first"),
        CorsRule(("GET", "PUT"), ("*",), allowed_headers=("x-amz-*",), id="second"),
    ]
    found = first_match(rules, origin, method, headers)
    assert (found.id if found else None) == chosen


@pytest.mark.parametrize(
    "rule",
    [
        CorsRule(("PATCH",), ("*",)),
        CorsRule(("get",), ("*",)),
        CorsRule(("GET",), ("*.*",)),
        CorsRule(("GET",), ("*",), allowed_headers=("**",)),
        CorsRule(("GET",), ("*",), expose_headers=("x-*",)),
    ],
)
def test_refused_rules(rule):
    with pytest.raises(InvalidRequest):
        check_rules([rule])


def test_at_most_100_rules():
    check_rules([CorsRule(("GET",), ("*",))] * 100)
    with pytest.raises(InvalidRequest):
        check_rules([CorsRule(("GET",), ("*",))] * 101)
