"""Repositories as bucket-like resources: the namespace is the bucket, S3 objects'
repositories are read-only but for referrers, and need the whole bucket to be read."""

from __future__ import annotations

import pytest

from gateway.oci.resources import Resource, parse_image, resource_of
from gateway.oci.routes import DELETE, PULL, PUSH


def test_an_image_repository_is_its_namespace_and_the_rest() -> None:
    assert resource_of("s3", "team/app") == Resource("team", "app")
    assert resource_of("s3", "team/sub/app") == Resource("team", "sub/app")
    assert resource_of("s3", "app") == Resource("app", "")
    assert resource_of("s3", "team/app").action(PULL) == "s3:GetObject"
    assert resource_of("s3", "team/app").action(PUSH) == "s3:PutObject"
    assert resource_of("s3", "team/app").action(DELETE) == "s3:DeleteObject"


def test_s3_objects_repositories_are_read_only_but_for_referrers() -> None:
    shard = resource_of("s3", "s3/photos/o/3f")
    assert shard == Resource("photos", "*", s3_objects=True)
    assert shard.action(PULL) == "s3:GetObject"
    assert shard.action(PUSH) == "s3:PutObjectReferrer"
    assert shard.action(DELETE) is None


def test_the_prefix_is_configurable() -> None:
    assert not resource_of("objects", "s3/app").s3_objects
    assert resource_of("objects", "objects/b/x").s3_objects


def test_image_references() -> None:
    digest = "sha256:" + "b" * 64
    assert parse_image("team/app:1.0") == ("team/app", "1.0")
    assert parse_image("team/app") == ("team/app", "latest")
    assert parse_image(f"team/app@{digest}") == ("team/app", digest)
    assert parse_image("127.0.0.1:9000/team/app:1.0") == ("team/app", "1.0")
    assert parse_image("store.example.com/app") == ("app", "latest")
    assert parse_image("localhost/app:x") == ("app", "x")
    assert parse_image("app:x") == ("app", "x")


@pytest.mark.parametrize(
    "bad", ["", "Team/App:1", "app:", "app:\n", "a//b", "app@sha256", "app:-x"]
)
def test_bad_image_references(bad: str) -> None:
    with pytest.raises(ValueError, match="not an image reference"):
        parse_image(bad)
