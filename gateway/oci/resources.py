"""Which resource a repository is, and which action an OCI access is, for the decision
(docs/identity.md, "Repositories"): the same roles, groups and bucket policies as S3.

A repository's first path component is its namespace, decided as a bucket of that name; the
rest of its name is the key: ``team/app`` is ``arn:aws:s3:::team/app`` and ``app`` is
``arn:aws:s3:::app``. Pulling is ``s3:GetObject``, pushing ``s3:PutObject``, deleting
``s3:DeleteObject``; listing a namespace in the catalog is ``s3:ListBucket``. So the group
``/buckets/team/writers`` may push to ``team/*``, and a policy on a bucket ``team`` (an
empty one will do) can make ``team/app`` public.

Repositories under the S3 prefix (``<prefix>/<bucket>/...``, DESIGN.md §2) hold S3
objects: pulling needs ``s3:GetObject`` on the whole bucket (``<bucket>/*``: the repository
does not say which keys it holds), and the only write is attaching a referrer
(``s3:PutObjectReferrer``): pushing blobs and pushing a manifest with a ``subject`` by its
digest. Tags and deletes there are refused to everyone, so no OCI client can change an S3
object behind the index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.oci.routes import DELETE, PULL, PUSH, Access
from gateway.policy.roles import PUT_REFERRER

ACTIONS: dict[Access, str] = {PULL: "s3:GetObject", PUSH: "s3:PutObject", DELETE: "s3:DeleteObject"}
LIST = "s3:ListBucket"
WHOLE_BUCKET = "*"


@dataclass(frozen=True)
class Resource:
    bucket: str
    key: str
    s3_objects: bool = False  # under the S3 prefix: read-only but for referrers

    def action(self, access: Access) -> str | None:
        """The action decided for ``access``; None where nobody may (S3 objects' deletes)."""
        if not self.s3_objects:
            return ACTIONS[access]
        return {PULL: ACTIONS[PULL], PUSH: PUT_REFERRER}.get(access)


def resource_of(prefix: str, repository: str) -> Resource:
    namespace, _, rest = repository.partition("/")
    if namespace == prefix:
        bucket = rest.partition("/")[0]
        return Resource(bucket, WHOLE_BUCKET, s3_objects=True)
    return Resource(namespace, rest)


def namespace_of(repository: str) -> str:
    return repository.partition("/")[0]


NAME = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


def parse_image(reference: str) -> tuple[str, str]:
    """``[host[:port]/]repository[:tag|@digest]`` -> (repository, tag or digest), as podman
    and cosign write image references; the host part, if any, is dropped (it is this one).
    ValueError when the result is no valid repository name and tag or digest (the
    distribution spec's grammar)."""
    repository, tag = _split_image(reference)
    valid_reference = DIGEST.fullmatch(tag) if "@" in reference else TAG.fullmatch(tag)
    if not NAME.fullmatch(repository) or not valid_reference:
        raise ValueError(f"not an image reference: {reference!r}")
    return repository, tag


def _split_image(reference: str) -> tuple[str, str]:
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        reference = rest
    if "@" in reference:
        repository, _, digest = reference.partition("@")
        return repository, digest
    head, _, tail = reference.rpartition(":")
    if head and "/" not in tail:
        return head, tail
    return reference, "latest"
