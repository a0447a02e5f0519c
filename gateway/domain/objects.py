"""Object operations: bytes and manifest to the registry first, then the index commit.

A crash anywhere before the commit leaves the previous version visible; the per-key lock
keeps the registry's tag and the index row on the same manifest when writers race.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from gateway.domain import mapping, objectlock, versions
from gateway.domain.buckets import get_bucket
from gateway.domain.conditions import (
    RangeRequest,
    ReadConditions,
    WriteConditions,
    check_copy_source,
    check_read,
    check_write,
)
from gateway.domain.errors import (
    ContentSHA256Mismatch,
    DeletedKey,
    DeleteMarkerVersion,
    InvalidArgument,
    InvalidPartNumber,
    InvalidRequest,
    NoSuchKey,
)
from gateway.domain.hashing import HashingReader
from gateway.domain.names import check_key
from gateway.domain.ports.registry import RegistryDigestInvalid, RegistryError, RegistryNotFound
from gateway.domain.store import Store
from gateway.domain.tagging import forget_tagging
from gateway.domain.values import NO_LOCK, Layer, ObjectLock, ObjectRecord
from gateway.domain.version_ids import named_version, parse_version_id

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
NO_CONDITIONS = ReadConditions()
NO_WRITE_CONDITIONS = WriteConditions()


@dataclass(frozen=True)
class NewObject:
    """What a writer supplies besides the bytes."""

    headers: dict[str, str]
    metadata: dict[str, str]
    content_md5: str | None = None  # base64, as sent in Content-MD5
    content_sha256: str | None = None  # hex, when the client signed the payload
    conditions: WriteConditions = field(default_factory=WriteConditions)
    # Flexible checksums to compute, and a way to read the values the client declared once
    # the body is over (headers are known up front, aws-chunked trailers only at the end).
    checksum_algorithms: tuple[str, ...] = ()
    declared_checksums: Callable[[], dict[str, str]] = dict
    tags: dict[str, str] = field(default_factory=dict)  # x-amz-tagging, validated
    lock: ObjectLock = NO_LOCK  # x-amz-object-lock-* (a lock bucket's default otherwise)


def now() -> datetime:
    return mapping.truncate_to_millis(datetime.now(UTC))


def _sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(binascii.unhexlify(hex_digest)).decode()


async def _existing(store: Store, bucket: str, key: str) -> ObjectRecord:
    await get_bucket(store, bucket)
    record = await store.index.get_object(bucket, key)
    if record is None:
        raise await _missing(store, bucket, key)
    return record


async def _missing(store: Store, bucket: str, key: str) -> NoSuchKey:
    """NoSuchKey; in a versioned bucket whose key's latest version is a delete marker, one
    that names it (S3 answers ``x-amz-delete-marker: true`` and its version id)."""
    if versions.status(await get_bucket(store, bucket)) is not None:
        marker = await versions.latest_marker(store, bucket, key)
        if marker is not None:
            return DeletedKey(marker.version)
    return NoSuchKey()


async def commit(
    store: Store,
    record: ObjectRecord,
    conditions: WriteConditions,
    write: Callable[[ObjectRecord], Awaitable[None]] | None = None,
) -> ObjectRecord:
    """Push the manifest under the key's tag and commit the index row, atomically per key.

    ``write`` replaces the plain index write when more must commit in the same transaction
    (a multipart upload's end). A bucket whose versioning was ever set keeps versions
    (``versions.commit``); one never versioned writes as it always did."""
    state = versions.status(await get_bucket(store, record.bucket))
    if state is not None:
        return await versions.commit(store, record, conditions, state, write)
    record = replace(record, version_id=None)
    location = mapping.locate(store.prefix, record.bucket, record.key)
    manifest = mapping.object_manifest(record)
    record = replace(record, manifest_digest="sha256:" + hashlib.sha256(manifest).hexdigest())
    async with _hold(store, record, conditions):
        current = await store.index.get_object(record.bucket, record.key)
        check_write(conditions, current)
        await store.registry.push_manifest(
            location.repository, location.tag, manifest, mapping.MANIFEST_MEDIA_TYPE
        )
        try:
            await (write or store.index.put_object)(record)
        except Exception:
            await _untag(store, location, record.manifest_digest, current)
            raise
        if current is not None and current.tagging is not None:
            await forget_tagging(store, location.repository, current)  # the old version's tags
        if current is not None and current.manifest_digest != record.manifest_digest:
            await forget_manifest(store, location.repository, current.manifest_digest)
            await store.supply.retire(store, record.bucket, record.key, keep=record.manifest_digest)
    await store.supply.committed(store, record)
    return record


def _hold(
    store: Store, record: ObjectRecord, conditions: WriteConditions
) -> contextlib.AbstractAsyncContextManager[None]:
    return versions.write_lock(store, record.bucket, record.key, conditions)


async def _untag(
    store: Store, location: mapping.ObjectLocation, pushed: str, current: ObjectRecord | None
) -> None:
    """The index refused the commit: give the key's tag back to the live version (or drop
    the new manifest), so that registry and index tell one story again and a ``reindex``
    never publishes a write the client was told failed. Best effort; a process that dies
    here leaves the tag on the new manifest, which DeleteObject still removes."""
    with contextlib.suppress(RegistryError):
        if current is None:
            await store.registry.delete_manifest(location.repository, pushed)
            return
        live = await store.registry.get_manifest(location.repository, current.manifest_digest)
        await store.registry.push_manifest(
            location.repository, location.tag, live.body, live.media_type
        )


async def forget_manifest(store: Store, repository: str, digest: str) -> None:
    """Best effort: an old version's manifest left behind costs space, never correctness."""
    with contextlib.suppress(RegistryError):
        await store.registry.delete_manifest(repository, digest)


async def stream_blob(
    store: Store,
    repository: str,
    body: AsyncIterable[bytes],
    size: int | None,
    new: NewObject,
    limit: int,
) -> tuple[Layer, HashingReader]:
    """Stream a body into a new blob of ``repository``, hashed and verified on the way:
    what PutObject and UploadPart share. ``size`` None (a plain chunked body): the layer's
    size is what arrived, and more than ``limit`` bytes stops the stream (EntityTooLarge)."""
    await store.registry.ensure_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    reader = HashingReader(
        body,
        expected_size=size,
        limit=limit,
        content_md5=new.content_md5,
        content_sha256=new.content_sha256,
        algorithms=new.checksum_algorithms,
    )
    declared = new.content_sha256 or (EMPTY_SHA256 if size == 0 else None)
    try:
        digest = await store.registry.push_blob(
            repository,
            reader,
            size,
            digest=f"sha256:{declared}" if declared else None,
            final_digest=lambda: reader.digest,
        )
    except RegistryDigestInvalid as exc:
        raise ContentSHA256Mismatch() from exc
    reader.verify(new.declared_checksums())
    return Layer(digest=digest, size=reader.size), reader


async def put_object(
    store: Store,
    bucket: str,
    key: str,
    body: AsyncIterable[bytes],
    size: int | None,
    new: NewObject,
) -> ObjectRecord:
    """``size`` None: a body of unknown length, held to the store's largest object."""
    check_key(key)
    lock = objectlock.for_write(await get_bucket(store, bucket), new.lock, now())
    if new.conditions.if_none_match is not None or new.conditions.if_match is not None:
        # Fail fast before moving bytes; checked again under the lock before the commit.
        check_write(new.conditions, await store.index.get_object(bucket, key))
    location = mapping.locate(store.prefix, bucket, key)
    layer, reader = await stream_blob(
        store, location.repository, body, size, new, store.max_object_size
    )
    record = ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="",
        size=layer.size,
        etag=f'"{reader.md5_hex}"',
        last_modified=now(),
        layers=(layer,),
        headers=new.headers,
        metadata=new.metadata,
        checksums={"SHA256": _sha256_b64(reader.sha256_hex), **reader.checksum_values},
        tags=new.tags,
        lock=lock,
    )
    return await commit(store, record, new.conditions)


async def head_object(
    store: Store, bucket: str, key: str, conditions: ReadConditions = NO_CONDITIONS
) -> ObjectRecord:
    record = await _existing(store, bucket, key)
    check_read(conditions, record)
    return record


@dataclass(frozen=True)
class ObjectAttributes:
    """GetObjectAttributes: the object, and one page of its parts (multipart objects)."""

    record: ObjectRecord
    parts: tuple[tuple[int, Layer], ...]  # (part number, layer) after the marker
    truncated: bool

    @property
    def multipart(self) -> bool:
        return "-" in self.record.etag


async def get_object_attributes(
    store: Store,
    bucket: str,
    key: str,
    part_marker: int,
    max_parts: int,
    version: str | None = None,
) -> ObjectAttributes:
    """The object's record (or its version ``version``, the ``versionId`` as sent) and its
    parts numbered after ``part_marker``, at most ``max_parts`` of them (a completed object's
    parts are its layers, numbered from 1).
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html"""
    if version is not None:
        record = await named_version(store, bucket, key, version)
    else:
        record = await _existing(store, bucket, key)
    numbered = list(enumerate(record.layers, start=1))[part_marker:]
    return ObjectAttributes(record, tuple(numbered[:max_parts]), len(numbered) > max_parts)


class ObjectReader:
    """The bytes of one object, or of a span of it, opened before the response starts."""

    def __init__(
        self,
        store: Store,
        record: ObjectRecord,
        span: tuple[int, int],
        referrers: dict[str, int] | None = None,
    ) -> None:
        self._store = store
        self._record = record
        self.first, self.last = span
        # How many signatures, SBOMs and attestations this version has (read with the record).
        self.referrers = referrers or {}
        self._repository = mapping.locate(store.prefix, record.bucket, record.key).repository

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def _pieces(self) -> list[tuple[Layer, int, int]]:
        """The (layer, first, last) spans, in layer coordinates, that cover the request."""
        pieces, offset = [], 0
        for layer in self._record.layers:
            start, end = offset, offset + layer.size - 1
            if layer.size and end >= self.first and start <= self.last:
                pieces.append((layer, max(self.first, start) - start, min(self.last, end) - start))
            offset += layer.size
        return pieces

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        for layer, first, last in self._pieces():
            whole = first == 0 and last == layer.size - 1
            async with self._store.registry.open_blob(
                self._repository, layer.digest, None if whole else (first, last)
            ) as blob:
                skip = first if (blob.status == 200 and not whole) else 0
                remaining = last - first + 1
                async for chunk in blob:
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                    if len(chunk) > remaining:
                        chunk = chunk[:remaining]
                    if chunk:
                        remaining -= len(chunk)
                        yield chunk
                    if remaining == 0:
                        break


def part_span(record: ObjectRecord, part_number: int) -> tuple[int, int]:
    """The inclusive byte span of part ``part_number`` (a single-part object has part 1)."""
    if not 1 <= part_number <= len(record.layers):
        raise InvalidPartNumber()
    first = sum(layer.size for layer in record.layers[: part_number - 1])
    return first, first + record.layers[part_number - 1].size - 1


async def get_object(
    store: Store,
    bucket: str,
    key: str,
    conditions: ReadConditions = NO_CONDITIONS,
    byte_range: RangeRequest | None = None,
    part_number: int | None = None,
    *,
    download: bool = True,
    check: Callable[[ReadConditions, ObjectRecord], None] = check_read,
    version: str | None = None,
) -> tuple[ObjectRecord, ObjectReader]:
    """The object (or its version ``version``, the ``versionId`` parameter as sent), opened
    for reading; a ``download`` (not a HEAD) of a ``require-signature`` bucket's object needs
    a trusted signature of that version. ``check`` evaluates the conditions (a copy's
    source: :func:`check_copy_source`)."""
    bucket_record = await get_bucket(store, bucket)
    if version is not None:
        record = await named_version(store, bucket, key, version)
        counts = await _counts(store, record)
    else:
        found = await store.index.get_object_counted(bucket, key, store.supply.referrer_kinds)
        if found is None:
            raise await _missing(store, bucket, key)
        record, counts = found
    check(conditions, record)
    if download:
        await store.supply.gate(store, bucket_record, record)
    if part_number is not None:
        span = part_span(record, part_number)
    elif byte_range is not None:
        span = byte_range.resolve(record.size)
    else:
        span = (0, record.size - 1)
    return record, ObjectReader(store, record, span, counts)


async def _counts(store: Store, record: ObjectRecord) -> dict[str, int]:
    """How many referrers of each kind one version has (a version's own, not the key's)."""
    kinds = store.supply.referrer_kinds
    if not kinds:
        return {}
    rows = await store.index.list_referrers(record.bucket, record.key, record.manifest_digest)
    return {kind: sum(1 for row in rows if row.kind == kind) for kind in kinds}


@dataclass(frozen=True)
class Deleted:
    """What DeleteObject answers: the version id it names (None: no header) and whether
    that is a delete marker."""

    version_id: str | None = None
    delete_marker: bool = False


async def delete(
    store: Store, bucket: str, key: str, version: str | None = None, *, bypass: bool = False
) -> Deleted:
    """DeleteObject. Without ``version`` (the ``versionId`` parameter as sent) a versioned
    bucket's key gets a delete marker; with it that one version goes for good, and success
    is answered whether or not it existed (as S3 does), unless Object Lock keeps it
    (``bypass``: the caller may and did ask to bypass GOVERNANCE retention).
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html"""
    state = versions.status(await get_bucket(store, bucket))
    check_key(key)
    if version is not None:
        version_id = parse_version_id(version)
        if state is None and version_id is None:
            await delete_object(store, bucket, key)
            return Deleted(mapping.NULL_VERSION)
        gone = await versions.delete_version(
            store,
            bucket,
            key,
            version_id,
            lambda target, _: objectlock.check_delete(target, bypass=bypass, moment=now()),
        )
        return Deleted(version, gone is not None and gone.delete_marker)
    if state is None:
        await delete_object(store, bucket, key)
        return Deleted()
    marker = versions.delete_marker(bucket, key, now())
    marker = await versions.commit(store, marker, NO_WRITE_CONDITIONS, state)
    return Deleted(marker.version, True)


async def delete_object(store: Store, bucket: str, key: str, *, only: str | None = None) -> bool:
    """S3 answers success whether or not the key existed.

    The registry goes first: a registry failure answers an error and leaves the object as it
    was (a retry finishes the job), so a delete answered success can never be undone by a
    ``reindex``. The key's tag is resolved too: a version a failed write left tagged, never
    committed, goes with it. With ``only`` (a manifest digest), the key is deleted only while
    that manifest is its live version (a lifecycle expiry must not take a newer write);
    returns whether it was."""
    await get_bucket(store, bucket)
    check_key(key)
    async with store.locks.hold((bucket, key)):
        location = mapping.locate(store.prefix, bucket, key)
        current = await store.index.get_object(bucket, key)
        if only is not None and (current is None or current.manifest_digest != only):
            return False
        if current is not None:  # Object Lock: a locked version is removed by nobody here
            objectlock.check_delete(current, bypass=False, moment=now())
        doomed = {current.manifest_digest} if current is not None else set()
        with contextlib.suppress(RegistryNotFound):
            tagged = await store.registry.get_manifest(location.repository, location.tag)
            doomed.add(tagged.digest)
        if current is not None:
            await forget_tagging(store, location.repository, current)
        for digest in sorted(doomed):
            await store.registry.delete_manifest(location.repository, digest)
        if current is not None:
            await store.index.delete_object(bucket, key)
            await store.supply.retire(store, bucket, key, keep=None)
        return True


@contextlib.contextmanager
def copy_source_version() -> Iterator[None]:
    """A copy source that names a delete marker by its version id is a bad request (S3)."""
    try:
        yield
    except DeleteMarkerVersion as exc:
        raise InvalidRequest(
            "The source of a copy request may not specifically refer to a delete marker "
            "by version id."
        ) from exc


async def copy_object(
    store: Store,
    source: tuple[str, str],
    bucket: str,
    key: str,
    *,
    replace_metadata: NewObject | None,
    tags: dict[str, str] | None = None,
    source_conditions: ReadConditions = NO_CONDITIONS,
    conditions: WriteConditions = NO_WRITE_CONDITIONS,
    source_version: str | None = None,
    lock: ObjectLock = NO_LOCK,
) -> tuple[ObjectRecord, ObjectRecord]:
    """Copy by reference: the layers are mounted into the target repository, not re-sent.
    ``tags`` replace the source's tag set (x-amz-tagging-directive: REPLACE); None copies it.
    ``source_version``: the source's ``versionId`` as sent. Returns (source, copy)."""
    check_key(key)
    if source_version is None:
        original = await _existing(store, source[0], source[1])
    else:
        with copy_source_version():
            original = await named_version(store, source[0], source[1], source_version)
    check_copy_source(source_conditions, original)
    await store.supply.gate(store, await get_bucket(store, source[0]), original)
    lock = objectlock.for_write(await get_bucket(store, bucket), lock, now())
    if source == (bucket, key) and replace_metadata is None and source_version is None:
        raise InvalidArgument(
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes."
        )
    target = mapping.locate(store.prefix, bucket, key).repository
    origin = mapping.locate(store.prefix, *source).repository
    await store.registry.ensure_blob(target, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    for layer in original.layers:
        if not await store.registry.mount_blob(target, layer.digest, origin):
            await _copy_layer(store, origin, target, layer)
    record = replace(
        original,
        bucket=bucket,
        key=key,
        manifest_digest="",
        last_modified=now(),
        headers=replace_metadata.headers if replace_metadata else original.headers,
        metadata=replace_metadata.metadata if replace_metadata else original.metadata,
        tags=original.tags if tags is None else tags,
        tagging=None,
        version_id=None,
        lock=lock,  # the copy's own (S3 does not copy the source's lock)
    )
    return original, await commit(store, record, conditions)


async def _copy_layer(store: Store, origin: str, target: str, layer: Layer) -> None:
    """Fallback for registries that refuse a mount: stream the blob across."""
    try:
        async with store.registry.open_blob(origin, layer.digest) as blob:
            await store.registry.push_blob(
                target, blob, layer.size, digest=layer.digest, final_digest=lambda: layer.digest
            )
    except RegistryNotFound as exc:  # pragma: no cover - the index pointed at a lost blob
        raise NoSuchKey("The source object's bytes are missing from the registry.") from exc
