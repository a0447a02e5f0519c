"""Errors the router itself answers under /_artifacts (no route, no such method) are RFC 7807
problems like every other, and a 405 names every method the path serves (RFC 9110 §15.5.6)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.api.test_access_keys import BASIC


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/_artifacts/keys", "GET, POST"),
        ("OPTIONS", "/_artifacts/uploads/some-id", "DELETE, HEAD, PATCH"),
        ("POST", "/_artifacts/trust/some-bucket", "DELETE, GET, PUT"),
        ("PUT", "/_artifacts/uploads", "OPTIONS, POST"),
    ],
    ids=["keys", "upload", "trust", "uploads"],
)
def test_a_405_names_every_method_of_the_path(gateway, method, path, allowed):
    response = httpx.request(method, f"{gateway.url}{path}", headers=BASIC)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 405


def test_an_unknown_path_is_a_404_problem(gateway):
    response = httpx.get(f"{gateway.url}/_artifacts/nothing-here", headers=BASIC)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "request_id": response.headers["x-request-id"],
    }
