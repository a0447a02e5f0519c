"""IAM wildcard patterns (``*`` any run of characters, ``?`` exactly one), compiled once.

A set of patterns becomes one frozenset of exact strings plus one alternation regex, so a
match is a set lookup or a single ``fullmatch``, whatever the number of patterns.
See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WILDCARDS = frozenset("*?")


def has_wildcard(text: str) -> bool:
    return not WILDCARDS.isdisjoint(text)


def _literal(segment: str) -> str:
    return "".join("." if char == "?" else re.escape(char) for char in segment)


def _regex_source(pattern: str) -> str:
    """A regex that cannot backtrack catastrophically, whoever wrote the pattern.

    ``a*b*c`` naively becomes ``a.*b.*c``, which is polynomial in the value's length per
    star; a session policy is caller-supplied, so that would be a denial of service. Each
    middle segment is instead taken at its earliest occurrence inside an atomic group (the
    earliest occurrence always leaves the most room for the rest, so no match is lost).
    """
    first, *middle_and_last = pattern.split("*")
    if not middle_and_last:
        return _literal(first)
    *middle, last = middle_and_last
    atomic = "".join(f"(?>.*?{_literal(segment)})" for segment in middle if segment)
    return f"{_literal(first)}{atomic}.*{_literal(last)}"


@dataclass(frozen=True)
class Wildcards:
    """Patterns as written (equality compares these), matched case-insensitively if asked."""

    patterns: tuple[str, ...]
    ignore_case: bool = False
    exact: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def compile(cls, patterns: tuple[str, ...], ignore_case: bool = False) -> Wildcards:
        def fold(text: str) -> str:
            return text.lower() if ignore_case else text

        exact = frozenset(fold(p) for p in patterns if not has_wildcard(p))
        wild = sorted({fold(p) for p in patterns if has_wildcard(p)})
        source = "|".join(f"(?:{_regex_source(p)})" for p in wild)
        regex = re.compile(source, re.DOTALL) if wild else None
        return cls(patterns, ignore_case, exact, regex)

    def matches(self, value: str) -> bool:
        if self.ignore_case:
            value = value.lower()
        if value in self.exact:
            return True
        return self.regex is not None and self.regex.fullmatch(value) is not None
