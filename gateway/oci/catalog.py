"""``GET /v2/_catalog``, filtered to the repositories the caller may list: a repository is
listed when the caller may ``s3:ListBucket`` its namespace (``resources.py``), then the
spec's ``n``/``last`` pagination applies to what is left (the catalog is not in the
distribution spec; this is the Docker registry API's, which clients such as ``crane catalog``
and ``regctl repo ls`` speak)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from gateway.oci.errors import OciError
from gateway.oci.resources import LIST, resource_of

Allowed = Callable[[str, str], Awaitable[bool]]  # (action, bucket) -> allowed


async def visible(repositories: list[str], prefix: str, allowed: Allowed) -> list[str]:
    verdicts: dict[str, bool] = {}
    shown: list[str] = []
    for repository in repositories:
        bucket = resource_of(prefix, repository).bucket
        if bucket not in verdicts:
            verdicts[bucket] = bool(bucket) and await allowed(LIST, bucket)
        if verdicts[bucket]:
            shown.append(repository)
    return shown


def page(repositories: list[str], n: str | None, last: str | None) -> tuple[bytes, str | None]:
    """The body of one page and its ``Link`` header (None on the last page)."""
    ordered = sorted(repositories)
    if last:
        ordered = [name for name in ordered if name > last]
    if n is None:
        return json.dumps({"repositories": ordered}).encode(), None
    try:
        size = int(n)
    except ValueError:
        raise OciError(400, "PAGINATION_NUMBER_INVALID", "n must be a number.") from None
    if size < 0:
        raise OciError(400, "PAGINATION_NUMBER_INVALID", "n must not be negative.")
    shown = ordered[:size]
    link = None
    if size and len(ordered) > size:
        link = f'</v2/_catalog?n={size}&last={quote(shown[-1], safe="/")}>; rel="next"'
    return json.dumps({"repositories": shown}).encode(), link
