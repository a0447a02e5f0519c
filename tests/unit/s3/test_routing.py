"""What a request needs beyond its route's action (``also_required``)."""

from __future__ import annotations

import pytest

from gateway.s3.routes import Requirement, also_required, match


def needs(method: str, target: str, headers: dict[str, str], query: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    route = match(method, target, query or {}, headers)  # type: ignore[arg-type]
    return also_required(route, "new-bucket", "k", headers)


@pytest.mark.parametrize("acl", ["public-read", "public-read-write", "authenticated-read"])
def test_a_bucket_made_with_a_non_private_acl_also_needs_put_bucket_acl(acl):
    assert needs("PUT", "bucket", {"x-amz-acl": acl}) == (
        Requirement("s3:PutBucketAcl", "new-bucket", "", "acl"),
    )


@pytest.mark.parametrize("headers", [{}, {"x-amz-acl": "private"}])
def test_a_private_bucket_needs_only_create_bucket(headers):
    assert needs("PUT", "bucket", headers) == ()


def test_a_copy_also_reads_its_source():
    headers = {"x-amz-copy-source": "/team-a/reports/r%20x.txt"}
    assert needs("PUT", "object", headers) == (
        Requirement("s3:GetObject", "team-a", "reports/r x.txt", "copy-source"),
    )
    assert needs("PUT", "object", headers, {"uploadId": "u", "partNumber": "1"}) == (
        Requirement("s3:GetObject", "team-a", "reports/r x.txt", "copy-source"),
    )
    # A version of the source is read as IAM decides it: s3:GetObjectVersion.
    versioned = {"x-amz-copy-source": "/team-a/reports/r%20x.txt?versionId=null"}
    assert needs("PUT", "object", versioned) == (
        Requirement("s3:GetObjectVersion", "team-a", "reports/r x.txt", "copy-source"),
    )


def test_an_acl_header_on_other_operations_asks_nothing_more():
    assert needs("PUT", "object", {"x-amz-acl": "public-read"}) == ()
    assert needs("PUT", "bucket", {"x-amz-acl": "public-read"}, {"acl": ""}) == ()


def test_get_object_attributes_also_needs_get_object():
    assert needs("GET", "object", {}, {"attributes": ""}) == (
        Requirement("s3:GetObject", "new-bucket", "k", "get-object"),
    )
