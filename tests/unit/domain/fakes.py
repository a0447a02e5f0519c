"""In-memory ports for domain tests: a registry and an index that implement, with the real
signatures, the methods ``gateway/domain`` calls on ``store.registry`` and ``store.index`` for
objects, versions of versioned buckets, multipart uploads, referrers, bucket settings and
``reindex`` (not copies, access keys or object listings beyond ``scan``/``scan_versions``).

Both count their calls in one shared ``Faults``: armed with ``n``, the n-th call of either
port raises instead of doing anything, so a test can stop an operation at each of its steps.
The registry behaves as Zot does as the gateway runs it: the referrers API (a referrer push
answers ``OCI-Subject``), a manifest naming a blob the repository lacks is refused, deleting a
manifest by digest deletes the tags that name it, and manifests (tagged or not) and blobs stay
until deleted. Each index method is one transaction, as in ``SqlIndex``; the index keeps a
key's live object in ``objects`` and its other versions (noncurrent ones, delete markers) in
``versions``, as ``gateway/index/versions.py`` does with its two tables.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Literal

import sqlalchemy as sa

from gateway.domain.errors import NoSuchUpload
from gateway.domain.ports.registry import (
    Manifest,
    PushedManifest,
    RegistryDigestInvalid,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)
from gateway.domain.values import (
    BucketRecord,
    IndexContents,
    ObjectLock,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)
from gateway.registry.client import descriptor_of, referrers_tag

Mode = Literal["crash", "error"]


class Crash(BaseException):
    """The gateway process died at this call: no handler in the product may catch it (it
    derives from BaseException, as nothing survives a dying process), nothing after it runs."""


class Faults:
    """The call counter both ports share. ``arm(n, mode)`` makes the n-th call from then on
    raise, once: ``crash`` raises ``Crash``; ``error`` raises what the port raises when its
    backend fails (RegistryUnavailable from the registry, SQLAlchemy's OperationalError
    from the index), which the product may handle."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._fail_at: int | None = None
        self._mode: Mode = "crash"
        self.failed: str | None = None  # the call that raised

    def arm(self, n: int, mode: Mode) -> None:
        self.calls, self._fail_at, self._mode, self.failed = [], n, mode, None

    def disarm(self) -> None:
        self._fail_at = None

    def step(self, port: Literal["registry", "index"], method: str) -> None:
        self.calls.append(f"{port}.{method}")
        if len(self.calls) != self._fail_at:
            return
        self._fail_at = None
        self.failed = self.calls[-1]
        if self._mode == "crash":
            raise Crash(self.failed)
        if port == "registry":
            raise RegistryUnavailable(f"{method}: HTTP 503 (injected)", status=503)
        raise sa.exc.OperationalError(method, None, Exception("database is locked (injected)"))


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeBlob:
    """What ``open_blob`` yields: status, length and the bytes (206 for a range)."""

    def __init__(self, data: bytes, byte_range: tuple[int, int] | None) -> None:
        if byte_range is not None:
            data = data[byte_range[0] : byte_range[1] + 1]
        self.status = 200 if byte_range is None else 206
        self.length = len(data)
        self._data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), 7):  # in pieces, as a stream comes
            yield self._data[start : start + 7]


class FakeRegistry:
    """The registry port (``RegistryClient``) over dicts, repository by repository."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.manifests: dict[tuple[str, str], tuple[bytes, str]] = {}  # body, media type
        self.tagged: dict[tuple[str, str], str] = {}  # (repository, tag) -> digest

    def _step(self, method: str) -> None:
        self.faults.step("registry", method)

    # -- blobs -------------------------------------------------------------------------------

    async def ensure_blob(self, repository: str, data: bytes, digest: str) -> None:
        self._step("ensure_blob")
        assert _sha256(data) == digest
        self.blobs.setdefault((repository, digest), data)

    async def blob_exists(self, repository: str, digest: str) -> bool:
        self._step("blob_exists")
        return (repository, digest) in self.blobs

    async def push_small_blob(self, repository: str, data: bytes, digest: str) -> None:
        self._step("push_small_blob")
        if _sha256(data) != digest:
            raise RegistryDigestInvalid("upload blob: DIGEST_INVALID", status=400)
        self.blobs[(repository, digest)] = data

    async def push_blob(
        self,
        repository: str,
        body: AsyncIterable[bytes],
        size: int | None,
        *,
        digest: str | None,
        final_digest: Callable[[], str],
    ) -> str:
        self._step("push_blob")
        data = b"".join([chunk async for chunk in body])
        computed = _sha256(data)
        claimed = digest if digest is not None else final_digest()
        if computed != claimed or (size is not None and len(data) != size):
            raise RegistryDigestInvalid("upload blob: DIGEST_INVALID", status=400)
        self.blobs[(repository, computed)] = data
        return computed

    @asynccontextmanager
    async def open_blob(
        self, repository: str, digest: str, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[FakeBlob]:
        self._step("open_blob")
        data = self.blobs.get((repository, digest))
        if data is None:
            raise RegistryNotFound("get blob: BLOB_UNKNOWN", status=404)
        yield FakeBlob(data, byte_range)

    # -- manifests ---------------------------------------------------------------------------

    def _store_manifest(self, repository: str, body: bytes, media_type: str) -> str:
        document = json.loads(body)
        named = [document.get("config"), *document.get("layers", [])]
        for descriptor in filter(None, named):
            if (repository, descriptor["digest"]) not in self.blobs:
                raise RegistryRejected(
                    "push manifest: MANIFEST_INVALID blob unknown",
                    status=400,
                    code="MANIFEST_INVALID",
                )
        digest = _sha256(body)
        self.manifests[(repository, digest)] = (body, media_type)
        return digest

    async def push_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        self._step("push_manifest")
        digest = self._store_manifest(repository, body, media_type)
        if not reference.startswith("sha256:"):
            self.tagged[(repository, reference)] = digest
        return digest

    async def get_manifest(self, repository: str, reference: str) -> Manifest:
        self._step("get_manifest")
        digest = self.tagged.get((repository, reference), reference)
        found = self.manifests.get((repository, digest))
        if found is None:
            raise RegistryNotFound("get manifest: MANIFEST_UNKNOWN", status=404)
        return Manifest(body=found[0], digest=digest, media_type=found[1])

    async def delete_manifest(self, repository: str, digest: str) -> None:
        self._step("delete_manifest")
        self._delete(repository, digest)

    def _delete(self, repository: str, digest: str) -> None:
        self.manifests.pop((repository, digest), None)
        for name, target in list(self.tagged.items()):
            if name[0] == repository and target == digest:
                del self.tagged[name]

    # -- referrers ---------------------------------------------------------------------------

    async def push_referrer(self, repository: str, body: bytes) -> PushedManifest:
        self._step("push_referrer")
        document = json.loads(body)
        digest = self._store_manifest(repository, body, document["mediaType"])
        return PushedManifest(digest=digest, subject=document["subject"]["digest"])

    async def remove_referrer(self, repository: str, subject: str, digest: str) -> None:
        self._step("remove_referrer")
        self._delete(repository, digest)

    async def drop_referrers_tag(self, repository: str, subject: str) -> None:
        self._step("drop_referrers_tag")
        tagged = self.tagged.get((repository, referrers_tag(subject)))
        if tagged is not None:  # never, with the referrers API; kept for fidelity
            self._delete(repository, tagged)

    async def referrers(
        self, repository: str, subject: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]]:
        self._step("referrers")
        found = []
        for (name, _), (body, _) in sorted(self.manifests.items()):
            document = json.loads(body)
            if name != repository or not isinstance(document.get("subject"), dict):
                continue
            if document["subject"].get("digest") != subject:
                continue
            descriptor = descriptor_of(body)
            if artifact_type is None or descriptor.get("artifactType") == artifact_type:
                found.append(descriptor)
        return found

    # -- listings ----------------------------------------------------------------------------

    async def catalog(self) -> AsyncIterator[str]:
        self._step("catalog")
        names = {name for name, _ in self.blobs} | {name for name, _ in self.manifests}
        for name in sorted(names):
            yield name

    async def tags(self, repository: str) -> AsyncIterator[str]:
        self._step("tags")
        for tag in sorted(tag for name, tag in self.tagged if name == repository):
            yield tag


class FakeIndex:
    """The index port (``SqlIndex``) over dicts; each method is one transaction."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.buckets: dict[str, BucketRecord] = {}
        self.objects: dict[tuple[str, str], ObjectRecord] = {}
        # (bucket, key, VersionId as shown: "null" for the null version) -> a version that is
        # not its key's live object: a noncurrent version or a delete marker.
        self.versions: dict[tuple[str, str, str], ObjectRecord] = {}
        self.uploads: dict[str, UploadRecord] = {}
        self.results: dict[str, dict[str, Any]] = {}  # completed uploads' answers
        self.parts: dict[str, dict[int, PartRecord]] = {}
        self.referrer_rows: dict[tuple[str, str, str], ReferrerRecord] = {}

    def _step(self, method: str) -> None:
        self.faults.step("index", method)

    def clone(self) -> FakeIndex:
        """A copy of the rows, with a counter of its own (never armed)."""
        twin = FakeIndex(Faults())
        for name in (
            "buckets",
            "objects",
            "versions",
            "uploads",
            "results",
            "parts",
            "referrer_rows",
        ):
            setattr(twin, name, copy.deepcopy(getattr(self, name)))
        return twin

    # -- buckets -----------------------------------------------------------------------------

    async def create_bucket(self, record: BucketRecord) -> bool:
        self._step("create_bucket")
        if record.name in self.buckets:
            return False
        self.buckets[record.name] = record
        return True

    async def get_bucket(self, name: str) -> BucketRecord | None:
        self._step("get_bucket")
        return self.buckets.get(name)

    async def update_bucket(self, record: BucketRecord) -> None:
        self._step("update_bucket")
        self.buckets[record.name] = record

    async def list_buckets(self) -> list[BucketRecord]:
        self._step("list_buckets")
        return [self.buckets[name] for name in sorted(self.buckets)]

    # -- objects -----------------------------------------------------------------------------

    async def get_object(self, bucket: str, key: str) -> ObjectRecord | None:
        self._step("get_object")
        return self.objects.get((bucket, key))

    async def get_object_counted(
        self, bucket: str, key: str, kinds: tuple[str, ...]
    ) -> tuple[ObjectRecord, dict[str, int]] | None:
        self._step("get_object_counted")
        record = self.objects.get((bucket, key))
        if record is None:
            return None
        current = self._referrers_of(bucket, key, record.manifest_digest)
        return record, {kind: sum(1 for r in current if r.kind == kind) for kind in kinds}

    async def put_object(self, record: ObjectRecord) -> None:
        self._step("put_object")
        self._replace(record)

    def _replace(self, record: ObjectRecord) -> None:
        """``index.objects.replace_object``: ``record`` becomes the key's latest version; a
        live object of another version id becomes noncurrent, a version of the same id goes."""
        where = (record.bucket, record.key)
        previous = self.objects.pop(where, None)
        if previous is not None and previous.version_id != record.version_id:
            self.versions[(*where, previous.version)] = previous
        if previous is None or previous.version_id != record.version_id:
            self.versions.pop((*where, record.version), None)
        if record.delete_marker:
            self.versions[(*where, record.version)] = record
        else:
            self.objects[where] = record

    async def delete_object(self, bucket: str, key: str) -> ObjectRecord | None:
        self._step("delete_object")
        return self.objects.pop((bucket, key), None)

    async def scan(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        self._step("scan")
        keys = sorted(
            k for b, k in self.objects if b == bucket and (k > start or (inclusive and k == start))
        )
        return [self.objects[(bucket, key)] for key in keys[:limit]]

    # -- versions ----------------------------------------------------------------------------

    def _key_versions(self, bucket: str, key: str) -> list[ObjectRecord]:
        live = self.objects.get((bucket, key))
        older = [r for (b, k, _), r in self.versions.items() if (b, k) == (bucket, key)]
        older.sort(key=lambda r: (r.last_modified, r.version), reverse=True)
        return ([live] if live is not None else []) + older

    def _live_version(self, bucket: str, key: str, version_id: str | None) -> bool:
        live = self.objects.get((bucket, key))
        return live is not None and live.version_id == version_id

    async def key_versions(self, bucket: str, key: str) -> list[ObjectRecord]:
        self._step("key_versions")
        return self._key_versions(bucket, key)

    async def get_version(
        self, bucket: str, key: str, version_id: str | None
    ) -> ObjectRecord | None:
        self._step("get_version")
        if self._live_version(bucket, key, version_id):
            return self.objects[(bucket, key)]
        return self.versions.get((bucket, key, version_id or "null"))

    async def put_version(self, record: ObjectRecord) -> None:
        self._step("put_version")
        self._replace(record)

    async def retag_version(self, record: ObjectRecord) -> None:
        self._step("retag_version")
        self._change(
            record.bucket, record.key, record.version_id, tags=record.tags, tagging=record.tagging
        )

    def _change(self, bucket: str, key: str, version_id: str | None, **values: Any) -> bool:
        """Change one version's columns, live or not; whether there was one."""
        if self._live_version(bucket, key, version_id):
            self.objects[(bucket, key)] = replace(self.objects[(bucket, key)], **values)
            return True
        where = (bucket, key, version_id or "null")
        found = self.versions.get(where)
        if found is None or ("lock" in values and found.delete_marker):
            return False
        self.versions[where] = replace(found, **values)
        return True

    async def remove_version(self, bucket: str, key: str, version_id: str | None) -> None:
        self._step("remove_version")
        if self._live_version(bucket, key, version_id):
            del self.objects[(bucket, key)]
        self.versions.pop((bucket, key, version_id or "null"), None)
        remaining = self._key_versions(bucket, key)
        if remaining and not remaining[0].delete_marker and (bucket, key) not in self.objects:
            newest = self.versions.pop((bucket, key, remaining[0].version))
            self.objects[(bucket, key)] = newest

    async def scan_versions(
        self, bucket: str, start: str, *, inclusive: bool, limit: int
    ) -> list[ObjectRecord]:
        self._step("scan_versions")
        keys = {k for b, k in self.objects if b == bucket}
        keys |= {k for b, k, _ in self.versions if b == bucket}
        chosen = sorted(k for k in keys if k > start or (inclusive and k == start))[:limit]
        return [record for key in chosen for record in self._key_versions(bucket, key)]

    async def set_lock(
        self, bucket: str, key: str, version_id: str | None, lock: ObjectLock
    ) -> bool:
        self._step("set_lock")
        return self._change(bucket, key, version_id, lock=lock)

    # -- multipart uploads -------------------------------------------------------------------

    def _live(self, upload_id: str) -> UploadRecord | None:
        found = self.uploads.get(upload_id)
        return found if found is not None and not found.completed else None

    async def create_upload(self, record: UploadRecord) -> None:
        self._step("create_upload")
        assert record.upload_id not in self.uploads
        self.uploads[record.upload_id] = record

    async def get_upload(self, upload_id: str, *, live: bool = True) -> UploadRecord | None:
        self._step("get_upload")
        return self._live(upload_id) if live else self.uploads.get(upload_id)

    async def completed_upload(self, upload_id: str) -> dict[str, Any] | None:
        self._step("completed_upload")
        found = self.results.get(upload_id)
        return dict(found) if found is not None else None

    async def put_part(self, upload_id: str, part: PartRecord) -> PartRecord | None:
        self._step("put_part")
        if self._live(upload_id) is None:
            raise NoSuchUpload()
        parts = self.parts.setdefault(upload_id, {})
        previous = parts.get(part.part_number)
        parts[part.part_number] = part
        return previous

    async def list_parts(
        self, upload_id: str, after: int = 0, limit: int | None = None
    ) -> list[PartRecord]:
        self._step("list_parts")
        found = [p for n, p in sorted(self.parts.get(upload_id, {}).items()) if n > after]
        return found if limit is None else found[:limit]

    async def complete_upload(
        self, upload_id: str, record: ObjectRecord, result: dict[str, Any]
    ) -> None:
        self._step("complete_upload")
        upload = self._live(upload_id)
        if upload is None:
            raise NoSuchUpload()
        self.uploads[upload_id] = replace(upload, completed=True)
        self.results[upload_id] = dict(result)
        self._replace(record)
        self.parts.pop(upload_id, None)

    async def delete_upload(self, upload_id: str) -> list[PartRecord]:
        self._step("delete_upload")
        if self._live(upload_id) is None:
            raise NoSuchUpload()
        del self.uploads[upload_id]
        return [p for _, p in sorted(self.parts.pop(upload_id, {}).items())]

    # -- referrers ---------------------------------------------------------------------------

    def _referrers_of(self, bucket: str, key: str, subject: str) -> list[ReferrerRecord]:
        found = [
            r
            for (b, k, _), r in self.referrer_rows.items()
            if (b, k) == (bucket, key) and r.subject == subject
        ]
        return sorted(found, key=lambda r: (r.created, r.digest))

    async def put_referrer(self, record: ReferrerRecord) -> None:
        self._step("put_referrer")
        self.referrer_rows[(record.bucket, record.key, record.digest)] = record

    async def list_referrers(
        self,
        bucket: str,
        key: str,
        subject: str,
        *,
        kind: str | None = None,
        artifact_type: str | None = None,
    ) -> list[ReferrerRecord]:
        self._step("list_referrers")
        return [
            r
            for r in self._referrers_of(bucket, key, subject)
            if kind in (None, r.kind) and artifact_type in (None, r.artifact_type)
        ]

    async def get_referrer(
        self, bucket: str, key: str, subject: str, digest: str
    ) -> ReferrerRecord | None:
        self._step("get_referrer")
        found = self.referrer_rows.get((bucket, key, digest))
        return found if found is not None and found.subject == subject else None

    async def delete_referrer(self, bucket: str, key: str, digest: str) -> bool:
        self._step("delete_referrer")
        return self.referrer_rows.pop((bucket, key, digest), None) is not None

    async def delete_referrers(
        self, bucket: str, key: str, *, keep: str | None = None, only: str | None = None
    ) -> list[ReferrerRecord]:
        self._step("delete_referrers")
        gone = [
            r
            for (b, k, _), r in self.referrer_rows.items()
            if (b, k) == (bucket, key) and r.subject != keep and only in (None, r.subject)
        ]
        for r in gone:
            del self.referrer_rows[(r.bucket, r.key, r.digest)]
        return gone

    # -- reindex -----------------------------------------------------------------------------

    async def contents(self) -> IndexContents:
        self._step("contents")
        return IndexContents(
            buckets=tuple(self.buckets[name] for name in sorted(self.buckets)),
            objects=tuple(self.objects[where] for where in sorted(self.objects)),
            versions=tuple(self.versions[where] for where in sorted(self.versions)),
            referrers=tuple(self.referrer_rows[where] for where in sorted(self.referrer_rows)),
            uploads=tuple(self.uploads[upload] for upload in sorted(self.uploads)),
            parts=tuple(
                (upload, part)
                for upload in sorted(self.parts)
                for _, part in sorted(self.parts[upload].items())
            ),
        )

    async def replace_all(
        self,
        bucket_records: Iterable[BucketRecord],
        object_records: Iterable[ObjectRecord],
        referrer_records: Iterable[ReferrerRecord] = (),
        upload_records: Iterable[UploadRecord] = (),
        part_records: Iterable[tuple[str, PartRecord]] = (),
        version_records: Iterable[ObjectRecord] = (),
    ) -> None:
        """As ``SqlIndex.replace_all``: completed uploads' rows stay and win over a live
        upload of the same id rebuilt from a record manifest."""
        self._step("replace_all")
        self.buckets = {b.name: b for b in bucket_records}
        self.objects = {(o.bucket, o.key): o for o in object_records}
        self.versions = {(v.bucket, v.key, v.version): v for v in version_records}
        self.referrer_rows = {(r.bucket, r.key, r.digest): r for r in referrer_records}
        self.uploads = {i: u for i, u in self.uploads.items() if u.completed}
        fresh = [u for u in upload_records if u.upload_id not in self.uploads]
        self.uploads.update((u.upload_id, u) for u in fresh)
        live = {u.upload_id for u in fresh}
        self.parts = {}
        for upload_id, part in part_records:
            if upload_id in live:
                self.parts.setdefault(upload_id, {})[part.part_number] = part


class CountedIndex:
    """A real index (``SqlIndex`` over SQLite) whose every call first steps the shared
    ``Faults``, as ``FakeIndex``'s do: for operations whose index semantics (versions,
    uploads' listing, bucket deletion) the dicts above do not model."""

    def __init__(self, inner: Any, faults: Faults) -> None:
        self._inner, self._faults = inner, faults

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)
        if name.startswith("_") or not callable(method):
            return method

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self._faults.step("index", name)
            return await method(*args, **kwargs)

        return counted
