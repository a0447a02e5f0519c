"""``reindex --check``: how the index differs from what ``reindex`` would write, changing
nothing in either (``reindex.rebuild`` only reads the registry, ``Index.contents`` only reads
the index).

It compares what ``replace_all`` swaps, as ``replace_all`` would: buckets, each key's live
object, the other versions and delete markers, referrer rows, live uploads and their parts.

- A completed upload's row lives in the index alone (it answers a repeated Complete): never a
  difference; it also wins over a live upload of the same id whose record manifest Complete
  had not deleted yet, so that record is no difference either.
- Referrer rows are compared for the manifests of the versions the index or the registry
  has. A row about a manifest no version has any more is invisible to every read (the
  counts and listings ask for a version's manifest) and is not reported, though a reindex
  would drop it.
- Access keys are not in the registry: not compared.

The registry is read first, then the index, not at one instant: a write in flight can show
as a difference. Check a quiet system, or check again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from gateway.domain.reindex import ReindexReport, rebuild
from gateway.domain.store import Store
from gateway.domain.values import IndexContents, ObjectRecord, ReferrerRecord

R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
TABLES = ("buckets", "objects", "versions", "referrers", "uploads", "parts")


@dataclass(frozen=True)
class Difference:
    """One row the index and a reindex disagree on."""

    table: str  # one of TABLES
    row: str  # which row: bucket, bucket/key, bucket/key?versionId=v, upload id, upload#n ...
    index: str | None  # what the index's row names (None: the index has no such row)
    registry: str | None  # what a reindex would write (None: it would drop the row)
    fields: tuple[str, ...] = ()  # both rows there: the fields that differ

    def describe(self) -> str:
        where = f"{self.table} {self.row}"
        if self.index is None:
            return f"{where}: only in the registry ({self.registry}); a reindex would add it"
        if self.registry is None:
            return f"{where}: only in the index ({self.index}); a reindex would drop it"
        if self.index != self.registry:
            return f"{where}: the index has {self.index}, the registry {self.registry}"
        return f"{where}: {', '.join(self.fields)} differ ({self.index})"

    def as_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "fields": list(self.fields)}


async def check(store: Store) -> tuple[list[Difference], ReindexReport]:
    """The differences, and the counts of what a reindex would write."""
    rebuilt, report = await rebuild(store)
    return compare(await store.index.contents(), rebuilt), report


def compare(index: IndexContents, rebuilt: IndexContents) -> list[Difference]:
    """Where ``index`` differs from ``rebuilt`` as ``replace_all(rebuilt)`` would change it,
    table by table in TABLES' order, rows in order within a table."""
    found = _table(
        "buckets",
        {b.name: b for b in index.buckets},
        {b.name: b for b in rebuilt.buckets},
        str,
        lambda b: f"created {b.created.isoformat()}",
    )
    found += _table(
        "objects",
        {(o.bucket, o.key): o for o in index.objects},
        {(o.bucket, o.key): o for o in rebuilt.objects},
        "/".join,
        _version,
    )
    found += _table(
        "versions",
        {(v.bucket, v.key, v.version): v for v in index.versions},
        {(v.bucket, v.key, v.version): v for v in rebuilt.versions},
        lambda k: f"{k[0]}/{k[1]}?versionId={k[2]}",
        _version,
    )
    subjects = {
        (v.bucket, v.key, v.manifest_digest)
        for contents in (index, rebuilt)
        for v in (*contents.objects, *contents.versions)
    }
    found += _table(
        "referrers",
        {(r.bucket, r.key, r.digest): r for r in index.referrers if _of(r, subjects)},
        {(r.bucket, r.key, r.digest): r for r in rebuilt.referrers if _of(r, subjects)},
        lambda k: f"{k[0]}/{k[1]} {k[2]}",
        lambda r: f"{r.kind} of {r.subject}",
    )
    completed = {u.upload_id for u in index.uploads if u.completed}
    live = [u for u in rebuilt.uploads if u.upload_id not in completed]
    found += _table(
        "uploads",
        {u.upload_id: u for u in index.uploads if not u.completed},
        {u.upload_id: u for u in live},
        str,
        lambda u: f"{u.bucket}/{u.key}",
    )
    kept = {u.upload_id for u in live}
    found += _table(
        "parts",
        {(u, p.part_number): p for u, p in index.parts},
        {(u, p.part_number): p for u, p in rebuilt.parts if u in kept},
        lambda k: f"{k[0]}#{k[1]}",
        lambda p: p.manifest_digest,
    )
    return found


def _version(record: ObjectRecord) -> str:
    return record.manifest_digest + (" (delete marker)" if record.delete_marker else "")


def _of(row: ReferrerRecord, subjects: set[tuple[str, str, str]]) -> bool:
    return (row.bucket, row.key, row.subject) in subjects


def _table(
    table: str,
    mine: dict[K, R],
    theirs: dict[K, R],
    row: Callable[[K], str],
    names: Callable[[R], str],
) -> list[Difference]:
    found = []
    for key in sorted(mine.keys() | theirs.keys(), key=row):
        a, b = mine.get(key), theirs.get(key)
        if a == b:
            continue
        fields = () if a is None or b is None else _fields(a, b)
        found.append(
            Difference(
                table,
                row(key),
                None if a is None else names(a),
                None if b is None else names(b),
                fields,
            )
        )
    return found


def _fields(a: Any, b: Any) -> tuple[str, ...]:
    names: Iterable[str] = (field.name for field in dataclasses.fields(a))
    return tuple(name for name in names if getattr(a, name) != getattr(b, name))
