"""A version of an object named by its ``versionId`` on the JSON API (referrers, verdicts):
the parameter, the action it is decided as, and the answer for a delete marker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Query

from gateway.api.problems import ApiError
from gateway.domain.errors import DeleteMarkerVersion
from gateway.policy.roles import VERSION_REFERRER

VersionId = Annotated[
    str | None,
    Query(
        alias="versionId",
        description="A version of the object (its S3 version id, or `null`): act on that "
        "version's referrers instead of the current version's.",
    ),
]
BAD_VERSION = {400: "`versionId` cannot be a version id."}
MARKER = {405: "`versionId` names a delete marker, which has no referrers."}


def version_action(action: str, version: str | None) -> str:
    """A version named by its id is decided as the *Version* action, as S3 decides
    ``?tagging&versionId=`` as ``s3:GetObjectVersionTagging``."""
    return action if version is None else VERSION_REFERRER[action]


@contextmanager
def no_marker() -> Iterator[None]:
    """A delete marker named by its version id is answered 405, as S3's GetObject answers
    one; but no method of these routes applies to it, so ``Allow`` is empty (RFC 9110
    10.2.1), not S3's ``DELETE``."""
    try:
        yield
    except DeleteMarkerVersion as exc:
        raise ApiError(
            405,
            "Method Not Allowed",
            f"Version {exc.version_id} is a delete marker, which has no referrers.",
            {"Allow": "", "x-amz-delete-marker": "true", "x-amz-version-id": exc.version_id},
        ) from None
