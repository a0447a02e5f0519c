"""Deleting a bucket with everything in it: the JSON API's recursive DeleteBucket (R8.3).

Two passes over the bucket's content, a page of index rows at a time (never the whole
listing in memory):

1. **survey**: each upload in flight, object, version and delete marker is put to the
   caller's ``Referee`` (may the caller delete it?) and to Object Lock (does a retention or a
   legal hold keep it?). Anything in the way stops the job before anything is deleted:
   ``ContentRefused`` counts it and names some of its keys.
2. **removal**: each item goes through the existing delete of its kind
   (``abort_multipart_upload``, ``delete_object``, ``versions.delete_version``: referrers,
   tag and lock manifests go with their version), decided again and recorded by the
   referee; then the bucket (``delete_bucket``).

Nothing is kept between calls but the bucket's content, so a job stopped anywhere (a
registry outage, a restart) is resumed by running it again: what was deleted is gone, what
is left is surveyed and removed. Content written while a job runs is taken by a further
round, up to ``ROUNDS``; after that the bucket stays (``BucketNotEmpty``).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Iterator
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Literal, Protocol

from gateway.domain import buckets, multipart, objectlock, objects, versions
from gateway.domain.errors import BucketNotEmpty, ContentRefused, NoSuchUpload, ObjectLocked
from gateway.domain.store import Store
from gateway.domain.values import ObjectRecord

DELETE_OBJECT = "s3:DeleteObject"
DELETE_VERSION = "s3:DeleteObjectVersion"
ABORT_UPLOAD = "s3:AbortMultipartUpload"
DELETE_BUCKET = "s3:DeleteBucket"
PAGE = 1000  # index rows per query
EXAMPLES = 20  # keys a refusal names
ROUNDS = 3  # survey + removal passes before content still arriving wins
BUCKET_REFUSED = "The caller may not delete the bucket; nothing was deleted."

Kind = Literal["objects", "versions", "delete_markers", "uploads", "bucket"]


@dataclass(frozen=True)
class Item:
    """One thing a removal takes, and the IAM action that decides it."""

    kind: Kind
    action: str
    key: str = ""
    version_id: str | None = None  # versions and delete markers; None: the null version
    upload_id: str | None = None  # uploads


BUCKET = Item("bucket", DELETE_BUCKET)


class Referee(Protocol):
    """The caller's side of a deletion: the edge decides each item for the caller it knows,
    and records each decision (the audit log); the domain only asks."""

    async def may(self, item: Item) -> bool:
        """Whether the caller may remove ``item`` (the survey, before anything goes)."""
        ...

    def removing(self, item: Item) -> AbstractAsyncContextManager[None]:
        """Around one removal: raises ``ContentRefused`` if the caller may not remove
        ``item``, and records the outcome of the body."""
        ...


@dataclass
class Counts:
    objects: int = 0  # of a bucket never versioned
    versions: int = 0  # of a versioned bucket, by version id
    delete_markers: int = 0
    uploads: int = 0  # multipart (and tus) uploads in flight

    def add(self, kind: Kind) -> None:
        if kind != "bucket":
            setattr(self, kind, getattr(self, kind) + 1)

    def as_dict(self) -> dict[str, int]:
        return {each.name: getattr(self, each.name) for each in fields(self)}

    def minus(self, other: Counts) -> dict[str, int]:
        mine, theirs = self.as_dict(), other.as_dict()
        return {name: max(0, mine[name] - theirs[name]) for name in mine}


@dataclass
class Progress:
    """Where a job is, for whoever watches it: ``found`` by the current round's survey,
    ``deleted`` by the job so far."""

    step: Literal["survey", "removal", "bucket", "done"] = "survey"
    round: int = 0
    found: Counts = field(default_factory=Counts)
    deleted: Counts = field(default_factory=Counts)


async def delete_bucket_recursive(
    store: Store,
    bucket: str,
    referee: Referee,
    progress: Progress | None = None,
    *,
    page: int = PAGE,
) -> Progress:
    """Delete ``bucket`` and everything in it, or stop where the caller or Object Lock says
    no (``ContentRefused``: the survey deletes nothing; a refusal met in the removal, such as
    a policy changed meanwhile, leaves the rest). Raises NoSuchBucket for a missing bucket and
    whatever a port raises; running it again resumes."""
    progress = progress or Progress()
    await buckets.get_bucket(store, bucket)
    for number in range(1, ROUNDS + 1):
        progress.round, progress.step = number, "survey"
        progress.found = Counts()
        await _survey(store, bucket, referee, progress.found, page)
        progress.step = "removal"
        removed = Counts()
        try:
            await _remove_all(store, bucket, referee, page, (removed, progress.deleted))
        except ContentRefused as exc:
            exc.left = progress.found.minus(removed)
            raise
        if await _empty(store, bucket):
            progress.step = "bucket"
            async with referee.removing(BUCKET):
                await buckets.delete_bucket(store, bucket)
            progress.step = "done"
            return progress
    raise BucketNotEmpty(
        f"Content kept arriving while the bucket was emptied ({ROUNDS} rounds); "
        "the bucket stays. Delete it again once writers have stopped."
    )


async def _survey(store: Store, bucket: str, referee: Referee, found: Counts, page: int) -> None:
    refused, locked, keys = 0, 0, list[str]()
    if not await referee.may(BUCKET):
        raise ContentRefused(refused=1, detail=BUCKET_REFUSED)
    moment = datetime.now(UTC)
    async with aclosing(_content(store, bucket, page)) as content:
        async for item, record in content:
            found.add(item.kind)
            denied = not await referee.may(item)
            kept = record is not None and objectlock.keeps(record, moment)
            refused, locked = refused + denied, locked + kept
            if (denied or kept) and len(keys) < EXAMPLES and item.key not in keys:
                keys.append(item.key)
    if refused or locked:
        raise ContentRefused(refused=refused, locked=locked, keys=tuple(keys), left=found.as_dict())


async def _remove_all(
    store: Store, bucket: str, referee: Referee, page: int, tallies: tuple[Counts, ...]
) -> None:
    async with aclosing(_content(store, bucket, page)) as content:
        async for item, _record in content:
            async with referee.removing(item):
                gone = await _remove(store, bucket, item)
            if gone:
                for tally in tallies:
                    tally.add(item.kind)


async def _remove(store: Store, bucket: str, item: Item) -> bool:
    """Remove one item with the delete of its kind; False if it was gone already."""
    try:
        if item.kind == "uploads":
            assert item.upload_id is not None
            await multipart.abort_multipart_upload(store, bucket, item.key, item.upload_id)
            return True
        if item.kind == "objects":
            return await objects.delete_object(store, bucket, item.key)
        gone = await versions.delete_version(store, bucket, item.key, item.version_id, _unlocked)
        return gone is not None
    except NoSuchUpload:  # completed or aborted meanwhile (a completed one is a new object)
        return False
    except ObjectLocked as exc:  # locked since the survey
        raise ContentRefused(locked=1, keys=(item.key,)) from exc


def _unlocked(record: ObjectRecord, _history: list[ObjectRecord]) -> None:
    objectlock.check_delete(record, bypass=False, moment=datetime.now(UTC))


async def _empty(store: Store, bucket: str) -> bool:
    """Nothing left: no object, version or delete marker, no upload in flight."""
    if await store.index.scan_versions(bucket, "", inclusive=True, limit=1):
        return False
    return not await store.index.list_uploads(bucket, "", "", "", 1)


async def _content(
    store: Store, bucket: str, page: int
) -> AsyncGenerator[tuple[Item, ObjectRecord | None]]:
    """Everything in the bucket, uploads first (one completing later would make a new
    object), then its objects, or its versions oldest first within a key (so a key's tag
    never moves to a version about to go); a page of index rows at a time."""
    key, upload_id = "", ""
    while batch := await store.index.list_uploads(bucket, "", key, upload_id, page):
        for upload in batch:
            yield Item("uploads", ABORT_UPLOAD, upload.key, upload_id=upload.upload_id), None
        key, upload_id = batch[-1].key, batch[-1].upload_id
    versioned = versions.status(await buckets.get_bucket(store, bucket)) is not None
    cursor, inclusive = "", True
    while True:
        if versioned:
            rows = await store.index.scan_versions(bucket, cursor, inclusive=inclusive, limit=page)
        else:
            rows = await store.index.scan(bucket, cursor, inclusive=inclusive, limit=page)
        if not rows:
            return
        for record in _oldest_first(rows) if versioned else rows:
            yield _item(record, versioned), record
        cursor, inclusive = rows[-1].key, False


def _oldest_first(rows: list[ObjectRecord]) -> Iterator[ObjectRecord]:
    """``scan_versions`` gives each key's versions newest first; removal takes them in
    reverse."""
    for _key, history in itertools.groupby(rows, key=lambda record: record.key):
        yield from reversed(list(history))


def _item(record: ObjectRecord, versioned: bool) -> Item:
    if not versioned:
        return Item("objects", DELETE_OBJECT, record.key)
    kind: Kind = "delete_markers" if record.delete_marker else "versions"
    return Item(kind, DELETE_VERSION, record.key, version_id=record.version_id)
