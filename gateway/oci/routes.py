"""The OCI distribution API's endpoints (spec "Endpoints" table,
https://github.com/opencontainers/distribution-spec/blob/main/spec.md#endpoints) as data:
what each one is called in the audit log and which access it needs.

Names and references are parsed loosely (any path segment): Zot validates them and answers
in its own words, so the gateway's answers stay the registry's. Only the shape of the path
decides which endpoint it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Access = Literal["pull", "push", "delete"]
PULL: Access = "pull"
PUSH: Access = "push"
DELETE: Access = "delete"

_NAME = r"(?P<name>[^?#]+?)"
_REF = r"(?P<ref>[^/?#]+)"
# (endpoint pattern after /v2/, {method: (operation, access)})
_TABLE: tuple[tuple[re.Pattern[str], dict[str, tuple[str, Access]]], ...] = tuple(
    (re.compile(pattern), methods)
    for pattern, methods in (
        (
            rf"{_NAME}/blobs/uploads/{_REF}",
            {
                "GET": ("GetBlobUpload", PUSH),
                "PATCH": ("PatchBlobUpload", PUSH),
                "PUT": ("PutBlobUpload", PUSH),
                "DELETE": ("CancelBlobUpload", PUSH),
            },
        ),
        (rf"{_NAME}/blobs/uploads/?", {"POST": ("StartBlobUpload", PUSH)}),
        (
            rf"{_NAME}/blobs/{_REF}",
            {
                "GET": ("GetBlob", PULL),
                "HEAD": ("HeadBlob", PULL),
                "DELETE": ("DeleteBlob", DELETE),
            },
        ),
        (
            rf"{_NAME}/manifests/{_REF}",
            {
                "GET": ("GetManifest", PULL),
                "HEAD": ("HeadManifest", PULL),
                "PUT": ("PutManifest", PUSH),
                "DELETE": ("DeleteManifest", DELETE),
            },
        ),
        (rf"{_NAME}/tags/list", {"GET": ("ListTags", PULL)}),
        (rf"{_NAME}/referrers/{_REF}", {"GET": ("ListReferrers", PULL)}),
    )
)


@dataclass(frozen=True)
class Endpoint:
    """One request's endpoint: ``repository`` and ``access`` are None for the base and the
    catalog, which concern no repository."""

    operation: str
    repository: str | None = None
    reference: str | None = None
    access: Access | None = None
    known_path: bool = True  # the path is an endpoint's, whatever the method


BASE = "ApiVersion"
CATALOG = "ListRepositories"


def endpoint(method: str, path: str) -> Endpoint | None:
    """The endpoint of ``method`` on ``path`` (which starts with ``/v2``); None when the
    path is no endpoint's. An endpoint's path with a method it does not serve has
    ``operation`` ``"-"`` and no access (the registry answers it 405)."""
    rest = path[len("/v2") :]
    if rest in ("", "/"):
        return Endpoint(BASE) if method in ("GET", "HEAD") else Endpoint("-", known_path=True)
    if rest == "/_catalog":
        return Endpoint(CATALOG) if method == "GET" else Endpoint("-")
    rest = rest[1:]
    for pattern, methods in _TABLE:
        found = pattern.fullmatch(rest)
        if found is None:
            continue
        groups = found.groupdict()
        name, reference = groups["name"], groups.get("ref")
        if method not in methods:
            return Endpoint("-", name, reference)
        operation, access = methods[method]
        return Endpoint(operation, name, reference, access)
    return None
