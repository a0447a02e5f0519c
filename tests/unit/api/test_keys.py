"""Who manages access keys: Bearer users and root; never a key (over Basic) or a session."""

from __future__ import annotations

import pytest

from gateway.api.keys import manages_keys
from gateway.domain.values import ANONYMOUS, Principal


@pytest.mark.parametrize(
    ("method", "manages"),
    [("bearer", True), ("root", True), ("access-key", False), ("sts", False), ("basic", False)],
)
def test_who_manages_keys(method, manages):
    assert manages_keys(Principal("bob", method)) is manages


def test_anonymous_does_not():
    assert not manages_keys(ANONYMOUS)
