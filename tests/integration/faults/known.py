"""The documented windows in which ``reindex --check`` finds a difference after a fault, and
exactly which one (docs/ARCHITECTURE.md, "Invariants and how they are kept"; the domain-level
twins are the strict xfails of tests/unit/domain/test_crash_points.py). Each is one whole
version on each side, never a partial one, and the client's retry of the operation heals it.

All come from a registry write that took effect while the gateway never learned of it (it was
killed before the answer came, or Zot died before sending it):

- ``tag-moved``: the key's tag (or a part's) names the new manifest, the index has not
  committed it. PutObject and Complete: the index serves the old version (or none) while a
  reindex would publish the new one (the old version's signature row is no version's after
  that: it goes too). UploadPart: the part is in the registry, not in ListParts; a reindex
  would list it.
- ``manifest-deleted``: DeleteObject deleted the version's manifest (registry first), the
  index still has its row (reads serve the old bytes from their blobs meanwhile); a reindex
  drops the key, as the client asked, and its signature row.

Anything else the check finds is a failure.
"""

from __future__ import annotations

from typing import Any

from tests.integration.faults.operations import Operation

RESPONSE = "response"
OVERWRITTEN = ["manifest_digest", "size", "etag", "last_modified", "layers", "checksums"]
# (operation, n, stage) -> the window it opens.
WINDOWS = {
    ("put-new", 3, RESPONSE): "tag-moved",
    ("put-overwrite", 2, RESPONSE): "tag-moved",
    ("upload-part", 2, RESPONSE): "tag-moved",
    ("complete", 1, RESPONSE): "tag-moved",
    ("delete", 2, RESPONSE): "manifest-deleted",
}


def difference(
    table: str, row: str, index: str | None, registry: str | None, fields: list[str] | None = None
) -> dict[str, Any]:
    return {
        "table": table,
        "row": row,
        "index": index,
        "registry": registry,
        "fields": fields or [],
    }


def expected(
    op: Operation,
    point: tuple[str, int, str],
    old: str | None,
    tagged: str | None,
    part: str | None,
) -> list[dict[str, Any]]:
    """What the check must report at ``point`` (operation, n, stage): ``old`` is the digest
    the key's tag named before the operation, ``tagged`` the one it names now, ``part`` what
    part 1's tag names now."""
    window = WINDOWS.get(point)
    if window is None:
        return []
    name = point[0]
    signature = [difference("referrers", f"{op.row()} {op.signature}", f"signature of {old}", None)]
    if name == "upload-part":
        return [difference("parts", f"{op.upload_id}#1", None, part)]
    if window == "manifest-deleted":
        return [difference("objects", op.row(), old, None), *signature]
    if old is None:
        return [difference("objects", op.row(), None, tagged)]
    return [difference("objects", op.row(), old, tagged, OVERWRITTEN), *signature]
