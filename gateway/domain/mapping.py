"""How S3 buckets and objects map onto OCI repositories, tags and manifests.

Normative (DESIGN.md §2): tools outside this project read it. Given a key, its repository
and tag are computed, never looked up:

- repository ``<prefix>/<bucket>/<shard>``: ``shard`` is the first two hex digits of
  sha256(key), so a bucket spreads over at most 256 repositories and none grows without
  bound (the registry rewrites a repository's index on every push and scans it for referrers);
- tag ``o-<hex sha256(key)>``: keys are not valid tags, digests of them are;
- the bucket's own record is the manifest tagged ``bucket`` in ``<prefix>/<bucket>/bucket``;
- a multipart upload in flight is a small record manifest tagged ``u-<upload id>`` in the
  key's repository (what its index row holds), and each of its parts a blob there, kept from
  the registry's GC by a small manifest tagged ``p-<upload id>-<part number>`` (what the part's
  row holds beyond its blob) until the upload completes (the object's manifest then lists the
  part blobs as its layers, in order) or is aborted. ``reindex`` rebuilds live uploads from them.

An object is an OCI 1.1 artifact manifest: ``artifactType`` OBJECT_ARTIFACT_TYPE, the empty
config, one layer per part, and annotations that hold everything needed to rebuild the index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain.values import (
    NO_LOCK,
    BucketRecord,
    Layer,
    ObjectLock,
    ObjectRecord,
    PartRecord,
    UploadRecord,
)

OBJECT_ARTIFACT_TYPE = "application/vnd.artifactstore.object.v1"
BUCKET_ARTIFACT_TYPE = "application/vnd.artifactstore.bucket.v1"
PART_ARTIFACT_TYPE = "application/vnd.artifactstore.part.v1"
UPLOAD_ARTIFACT_TYPE = "application/vnd.artifactstore.upload.v1"
TAGGING_ARTIFACT_TYPE = "application/vnd.artifactstore.tagging.v1"
LOCK_ARTIFACT_TYPE = "application/vnd.artifactstore.lock.v1"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
LAYER_MEDIA_TYPE = "application/octet-stream"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"
EMPTY_DIGEST = "sha256:" + hashlib.sha256(EMPTY_BLOB).hexdigest()
EMPTY_DESCRIPTOR: dict[str, Any] = {
    "mediaType": EMPTY_MEDIA_TYPE,
    "digest": EMPTY_DIGEST,
    "size": 2,
    "data": "e30=",
}

BUCKET_REPOSITORY = "bucket"
BUCKET_TAG = "bucket"
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
_NS = "dev.artifactstore.s3."
A_BUCKET = _NS + "bucket"
A_KEY = _NS + "key"
A_ETAG = _NS + "etag"
A_HEADERS = _NS + "headers"
A_METADATA = _NS + "metadata"
A_CHECKSUMS = _NS + "checksums"
A_REGION = _NS + "region"
A_SETTINGS = _NS + "settings"
A_UPLOAD_ID = _NS + "upload-id"
A_PART_NUMBER = _NS + "part-number"
A_CHECKSUM = _NS + "checksum"
A_CHECKSUM_ALGORITHM = _NS + "checksum-algorithm"
A_CHECKSUM_TYPE = _NS + "checksum-type"
A_LENGTH = _NS + "length"
A_TAGS = _NS + "tags"
A_VERSION_ID = _NS + "version-id"
A_LOCK = _NS + "lock"
DELETE_MARKER_ARTIFACT_TYPE = "application/vnd.artifactstore.delete-marker.v1"
NULL_VERSION = "null"


@dataclass(frozen=True)
class ObjectLocation:
    repository: str
    tag: str

    @property
    def reference(self) -> str:
        """The OCI reference clients are told about (``x-amz-meta``-free response header)."""
        return f"{self.repository}:{self.tag}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def locate(prefix: str, bucket: str, key: str) -> ObjectLocation:
    digest = key_hash(key)
    return ObjectLocation(repository=f"{prefix}/{bucket}/{digest[:2]}", tag=f"o-{digest}")


def version_tag(key: str, version_id: str | None) -> str:
    """The tag that keeps one version of a key (or a delete marker) in a bucket whose
    versioning was ever set: ``v-<hex sha256(key)>-<version id>`` (``null`` for the null
    version). The key's ``o-`` tag names its latest version, object or delete marker."""
    return f"v-{key_hash(key)}-{version_id or NULL_VERSION}"


def part_tag(upload_id: str, part_number: int) -> str:
    return f"p-{upload_id}-{part_number}"


def upload_tag(upload_id: str) -> str:
    return f"u-{upload_id}"


def bucket_location(prefix: str, bucket: str) -> ObjectLocation:
    return ObjectLocation(repository=f"{prefix}/{bucket}/{BUCKET_REPOSITORY}", tag=BUCKET_TAG)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds: what S3 shows, so a rebuilt index is identical."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def truncate_to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def manifest_digest(manifest: bytes) -> str:
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def object_manifest(record: ObjectRecord) -> bytes:
    title = record.key.rsplit("/", 1)[-1]
    layers = []
    for layer in record.layers:
        descriptor: dict[str, Any] = {
            "mediaType": LAYER_MEDIA_TYPE,
            "digest": layer.digest,
            "size": layer.size,
        }
        if title and len(record.layers) == 1:
            descriptor["annotations"] = {TITLE: title}
        if layer.checksum is not None:  # a part's checksum (multipart objects)
            descriptor.setdefault("annotations", {})[A_CHECKSUM] = layer.checksum
        layers.append(descriptor)
    annotations = {
        A_BUCKET: record.bucket,
        A_KEY: record.key,
        A_ETAG: record.etag,
        CREATED: format_time(record.last_modified),
        A_HEADERS: json.dumps(record.headers, sort_keys=True),
        A_METADATA: json.dumps(record.metadata, sort_keys=True),
    }
    if record.checksums:
        annotations[A_CHECKSUMS] = json.dumps(record.checksums, sort_keys=True)
    if record.tags and record.tagging is None:
        annotations[A_TAGS] = json.dumps(record.tags, sort_keys=True)
    if record.version_id is not None:  # absent: the null version (unversioned: as before)
        annotations[A_VERSION_ID] = record.version_id
    if not record.lock.empty and record.lock.manifest is None:
        annotations[A_LOCK] = dump_lock(record.lock)
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": OBJECT_ARTIFACT_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": layers,
            "annotations": annotations,
        }
    )


class NotAnObject(ValueError):
    """A manifest that this project did not write (an image, a referrer, a stray push)."""


def _annotations(manifest: bytes, artifact_type: str) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        document = json.loads(manifest)
    except ValueError as exc:
        raise NotAnObject("manifest is not JSON") from exc
    if not isinstance(document, dict) or document.get("artifactType") != artifact_type:
        raise NotAnObject("unexpected artifactType")
    annotations = document.get("annotations")
    if not isinstance(annotations, dict):
        raise NotAnObject("manifest has no annotations")
    return document, annotations


def _string_map(text: str) -> dict[str, str]:
    """A JSON object of strings, or NotAnObject: a stray manifest must not poison the index."""
    value = json.loads(text)
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise NotAnObject("annotation is not a map of strings")
    return value


def parse_object_manifest(manifest: bytes, digest: str) -> ObjectRecord:
    document, notes = _annotations(manifest, OBJECT_ARTIFACT_TYPE)
    try:
        layers = tuple(
            Layer(d["digest"], int(d["size"]), (d.get("annotations") or {}).get(A_CHECKSUM))
            for d in document["layers"]
        )
        return ObjectRecord(
            bucket=notes[A_BUCKET],
            key=notes[A_KEY],
            manifest_digest=digest,
            size=sum(layer.size for layer in layers),
            etag=notes[A_ETAG],
            last_modified=parse_time(notes[CREATED]),
            layers=layers,
            headers=_string_map(notes.get(A_HEADERS, "{}")),
            metadata=_string_map(notes.get(A_METADATA, "{}")),
            checksums=_string_map(notes.get(A_CHECKSUMS, "{}")),
            tags=_string_map(notes.get(A_TAGS, "{}")),
            version_id=notes.get(A_VERSION_ID),
            lock=load_lock(notes[A_LOCK]) if A_LOCK in notes else NO_LOCK,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObject(f"incomplete object manifest: {exc}") from exc


def delete_marker_manifest(record: ObjectRecord) -> bytes:
    """A delete marker: no bytes (the empty descriptor as its one layer, as the bucket
    record), the key, its version id (absent: the null version) and its time."""
    annotations = {
        A_BUCKET: record.bucket,
        A_KEY: record.key,
        CREATED: format_time(record.last_modified),
    }
    if record.version_id is not None:
        annotations[A_VERSION_ID] = record.version_id
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": DELETE_MARKER_ARTIFACT_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [EMPTY_DESCRIPTOR],
            "annotations": annotations,
        }
    )


def version_manifest(record: ObjectRecord) -> bytes:
    return delete_marker_manifest(record) if record.delete_marker else object_manifest(record)


def parse_version_manifest(manifest: bytes, digest: str) -> ObjectRecord:
    """An object or a delete marker, read back (``reindex``)."""
    try:
        return parse_object_manifest(manifest, digest)
    except NotAnObject:
        pass
    _, notes = _annotations(manifest, DELETE_MARKER_ARTIFACT_TYPE)
    try:
        return ObjectRecord(
            bucket=notes[A_BUCKET],
            key=notes[A_KEY],
            manifest_digest=digest,
            size=0,
            etag="",
            last_modified=parse_time(notes[CREATED]),
            layers=(),
            version_id=notes.get(A_VERSION_ID),
            delete_marker=True,
        )
    except (KeyError, ValueError) as exc:
        raise NotAnObject(f"incomplete delete marker: {exc}") from exc


def _state_manifest(
    artifact_type: str,
    record: ObjectRecord,
    subject_size: int,
    note: tuple[str, str],
    created: datetime,
) -> bytes:
    """State of a version that changes after its write (tags, Object Lock), as a referrer of
    the version's manifest: the version's own manifest, digest and ETag stay as they are
    (signatures and SBOMs name that digest). The newest one is the state."""
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": artifact_type,
            "config": EMPTY_DESCRIPTOR,
            "layers": [EMPTY_DESCRIPTOR],
            "subject": {
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": record.manifest_digest,
                "size": subject_size,
            },
            "annotations": {
                A_BUCKET: record.bucket,
                A_KEY: record.key,
                note[0]: note[1],
                CREATED: format_time(created),
            },
        }
    )


def tagging_manifest(
    record: ObjectRecord, subject_size: int, tags: dict[str, str], created: datetime
) -> bytes:
    """An object's tag set changed after its write (PutObjectTagging, DeleteObjectTagging)."""
    note = (A_TAGS, json.dumps(tags, sort_keys=True))
    return _state_manifest(TAGGING_ARTIFACT_TYPE, record, subject_size, note, created)


@dataclass(frozen=True)
class FoundTagging:
    """A tagging manifest read back: the object's tag set as of ``created``."""

    subject: str
    tags: dict[str, str]
    created: datetime


def parse_tagging_manifest(manifest: bytes) -> FoundTagging:
    document, notes = _annotations(manifest, TAGGING_ARTIFACT_TYPE)
    try:
        return FoundTagging(
            subject=document["subject"]["digest"],
            tags=_string_map(notes[A_TAGS]),
            created=parse_time(notes[CREATED]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObject(f"incomplete tagging manifest: {exc}") from exc


def dump_lock(lock: ObjectLock) -> str:
    """A version's Object Lock state as an annotation: ``{"mode", "retain-until" (RFC 3339,
    ms), "legal-hold" ("ON"/"OFF")}``, the retention keys absent when it has none."""
    value = {"legal-hold": "ON" if lock.legal_hold else "OFF"}
    if lock.mode is not None and lock.until is not None:
        value |= {"mode": lock.mode, "retain-until": format_time(lock.until)}
    return json.dumps(value, sort_keys=True)


def load_lock(text: str, manifest: str | None = None) -> ObjectLock:
    value = _string_map(text)
    until = value.get("retain-until")
    return ObjectLock(
        mode=value.get("mode") if until else None,
        until=parse_time(until) if until else None,
        legal_hold=value.get("legal-hold") == "ON",
        manifest=manifest,
    )


def lock_manifest(
    record: ObjectRecord, subject_size: int, lock: ObjectLock, created: datetime
) -> bytes:
    """A version's retention or legal hold changed after its write (PutObjectRetention,
    PutObjectLegalHold)."""
    note = (A_LOCK, dump_lock(lock))
    return _state_manifest(LOCK_ARTIFACT_TYPE, record, subject_size, note, created)


@dataclass(frozen=True)
class FoundLock:
    """A lock manifest read back: the version's lock state as of ``created``."""

    subject: str
    lock: ObjectLock
    created: datetime


def parse_lock_manifest(manifest: bytes, digest: str) -> FoundLock:
    document, notes = _annotations(manifest, LOCK_ARTIFACT_TYPE)
    try:
        return FoundLock(
            subject=document["subject"]["digest"],
            lock=load_lock(notes[A_LOCK], digest),
            created=parse_time(notes[CREATED]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObject(f"incomplete lock manifest: {exc}") from exc


def _optional(annotations: dict[str, str], name: str, value: str | int | None) -> None:
    if value is not None:
        annotations[name] = str(value)


def upload_manifest(record: UploadRecord) -> bytes:
    """The upload's record, tagged ``u-<upload id>``: everything its live index row holds, so
    that ``reindex`` brings back uploads in flight. A pure function of the row (the gateway
    deletes it by the digest of these bytes)."""
    annotations = {
        A_BUCKET: record.bucket,
        A_KEY: record.key,
        A_UPLOAD_ID: record.upload_id,
        CREATED: format_time(record.initiated),
        A_HEADERS: json.dumps(record.headers, sort_keys=True),
        A_METADATA: json.dumps(record.metadata, sort_keys=True),
    }
    _optional(annotations, A_CHECKSUM_ALGORITHM, record.checksum_algorithm)
    _optional(annotations, A_CHECKSUM_TYPE, record.checksum_type)
    _optional(annotations, A_LENGTH, record.length)
    if record.tags:
        annotations[A_TAGS] = json.dumps(record.tags, sort_keys=True)
    if not record.lock.empty:
        annotations[A_LOCK] = dump_lock(record.lock)
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": UPLOAD_ARTIFACT_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [EMPTY_DESCRIPTOR],
            "annotations": annotations,
        }
    )


def parse_upload_manifest(manifest: bytes) -> UploadRecord:
    _, notes = _annotations(manifest, UPLOAD_ARTIFACT_TYPE)
    try:
        length = notes.get(A_LENGTH)
        return UploadRecord(
            upload_id=notes[A_UPLOAD_ID],
            bucket=notes[A_BUCKET],
            key=notes[A_KEY],
            initiated=parse_time(notes[CREATED]),
            headers=_string_map(notes.get(A_HEADERS, "{}")),
            metadata=_string_map(notes.get(A_METADATA, "{}")),
            checksum_algorithm=notes.get(A_CHECKSUM_ALGORITHM),
            checksum_type=notes.get(A_CHECKSUM_TYPE),
            length=int(length) if length is not None else None,
            tags=_string_map(notes.get(A_TAGS, "{}")),
            lock=load_lock(notes[A_LOCK]) if A_LOCK in notes else NO_LOCK,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObject(f"incomplete upload manifest: {exc}") from exc


def part_manifest(upload: UploadRecord, part: PartRecord) -> bytes:
    """Holds one part's blob until the upload ends, and carries what the part's index row
    holds beyond the blob (ETag, checksum, time) for ``reindex``. ``part.manifest_digest``
    is not part of it (it is the digest of these bytes)."""
    annotations = {
        A_BUCKET: upload.bucket,
        A_KEY: upload.key,
        A_UPLOAD_ID: upload.upload_id,
        A_PART_NUMBER: str(part.part_number),
        A_ETAG: part.etag,
        CREATED: format_time(part.last_modified),
    }
    _optional(annotations, A_CHECKSUM, part.checksum)
    layer = {"mediaType": LAYER_MEDIA_TYPE, "digest": part.digest, "size": part.size}
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": PART_ARTIFACT_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [layer],
            "annotations": annotations,
        }
    )


@dataclass(frozen=True)
class FoundPart:
    """A part read back from its manifest, with the upload it names."""

    bucket: str
    key: str
    upload_id: str
    part: PartRecord


def parse_part_manifest(manifest: bytes, digest: str) -> FoundPart:
    document, notes = _annotations(manifest, PART_ARTIFACT_TYPE)
    try:
        (layer,) = document["layers"]
        part = PartRecord(
            part_number=int(notes[A_PART_NUMBER]),
            size=int(layer["size"]),
            etag=notes[A_ETAG],
            digest=layer["digest"],
            last_modified=parse_time(notes[CREATED]),
            manifest_digest=digest,
            checksum=notes.get(A_CHECKSUM),
        )
        return FoundPart(notes[A_BUCKET], notes[A_KEY], notes[A_UPLOAD_ID], part)
    except (KeyError, TypeError, ValueError) as exc:
        raise NotAnObject(f"incomplete part manifest: {exc}") from exc


def bucket_manifest(record: BucketRecord) -> bytes:
    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": BUCKET_ARTIFACT_TYPE,
            "config": EMPTY_DESCRIPTOR,
            "layers": [EMPTY_DESCRIPTOR],
            "annotations": {
                A_BUCKET: record.name,
                CREATED: format_time(record.created),
                A_REGION: record.region,
                A_SETTINGS: json.dumps(record.settings, sort_keys=True),
            },
        }
    )


def parse_bucket_manifest(manifest: bytes) -> BucketRecord:
    _, notes = _annotations(manifest, BUCKET_ARTIFACT_TYPE)
    try:
        return BucketRecord(
            name=notes[A_BUCKET],
            created=parse_time(notes[CREATED]),
            region=notes.get(A_REGION, "us-east-1"),
            settings=_string_map(notes.get(A_SETTINGS, "{}")),
        )
    except (KeyError, ValueError) as exc:
        raise NotAnObject(f"incomplete bucket manifest: {exc}") from exc
