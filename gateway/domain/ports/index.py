"""The index port: S3's fast path, one short transaction per call.

The registry holds the truth and ``reindex`` rebuilds the index from it; a write's commit is
the moment an object becomes visible (DESIGN.md §3). ``gateway.index.SqlIndex`` is the adapter
(SQLAlchemy over SQLite or PostgreSQL). One protocol per table family; ``Index`` is all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from gateway.domain.values import (
    AccessKeyRecord,
    BucketRecord,
    IndexContents,
    ObjectLock,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)


class IndexBusy(Exception):
    """The index could not take the call in time: another writer held its lock past the
    wait (SQLite's ``busy_timeout``; PostgreSQL's ``lock_timeout`` or ``statement_timeout``
    where the database sets one). Nothing of the call was committed; answered 503
    SlowDown, which S3 clients retry with backoff."""


class BucketIndex(Protocol):
    async def create_bucket(self, record: BucketRecord) -> bool:
        """Insert the bucket; False if it exists already."""
        ...

    async def update_bucket(self, record: BucketRecord) -> None: ...

    async def get_bucket(self, name: str) -> BucketRecord | None: ...

    async def list_buckets(
        self, *, prefix: str = "", after: str = "", region: str | None = None, limit: int = 0
    ) -> list[BucketRecord]:
        """Buckets in name order (code points, as S3 lists them): those whose name starts with
        ``prefix``, comes after ``after`` and, unless None, lives in ``region``; at most
        ``limit`` of them (0: all)."""
        ...

    async def delete_bucket(self, name: str) -> tuple[list[UploadRecord], list[tuple[str, str]]]:
        """Remove an empty bucket and its uploads in flight; returns those uploads and the
        (key, part manifest digest) of their parts to release. BucketNotEmpty otherwise."""
        ...


class ObjectIndex(Protocol):
    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None: ...

    async def get_object_counted(
        self, bucket: str, key: str, kinds: tuple[str, ...]
    ) -> tuple[ObjectRecord, dict[str, int]] | None:
        """The object and how many referrers of each of ``kinds`` its current manifest has."""
        ...

    async def put_object(self, record: ObjectRecord) -> None:
        """Make ``record`` the live version of its key (the commit is the visibility point)."""
        ...

    async def delete_object(self, bucket: str, key: str) -> ObjectRecord | None: ...

    async def scan(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        """Up to ``limit`` objects of ``bucket`` in key order, from ``start`` on."""
        ...


class VersionIndex(Protocol):
    """Versions of keys in versioned buckets. The live object is ``get_object``'s row; the
    other versions and the delete markers are kept beside it."""

    async def key_versions(self, bucket: str, key: str) -> list[ObjectRecord]:
        """Every version of the key (objects and delete markers), newest first."""
        ...

    async def get_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> ObjectRecord | None:
        """One version (None: the null version), live or not, object or delete marker."""
        ...

    async def put_version(self, record: ObjectRecord) -> None:
        """Make ``record`` (an object or a delete marker) the key's latest version: the live
        object of another version id becomes noncurrent, one of the same id is replaced."""
        ...

    async def retag_version(self, record: ObjectRecord) -> None:
        """Replace the ``tags`` and ``tagging`` of one version (``record``), live or not."""
        ...

    async def remove_version(self, bucket: str, key: str, version_id: str | None) -> None:
        """Forget one version; the newest remaining object becomes live if it is the
        newest version."""
        ...

    async def scan_versions(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        """The versions of up to ``limit`` keys from ``start`` on, whole keys, in key order
        and newest first within a key."""
        ...

    async def set_lock(
        self, bucket: str, key: str, version_id: str | None, lock: ObjectLock
    ) -> bool:
        """Set one version's Object Lock state (live or not); False if there is no such
        version."""
        ...


class UploadIndex(Protocol):
    async def create_upload(self, record: UploadRecord) -> None: ...

    async def get_upload(self, upload_id: str, *, live: bool = True) -> UploadRecord | None:
        """A live upload; with ``live=False`` also a completed one whose answer is kept."""
        ...

    async def completed_upload(self, upload_id: str) -> dict[str, Any] | None: ...

    async def count_live_uploads(self) -> int:
        """How many uploads are in flight (neither completed nor aborted): a metric."""
        ...

    async def put_part(self, upload_id: str, part: PartRecord) -> PartRecord | None:
        """Record a part; returns the one of the same number it replaced. NoSuchUpload if
        the upload ended meanwhile."""
        ...

    async def list_parts(
        self, upload_id: str, after: int = 0, limit: int | None = None
    ) -> list[PartRecord]: ...

    async def list_uploads(
        self, bucket: str, prefix: str, key_marker: str, upload_id_marker: str, limit: int
    ) -> list[UploadRecord]: ...

    async def complete_upload(
        self, upload_id: str, record: ObjectRecord, result: dict[str, Any]
    ) -> None:
        """In one transaction: the object goes live, the upload is done, its parts go."""
        ...

    async def delete_upload(self, upload_id: str) -> list[PartRecord]: ...

    async def stale_uploads(self, before: datetime) -> list[UploadRecord]: ...

    async def forget_completed_uploads(self, before: datetime) -> int: ...


class AccessKeyIndex(Protocol):
    async def create_access_key(self, record: AccessKeyRecord) -> None: ...

    async def get_access_key(self, access_key_id: str) -> AccessKeyRecord | None: ...

    async def list_access_keys(self, owner: str) -> list[AccessKeyRecord]: ...

    async def revoke_access_key(self, access_key_id: str, owner: str, when: datetime) -> bool: ...


class ReferrerIndex(Protocol):
    async def put_referrer(self, record: ReferrerRecord) -> None: ...

    async def list_referrers(
        self,
        bucket: str,
        key: str,
        subject: str,
        *,
        kind: str | None = None,
        artifact_type: str | None = None,
    ) -> list[ReferrerRecord]: ...

    async def get_referrer(
        self, bucket: str, key: str, subject: str, digest: str
    ) -> ReferrerRecord | None: ...

    async def delete_referrer(self, bucket: str, key: str, digest: str) -> bool: ...

    async def delete_referrers(
        self, bucket: str, key: str, *, keep: str | None = None, only: str | None = None
    ) -> list[ReferrerRecord]:
        """Forget the key's referrers (but those of manifest ``keep``; or only those of
        manifest ``only``); returns them."""
        ...


class Index(
    BucketIndex, ObjectIndex, VersionIndex, UploadIndex, AccessKeyIndex, ReferrerIndex, Protocol
):
    async def ping(self) -> None: ...

    async def write_probe(self, name: str) -> None:
        """Write one row of the health table and commit: whether the index takes writes
        (the readiness probe), which a read alone does not tell."""
        ...

    async def close(self) -> None: ...

    async def replace_all(
        self,
        bucket_records: Iterable[BucketRecord],
        object_records: Iterable[ObjectRecord],
        referrer_records: Iterable[ReferrerRecord] = (),
        upload_records: Iterable[UploadRecord] = (),
        part_records: Iterable[tuple[str, PartRecord]] = (),
        version_records: Iterable[ObjectRecord] = (),
    ) -> None:
        """Swap the whole index for what was read from the registry, in one transaction."""
        ...

    async def contents(self) -> IndexContents:
        """Every row of the tables ``replace_all`` swaps, read and changed in nothing (for
        ``reindex --check``); the completed uploads are there too, marked ``completed``."""
        ...
