"""Every endpoint of the distribution spec's table is recognised, with its repository,
reference and access; repository names with slashes and endpoint-like components parse as
the registry's router parses them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.oci.routes import BASE, CATALOG, DELETE, PULL, PUSH, endpoint

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("method", "path", "operation", "repository", "reference", "access"),
    [
        ("GET", "/v2/team/app/manifests/1.0", "GetManifest", "team/app", "1.0", PULL),
        ("HEAD", f"/v2/app/manifests/{DIGEST}", "HeadManifest", "app", DIGEST, PULL),
        ("PUT", "/v2/a/b/c/manifests/latest", "PutManifest", "a/b/c", "latest", PUSH),
        ("DELETE", f"/v2/app/manifests/{DIGEST}", "DeleteManifest", "app", DIGEST, DELETE),
        ("GET", f"/v2/team/app/blobs/{DIGEST}", "GetBlob", "team/app", DIGEST, PULL),
        ("HEAD", f"/v2/team/app/blobs/{DIGEST}", "HeadBlob", "team/app", DIGEST, PULL),
        ("DELETE", f"/v2/team/app/blobs/{DIGEST}", "DeleteBlob", "team/app", DIGEST, DELETE),
        ("POST", "/v2/team/app/blobs/uploads/", "StartBlobUpload", "team/app", None, PUSH),
        ("POST", "/v2/team/app/blobs/uploads", "StartBlobUpload", "team/app", None, PUSH),
        ("PATCH", "/v2/team/app/blobs/uploads/u-1", "PatchBlobUpload", "team/app", "u-1", PUSH),
        ("PUT", "/v2/team/app/blobs/uploads/u-1", "PutBlobUpload", "team/app", "u-1", PUSH),
        ("GET", "/v2/team/app/blobs/uploads/u-1", "GetBlobUpload", "team/app", "u-1", PUSH),
        ("DELETE", "/v2/team/app/blobs/uploads/u-1", "CancelBlobUpload", "team/app", "u-1", PUSH),
        ("GET", "/v2/team/app/tags/list", "ListTags", "team/app", None, PULL),
        ("GET", f"/v2/team/app/referrers/{DIGEST}", "ListReferrers", "team/app", DIGEST, PULL),
        # A repository whose components look like endpoints' still parses whole.
        ("GET", "/v2/blobs/manifests/manifests/x", "GetManifest", "blobs/manifests", "x", PULL),
        ("GET", "/v2/a/tags/list/tags/list", "ListTags", "a/tags/list", None, PULL),
    ],
)
def test_endpoints(
    method: str,
    path: str,
    operation: str,
    repository: str,
    reference: str | None,
    access: str,
) -> None:
    found = endpoint(method, path)
    assert found is not None
    assert (found.operation, found.repository, found.reference, found.access) == (
        operation,
        repository,
        reference,
        access,
    )


def test_base_and_catalog() -> None:
    assert endpoint("GET", "/v2/") == endpoint("GET", "/v2")
    base = endpoint("GET", "/v2/")
    assert base is not None
    assert base.operation == BASE
    assert base.access is None
    listing = endpoint("GET", "/v2/_catalog")
    assert listing is not None
    assert listing.operation == CATALOG


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v2/app/manifests/x"), ("PATCH", f"/v2/app/blobs/{DIGEST}"), ("PUT", "/v2/")],
)
def test_a_method_the_endpoint_does_not_serve_has_no_access(method: str, path: str) -> None:
    found = endpoint(method, path)
    assert found is not None
    assert found.operation == "-"
    assert found.access is None


@pytest.mark.parametrize("path", ["/v2/app", "/v2/app/other/thing", "/v2/app/manifests/"])
def test_no_endpoint(path: str) -> None:
    assert endpoint("GET", path) is None


@given(
    st.lists(
        st.from_regex(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", fullmatch=True), min_size=1, max_size=4
    ),
    st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,20}", fullmatch=True),
)
def test_any_valid_name_and_tag_round_trip(components: list[str], tag: str) -> None:
    name = "/".join(components)
    found = endpoint("GET", f"/v2/{name}/manifests/{tag}")
    assert found is not None
    assert (found.repository, found.reference) == (name, tag)
