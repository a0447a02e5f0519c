"""Multipart uploads: each part is its own blob, the finished object lists them as layers.

Creating an upload pushes its record manifest (``u-<upload>``) before the index row commits,
so that ``reindex`` can bring the upload back. A part streams straight into the key's
repository (no staging, no re-read at the end) and a small manifest tagged ``p-<upload>-<n>``
keeps its blob from the registry's GC while the upload is live and records the part for
``reindex`` (mapping.py). Completing pushes the object manifest whose layers are the part
blobs in part order, then commits the object row and the upload's end in one index
transaction: the same visibility rule as PutObject (DESIGN.md §3). The upload's record and
part manifests go last, best effort: a leftover one costs space (and a ``reindex`` would
bring the upload back, for the sweeper to expire), never an object.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from awscrt import checksums as crt  # type: ignore[import-untyped]

from gateway.domain import mapping, objectlock, versions
from gateway.domain.buckets import get_bucket
from gateway.domain.conditions import (
    RangeRequest,
    ReadConditions,
    WriteConditions,
    check_copy_source,
)
from gateway.domain.errors import (
    BadDigest,
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    NoSuchUpload,
)
from gateway.domain.names import check_key
from gateway.domain.objects import (
    NewObject,
    commit,
    copy_source_version,
    forget_manifest,
    get_object,
    now,
    stream_blob,
)
from gateway.domain.store import Store
from gateway.domain.values import Layer, ObjectRecord, PartRecord, UploadRecord

MAX_PARTS = 10_000
MAX_PART_SIZE = 5 * 1024**3
CRCS = {"CRC32": (crt.combine_crc32, 4), "CRC32C": (crt.combine_crc32c, 4)}
CRCS["CRC64NVME"] = (crt.combine_crc64nvme, 8)
HASHES = {"SHA1": "sha1", "SHA256": "sha256"}
COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"


@dataclass(frozen=True)
class RequestedPart:
    """One ``<Part>`` of a CompleteMultipartUpload body."""

    part_number: int
    etag: str
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> base64


@dataclass(frozen=True)
class Completed:
    """What CompleteMultipartUpload answers (again, if repeated)."""

    bucket: str
    key: str
    etag: str
    checksums: dict[str, str]
    checksum_type: str | None
    version: str | None = None  # x-amz-version-id (``null`` too); None: never versioned

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "checksums": self.checksums,
            "checksum_type": self.checksum_type,
            "version": self.version,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Completed:
        return cls(
            bucket=value["bucket"],
            key=value["key"],
            etag=value["etag"],
            checksums=dict(value["checksums"]),
            checksum_type=value["checksum_type"],
            version=value.get("version"),  # absent from answers kept before versioning
        )


def new_upload_id() -> str:
    """Sortable by start time (list order), unguessable by anyone else."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(12)}"


def checksum_type_for(algorithm: str | None, requested: str | None) -> str | None:
    """S3's rules: CRC64NVME is full-object only, the SHAs composite only; default by type."""
    if algorithm is None:
        if requested:
            raise InvalidRequest(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None
    chosen = (requested or "").upper() or (FULL_OBJECT if algorithm == "CRC64NVME" else COMPOSITE)
    if chosen not in (COMPOSITE, FULL_OBJECT):
        raise InvalidRequest(f"Unsupported checksum type {requested}.")
    if (chosen == FULL_OBJECT and algorithm in HASHES) or (
        chosen == COMPOSITE and algorithm == "CRC64NVME"
    ):
        raise InvalidRequest(
            f"The {chosen} checksum type cannot be used with the {algorithm.lower()} "
            "checksum algorithm."
        )
    return chosen


async def create_multipart_upload(
    store: Store,
    bucket: str,
    key: str,
    new: NewObject,
    checksum_algorithm: str | None = None,
    checksum_type: str | None = None,
    length: int | None = None,
) -> UploadRecord:
    check_key(key)
    # Lock headers on a bucket without Object Lock are refused now, as PutObject's are; the
    # bucket's default retention is applied at Complete, to the version it makes.
    objectlock.for_write(await get_bucket(store, bucket), new.lock, now())
    upload = UploadRecord(
        upload_id=new_upload_id(),
        bucket=bucket,
        key=key,
        initiated=now(),
        headers=new.headers,
        metadata=new.metadata,
        checksum_algorithm=checksum_algorithm,
        checksum_type=checksum_type_for(checksum_algorithm, checksum_type),
        length=length,
        tags=new.tags,
        lock=new.lock,
    )
    repository = mapping.locate(store.prefix, bucket, key).repository
    await store.registry.ensure_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
    await store.registry.push_manifest(
        repository,
        mapping.upload_tag(upload.upload_id),
        mapping.upload_manifest(upload),
        mapping.MANIFEST_MEDIA_TYPE,
    )
    await store.index.create_upload(upload)  # the moment the upload exists
    return upload


async def live_upload(store: Store, bucket: str, key: str, upload_id: str) -> UploadRecord:
    await get_bucket(store, bucket)
    upload = await store.index.get_upload(upload_id)
    if upload is None or upload.bucket != bucket or upload.key != key:
        raise NoSuchUpload()
    return upload


def check_part_number(part_number: int) -> None:
    if not 1 <= part_number <= MAX_PARTS:
        raise InvalidArgument("Part number must be an integer between 1 and 10000, inclusive")


async def upload_part(
    store: Store,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    body: AsyncIterable[bytes],
    size: int | None,
    new: NewObject,
) -> tuple[PartRecord, str | None]:
    """Store one part; also returns the algorithm its ``checksum`` is in (the upload's, else
    the one the client sent), so that the edge can echo it. ``size`` None: a body of unknown
    length, held to the largest part while it streams."""
    check_part_number(part_number)
    if size is not None and size > MAX_PART_SIZE:
        raise EntityTooLarge()
    upload = await live_upload(store, bucket, key, upload_id)
    algorithms = set(new.checksum_algorithms)
    if upload.checksum_algorithm is not None:
        wrong = algorithms - {upload.checksum_algorithm}
        if wrong:
            raise InvalidRequest(
                f"Checksum Type mismatch occurred, expected checksum Type: "
                f"{upload.checksum_algorithm.lower()}, actual checksum Type: "
                f"{sorted(wrong)[0].lower()}"
            )
        algorithms.add(upload.checksum_algorithm)
    algorithm = upload.checksum_algorithm or (sorted(algorithms)[0] if algorithms else None)
    new = NewObject(
        headers={},
        metadata={},
        content_md5=new.content_md5,
        content_sha256=new.content_sha256,
        checksum_algorithms=tuple(sorted(algorithms)),
        declared_checksums=new.declared_checksums,
    )
    part = await _store_part(store, upload, part_number, body, size, new, algorithm)
    return part, algorithm


async def upload_part_copy(
    store: Store,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
    source: tuple[str, str],
    byte_range: RangeRequest | None,
    source_conditions: ReadConditions,
    source_version: str | None = None,
) -> tuple[ObjectRecord, PartRecord]:
    """UploadPartCopy: the source's bytes (or a range of them; of its version
    ``source_version``, the ``versionId`` as sent) become a new part blob. Returns (source,
    part)."""
    check_part_number(part_number)
    upload = await live_upload(store, bucket, key, upload_id)
    with copy_source_version():
        original, reader = await get_object(
            store,
            source[0],
            source[1],
            source_conditions,
            byte_range,
            check=check_copy_source,
            version=source_version,
        )
    if reader.length > MAX_PART_SIZE:
        raise EntityTooLarge()
    algorithms = (upload.checksum_algorithm,) if upload.checksum_algorithm else ()
    new = NewObject(headers={}, metadata={}, checksum_algorithms=algorithms)
    part = await _store_part(
        store, upload, part_number, reader.chunks(), reader.length, new, upload.checksum_algorithm
    )
    return original, part


async def _store_part(
    store: Store,
    upload: UploadRecord,
    part_number: int,
    body: AsyncIterable[bytes],
    size: int | None,
    new: NewObject,
    algorithm: str | None,
) -> PartRecord:
    repository = mapping.locate(store.prefix, upload.bucket, upload.key).repository
    layer, reader = await stream_blob(store, repository, body, size, new, MAX_PART_SIZE)
    part = PartRecord(
        part_number=part_number,
        size=layer.size,
        etag=f'"{reader.md5_hex}"',
        digest=layer.digest,
        last_modified=now(),
        manifest_digest="",
        checksum=reader.checksum(algorithm) if algorithm else None,
    )
    manifest = mapping.part_manifest(upload, part)
    part = replace(part, manifest_digest=mapping.manifest_digest(manifest))
    await store.registry.push_manifest(
        repository,
        mapping.part_tag(upload.upload_id, part_number),
        manifest,
        mapping.MANIFEST_MEDIA_TYPE,
    )
    try:
        previous = await store.index.put_part(upload.upload_id, part)
    except NoSuchUpload:  # aborted or completed while the bytes moved
        await forget_manifest(store, repository, part.manifest_digest)
        raise
    if previous is not None and previous.manifest_digest != part.manifest_digest:
        await forget_manifest(store, repository, previous.manifest_digest)
    return part


def _normal_etag(etag: str) -> str:
    return etag.strip().strip('"')


def _checked_parts(
    upload: UploadRecord, requested: list[RequestedPart], stored: dict[int, PartRecord]
) -> list[PartRecord]:
    chosen: list[PartRecord] = []
    previous = 0
    for want in requested:
        if want.part_number <= previous:
            raise InvalidPartOrder()
        previous = want.part_number
        part = stored.get(want.part_number)
        if part is None or _normal_etag(want.etag) != _normal_etag(part.etag):
            raise InvalidPart()
        algorithm = upload.checksum_algorithm
        for name, value in want.checksums.items():
            if name == algorithm and value != part.checksum:
                raise InvalidPart(
                    f"One or more of the specified parts could not be found: the {name} "
                    f"checksum of part {part.part_number} does not match."
                )
        chosen.append(part)
    return chosen


def _multipart_etag(parts: list[PartRecord]) -> str:
    digest = hashlib.md5(b"".join(part.md5 for part in parts), usedforsecurity=False)
    return f'"{digest.hexdigest()}-{len(parts)}"'


def object_checksum(upload: UploadRecord, parts: list[PartRecord]) -> dict[str, str]:
    """The whole object's checksum from its parts' as S3 defines them: COMPOSITE is the
    checksum of the concatenated part checksums plus ``-N``; FULL_OBJECT the CRCs combined."""
    algorithm = upload.checksum_algorithm
    if algorithm is None:
        return {}
    if any(part.checksum is None for part in parts):
        raise InvalidRequest(
            f"The upload was created using a {algorithm.lower()} checksum. The complete "
            "request must include the checksum for each part."
        )
    raw = [base64.b64decode(part.checksum or "") for part in parts]
    if upload.checksum_type == FULL_OBJECT:
        combine, width = CRCS[algorithm]
        value = int.from_bytes(raw[0], "big")
        for part, piece in zip(parts[1:], raw[1:], strict=True):
            value = combine(value, int.from_bytes(piece, "big"), part.size)
        return {algorithm: base64.b64encode(value.to_bytes(width, "big")).decode()}
    if algorithm in HASHES:
        digest = hashlib.new(HASHES[algorithm], b"".join(raw)).digest()
    else:
        crc = {"CRC32": crt.crc32, "CRC32C": crt.crc32c}[algorithm]
        digest = int(crc(b"".join(raw), 0)).to_bytes(CRCS[algorithm][1], "big")
    return {algorithm: f"{base64.b64encode(digest).decode()}-{len(parts)}"}


def _check_declared_shape(
    upload: UploadRecord,
    parts: list[PartRecord],
    checksum_type: str | None,
    object_size: int | None,
) -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html:
    a checksum type other than the upload's, or a size other than the parts', is 400
    InvalidRequest."""
    if checksum_type is not None and checksum_type.upper() != upload.checksum_type:
        raise InvalidRequest(
            f"The upload was created using the {upload.checksum_type or 'NONE'} checksum type. "
            f"The complete request must use the same checksum type, not {checksum_type}."
        )
    size = sum(part.size for part in parts)
    if object_size is not None and object_size != size:
        raise InvalidRequest(
            f"The provided 'x-amz-mp-object-size' header value {object_size} does not match "
            f"the object size {size} of the parts."
        )


async def complete_multipart_upload(
    store: Store,
    bucket: str,
    key: str,
    upload_id: str,
    requested: list[RequestedPart],
    *,
    conditions: WriteConditions,
    declared: dict[str, str],
    min_part_size: int,
    checksum_type: str | None = None,
    object_size: int | None = None,
) -> Completed:
    """``declared``: a full-object checksum the client sent; ``checksum_type`` and
    ``object_size`` (``x-amz-checksum-type``, ``x-amz-mp-object-size``) are checks the client
    may ask for: the upload's type and the parts' total size."""
    check_key(key)
    bucket_record = await get_bucket(store, bucket)
    upload = await store.index.get_upload(upload_id)
    if upload is None or upload.bucket != bucket or upload.key != key:
        done = await store.index.completed_upload(upload_id)
        if done is not None and (done["bucket"], done["key"]) == (bucket, key):
            return Completed.from_json(done)  # completing twice answers the same
        raise NoSuchUpload()
    stored = {part.part_number: part for part in await store.index.list_parts(upload_id)}
    parts = _checked_parts(upload, requested, stored)
    for part in parts[:-1]:
        if part.size < min_part_size:
            raise EntityTooSmall(part.size, min_part_size)
    _check_declared_shape(upload, parts, checksum_type, object_size)
    checksums = object_checksum(upload, parts)
    for name, value in declared.items():
        if checksums.get(name, "").split("-")[0] != value:
            raise BadDigest(f"The {name} you specified did not match the calculated checksum.")
    record = ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="",
        size=sum(part.size for part in parts),
        etag=_multipart_etag(parts),
        last_modified=now(),
        layers=tuple(Layer(part.digest, part.size, part.checksum) for part in parts),
        headers=upload.headers,
        metadata=upload.metadata,
        checksums=checksums,
        tags=upload.tags,
        # The lock CreateMultipartUpload asked for, else the bucket's default retention.
        lock=objectlock.for_write(bucket_record, upload.lock, now()),
    )
    completed = Completed(bucket, key, record.etag, checksums, upload.checksum_type)
    versioned = versions.status(bucket_record) is not None

    async def write(record: ObjectRecord) -> None:
        nonlocal completed  # the version id is the commit's
        completed = replace(completed, version=record.version if versioned else None)
        await store.index.complete_upload(upload_id, record, completed.to_json())

    await commit(store, record, conditions, write)
    await _forget_upload(store, upload, list(stored.values()))
    return completed


async def _forget_upload(store: Store, upload: UploadRecord, parts: list[PartRecord]) -> None:
    """Release an ended upload's manifests: its record first (without it ``reindex`` ignores
    the parts), then the parts (their blobs go to the registry's GC unless an object holds
    them). The record's digest is that of its manifest, a pure function of the row."""
    repository = mapping.locate(store.prefix, upload.bucket, upload.key).repository
    record = mapping.manifest_digest(mapping.upload_manifest(upload))
    await forget_manifest(store, repository, record)
    for part in parts:
        await forget_manifest(store, repository, part.manifest_digest)


async def abort_multipart_upload(store: Store, bucket: str, key: str, upload_id: str) -> None:
    upload = await live_upload(store, bucket, key, upload_id)
    await _forget_upload(store, upload, await store.index.delete_upload(upload_id))


async def list_parts(
    store: Store, bucket: str, key: str, upload_id: str, after: int, limit: int
) -> tuple[UploadRecord, list[PartRecord], bool]:
    """Up to ``limit`` parts after part number ``after``, and whether more follow."""
    upload = await live_upload(store, bucket, key, upload_id)
    found = await store.index.list_parts(upload_id, after, limit + 1)
    return upload, found[:limit], len(found) > limit


@dataclass(frozen=True)
class UploadPage:
    uploads: list[UploadRecord]
    common_prefixes: list[str]
    truncated: bool
    next_key_marker: str = ""
    next_upload_id_marker: str = ""


async def list_multipart_uploads(
    store: Store,
    bucket: str,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    upload_id_marker: str = "",
    limit: int = 1000,
) -> UploadPage:
    """ListMultipartUploads: live uploads by key then start, rolled up at the delimiter."""
    await get_bucket(store, bucket)
    found: list[UploadRecord] = []
    prefixes: list[str] = []
    last_key, last_id = key_marker, upload_id_marker if key_marker else ""
    rolled_up = key_marker  # a page that ended on a common prefix resumes after all of it
    while True:
        batch = await store.index.list_uploads(bucket, prefix, last_key, last_id, 1000)
        for upload in batch:
            if not upload.key.startswith(prefix):
                return UploadPage(found, prefixes, False)
            rest = upload.key[len(prefix) :]
            cut = rest.find(delimiter) if delimiter else -1
            common = prefix + rest[: cut + len(delimiter)] if cut >= 0 else None
            if common is not None and common == rolled_up:
                last_key, last_id = upload.key, upload.upload_id
                continue
            if len(found) + len(prefixes) == limit:
                if prefixes and prefixes[-1] == rolled_up:
                    return UploadPage(found, prefixes, True, rolled_up, "")
                return UploadPage(found, prefixes, True, last_key, last_id)
            if common is not None:
                prefixes.append(common)
                rolled_up = common
            else:
                found.append(upload)
                rolled_up = ""
            last_key, last_id = upload.key, upload.upload_id
        if len(batch) < 1000:
            return UploadPage(found, prefixes, False)


async def expire_uploads(store: Store, lifetime: timedelta, moment: datetime | None = None) -> int:
    """Abort uploads older than ``lifetime`` (their part blobs become garbage for the
    registry's GC) and forget completed ones as old; returns how many were aborted."""
    cutoff = (moment or now()) - lifetime
    aborted = 0
    for upload in await store.index.stale_uploads(cutoff):
        try:
            await abort_multipart_upload(store, upload.bucket, upload.key, upload.upload_id)
        except NoSuchUpload:  # completed or aborted meanwhile
            continue
        aborted += 1
    await store.index.forget_completed_uploads(cutoff)
    return aborted
