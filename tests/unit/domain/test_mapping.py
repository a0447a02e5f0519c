"""The S3 -> OCI mapping (DESIGN.md §2): locations, and manifests that round-trip the index."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import mapping
from gateway.domain.errors import DomainError
from gateway.domain.mapping import (
    BUCKET_ARTIFACT_TYPE,
    EMPTY_DESCRIPTOR,
    EMPTY_DIGEST,
    MANIFEST_MEDIA_TYPE,
    OBJECT_ARTIFACT_TYPE,
    TITLE,
    NotAnObject,
    bucket_location,
    bucket_manifest,
    locate,
    object_manifest,
    parse_bucket_manifest,
    parse_object_manifest,
)
from gateway.domain.names import check_bucket_name, check_key
from gateway.domain.values import (
    NO_LOCK,
    BucketRecord,
    Layer,
    ObjectLock,
    ObjectRecord,
    PartRecord,
    UploadRecord,
)

# The OCI distribution spec's <name> and <reference> (tag) grammars.
OCI_NAME = re.compile(r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*")
OCI_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
WHEN = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def is_valid(check: Any, value: str) -> bool:
    try:
        check(value)
    except DomainError:
        return False
    return True


buckets = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True).filter(
    lambda name: is_valid(check_bucket_name, name)
)
keys = st.text(min_size=1, max_size=60).filter(lambda key: is_valid(check_key, key))
prefixes = st.sampled_from(["s3", "artifacts", "team-a/s3", "x.y_z"])
moments = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
).map(mapping.truncate_to_millis)
digests = st.binary(min_size=1, max_size=8).map(lambda b: "sha256:" + hashlib.sha256(b).hexdigest())
layers = st.lists(
    st.builds(Layer, digest=digests, size=st.integers(0, 2**40)), min_size=1, max_size=4
).map(tuple)
text_maps = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=20), max_size=4)
checksums = st.dictionaries(
    st.sampled_from(["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]),
    st.binary(min_size=4, max_size=32).map(lambda b: hashlib.sha256(b).hexdigest()),
    max_size=2,
)


@st.composite
def object_records(draw: st.DrawFn) -> ObjectRecord:
    parts = draw(layers)
    return ObjectRecord(
        bucket=draw(buckets),
        key=draw(keys),
        manifest_digest="",
        size=sum(layer.size for layer in parts),
        etag='"' + draw(st.text("0123456789abcdef-", min_size=1, max_size=40)) + '"',
        last_modified=draw(moments),
        layers=parts,
        headers=draw(text_maps),
        metadata=draw(text_maps),
        checksums=draw(checksums),
    )


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- locations -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(prefix=prefixes, bucket=buckets, key=keys)
def test_location_is_computed_and_valid_oci(prefix: str, bucket: str, key: str) -> None:
    location = locate(prefix, bucket, key)
    assert location == locate(prefix, bucket, key)
    hexdigest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    assert location.repository == f"{prefix}/{bucket}/{hexdigest[:2]}"
    assert location.tag == f"o-{hexdigest}"
    assert location.reference == f"{location.repository}:{location.tag}"
    assert OCI_NAME.fullmatch(location.repository), location.repository
    assert OCI_TAG.fullmatch(location.tag), location.tag
    own = bucket_location(prefix, bucket)
    assert OCI_NAME.fullmatch(own.repository), own.repository
    assert OCI_TAG.fullmatch(own.tag)
    assert own.repository != location.repository  # the bucket record never shares a shard


@settings(max_examples=50, deadline=None)
@given(bucket=buckets, pair=st.lists(keys, min_size=2, max_size=2, unique=True))
def test_distinct_keys_get_distinct_tags(bucket: str, pair: list[str]) -> None:
    first, second = (locate("s3", bucket, key) for key in pair)
    assert first.tag != second.tag


def test_location_of_a_known_key() -> None:
    # Normative: tools outside this project compute the same thing.
    location = locate("s3", "photos", "a/b.txt")
    digest = hashlib.sha256(b"a/b.txt").hexdigest()
    assert location.repository == f"s3/photos/{digest[:2]}"
    assert location.tag == f"o-{digest}"
    assert bucket_location("s3", "photos").reference == "s3/photos/bucket:bucket"


# -- object manifests ------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(record=object_records())
def test_object_manifest_round_trips(record: ObjectRecord) -> None:
    manifest = object_manifest(record)
    digest = sha256_digest(manifest)
    assert parse_object_manifest(manifest, digest) == replace(record, manifest_digest=digest)


@settings(max_examples=60, deadline=None)
@given(record=object_records())
def test_object_manifest_is_an_oci_artifact(record: ObjectRecord) -> None:
    document = json.loads(object_manifest(record))
    assert document["schemaVersion"] == 2
    assert document["mediaType"] == MANIFEST_MEDIA_TYPE
    assert document["artifactType"] == OBJECT_ARTIFACT_TYPE
    assert document["config"] == EMPTY_DESCRIPTOR
    assert [(d["digest"], d["size"]) for d in document["layers"]] == [
        (layer.digest, layer.size) for layer in record.layers
    ]
    assert all(isinstance(value, str) for value in document["annotations"].values())
    assert document["annotations"][mapping.A_KEY] == record.key


def test_empty_descriptor_is_the_oci_empty_blob() -> None:
    assert mapping.EMPTY_BLOB == b"{}"
    assert EMPTY_DIGEST == (
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    assert EMPTY_DESCRIPTOR["size"] == 2
    assert EMPTY_DESCRIPTOR["mediaType"] == "application/vnd.oci.empty.v1+json"


def single(key: str, *sizes: int) -> ObjectRecord:
    parts = tuple(Layer(digest=sha256_digest(str(n).encode()), size=s) for n, s in enumerate(sizes))
    return ObjectRecord(
        bucket="bucket",
        key=key,
        manifest_digest="",
        size=sum(sizes),
        etag='"etag"',
        last_modified=WHEN,
        layers=parts,
    )


def layer_titles(record: ObjectRecord) -> list[str | None]:
    document = json.loads(object_manifest(record))
    return [d.get("annotations", {}).get(TITLE) for d in document["layers"]]


@pytest.mark.parametrize(
    ("key", "title"),
    [
        ("file.bin", "file.bin"),
        ("a/b/c.tar.gz", "c.tar.gz"),
        ("/leading", "leading"),
        ("dir/", None),
        ("a//", None),
        ("dossier/résumé.pdf", "résumé.pdf"),
    ],
)
def test_single_layer_title_is_the_last_key_segment(key: str, title: str | None) -> None:
    assert layer_titles(single(key, 5)) == [title]


@settings(max_examples=80, deadline=None)
@given(key=keys)
def test_title_property(key: str) -> None:
    expected = None if key.endswith("/") else key.rsplit("/", 1)[-1]
    assert layer_titles(single(key, 3)) == [expected]


def test_multipart_layers_carry_no_title() -> None:
    assert layer_titles(single("a/big.iso", 5, 5, 1)) == [None, None, None]


def test_checksums_annotation_only_when_present() -> None:
    plain = json.loads(object_manifest(single("k", 1)))["annotations"]
    assert mapping.A_CHECKSUMS not in plain
    summed = json.loads(object_manifest(replace(single("k", 1), checksums={"SHA256": "x"})))
    assert json.loads(summed["annotations"][mapping.A_CHECKSUMS]) == {"SHA256": "x"}


def object_document(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(object_manifest(single("a/b", 4)))
    document.update(changes)
    return document


def without_annotation(name: str) -> dict[str, Any]:
    document = object_document()
    del document["annotations"][name]
    return document


def with_annotation(name: str, value: str) -> dict[str, Any]:
    document = object_document()
    document["annotations"][name] = value
    return document


IMAGE = {
    "schemaVersion": 2,
    "mediaType": MANIFEST_MEDIA_TYPE,
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": EMPTY_DIGEST},
    "layers": [],
    "annotations": {mapping.A_KEY: "k"},
}


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe{", id="not-utf8"),
        pytest.param(b"[]", id="json-array"),
        pytest.param(json.dumps(IMAGE).encode(), id="image-no-artifact-type"),
        pytest.param(
            json.dumps(
                object_document(artifactType="application/vnd.dev.sigstore.bundle.v0.3+json")
            ).encode(),
            id="referrer-artifact-type",
        ),
        pytest.param(
            json.dumps(object_document(artifactType=BUCKET_ARTIFACT_TYPE)).encode(),
            id="bucket-artifact-type",
        ),
        pytest.param(json.dumps(object_document(annotations=None)).encode(), id="no-annotations"),
        pytest.param(json.dumps(object_document(annotations=[])).encode(), id="annotations-list"),
        pytest.param(json.dumps(without_annotation(mapping.A_KEY)).encode(), id="no-key"),
        pytest.param(json.dumps(without_annotation(mapping.A_BUCKET)).encode(), id="no-bucket"),
        pytest.param(json.dumps(without_annotation(mapping.A_ETAG)).encode(), id="no-etag"),
        pytest.param(json.dumps(without_annotation(mapping.CREATED)).encode(), id="no-created"),
        pytest.param(
            json.dumps(with_annotation(mapping.CREATED, "2024-05-06")).encode(), id="bad-created"
        ),
        pytest.param(
            json.dumps(with_annotation(mapping.A_HEADERS, "{not json")).encode(), id="bad-headers"
        ),
        pytest.param(json.dumps(object_document(layers=None)).encode(), id="layers-null"),
        pytest.param(
            json.dumps(object_document(layers=[{"digest": EMPTY_DIGEST}])).encode(),
            id="layer-without-size",
        ),
    ],
)
def test_foreign_manifests_are_not_objects(manifest: bytes) -> None:
    with pytest.raises(NotAnObject):
        parse_object_manifest(manifest, sha256_digest(manifest))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param(mapping.A_HEADERS, "5", id="headers-number"),
        pytest.param(mapping.A_HEADERS, '["Content-Type"]', id="headers-list"),
        pytest.param(mapping.A_METADATA, '{"color": 1}', id="metadata-int-value"),
        pytest.param(mapping.A_CHECKSUMS, '"SHA256"', id="checksums-string"),
    ],
)
def test_annotations_that_are_not_string_maps_are_not_objects(name: str, value: str) -> None:
    manifest = json.dumps(with_annotation(name, value)).encode()
    with pytest.raises(NotAnObject):
        parse_object_manifest(manifest, sha256_digest(manifest))


# -- bucket manifests ------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    name=buckets,
    created=moments,
    region=st.sampled_from(["us-east-1", "eu-west-3", "local"]),
    settings_map=text_maps,
)
def test_bucket_manifest_round_trips(
    name: str, created: datetime, region: str, settings_map: dict[str, str]
) -> None:
    record = BucketRecord(name=name, created=created, region=region, settings=settings_map)
    manifest = bucket_manifest(record)
    assert parse_bucket_manifest(manifest) == record
    document = json.loads(manifest)
    assert document["artifactType"] == BUCKET_ARTIFACT_TYPE
    assert document["layers"] == [EMPTY_DESCRIPTOR]


def test_object_manifest_is_not_a_bucket() -> None:
    with pytest.raises(NotAnObject):
        parse_bucket_manifest(object_manifest(single("k", 1)))
    bucket = bucket_manifest(BucketRecord(name="abc", created=WHEN))
    with pytest.raises(NotAnObject):
        parse_object_manifest(bucket, sha256_digest(bucket))


def test_bucket_manifest_missing_name_is_not_a_bucket() -> None:
    document = json.loads(bucket_manifest(BucketRecord(name="abc", created=WHEN)))
    del document["annotations"][mapping.A_BUCKET]
    with pytest.raises(NotAnObject):
        parse_bucket_manifest(json.dumps(document).encode())


def test_bucket_settings_that_are_not_a_map_are_not_a_bucket() -> None:
    document = json.loads(bucket_manifest(BucketRecord(name="abc", created=WHEN)))
    document["annotations"][mapping.A_SETTINGS] = "5"
    with pytest.raises(NotAnObject):
        parse_bucket_manifest(json.dumps(document).encode())


# -- times -----------------------------------------------------------------------------------


def test_format_time_is_utc_with_milliseconds() -> None:
    moment = datetime(2024, 5, 6, 9, 8, 9, 123999, tzinfo=timezone(timedelta(hours=2)))
    assert mapping.format_time(moment) == "2024-05-06T07:08:09.123Z"
    assert mapping.parse_time("2024-05-06T07:08:09.123Z") == datetime(
        2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC
    )


# -- multipart uploads: the upload record and its parts ---------------------------------------

upload_ids = st.text("0123456789abcdef", min_size=36, max_size=36)
algorithms = st.sampled_from([None, "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
checksum_values = st.none() | st.binary(min_size=4, max_size=32).map(
    lambda b: base64.b64encode(b).decode()
)


# What CreateMultipartUpload's lock headers can ask for (Complete applies it).
locks = st.one_of(
    st.just(NO_LOCK),
    st.builds(ObjectLock, legal_hold=st.just(True)),
    st.builds(
        ObjectLock,
        mode=st.sampled_from(["GOVERNANCE", "COMPLIANCE"]),
        until=moments,
        legal_hold=st.booleans(),
    ),
)


@st.composite
def upload_records(draw: st.DrawFn) -> UploadRecord:
    algorithm = draw(algorithms)
    return UploadRecord(
        upload_id=draw(upload_ids),
        bucket=draw(buckets),
        key=draw(keys),
        initiated=draw(moments),
        headers=draw(text_maps),
        metadata=draw(text_maps),
        checksum_algorithm=algorithm,
        checksum_type=draw(st.sampled_from(["COMPOSITE", "FULL_OBJECT"])) if algorithm else None,
        length=draw(st.none() | st.integers(0, 5 * 1024**4)),
        lock=draw(locks),
    )


@st.composite
def part_records(draw: st.DrawFn) -> PartRecord:
    return PartRecord(
        part_number=draw(st.integers(1, 10_000)),
        size=draw(st.integers(0, 5 * 1024**3)),
        etag='"' + draw(st.text("0123456789abcdef", min_size=32, max_size=32)) + '"',
        digest=draw(digests),
        last_modified=draw(moments),
        manifest_digest="",
        checksum=draw(checksum_values),
    )


@settings(max_examples=150, deadline=None)
@given(record=upload_records(), prefix=prefixes)
def test_upload_manifest_round_trips(record: UploadRecord, prefix: str) -> None:
    manifest = mapping.upload_manifest(record)
    assert mapping.parse_upload_manifest(manifest) == record
    assert mapping.upload_manifest(mapping.parse_upload_manifest(manifest)) == manifest
    document = json.loads(manifest)
    assert document["artifactType"] == mapping.UPLOAD_ARTIFACT_TYPE
    assert document["config"] == EMPTY_DESCRIPTOR
    assert document["layers"] == [EMPTY_DESCRIPTOR]
    assert all(isinstance(value, str) for value in document["annotations"].values())
    assert OCI_TAG.fullmatch(mapping.upload_tag(record.upload_id))


@settings(max_examples=150, deadline=None)
@given(upload=upload_records(), part=part_records())
def test_part_manifest_round_trips(upload: UploadRecord, part: PartRecord) -> None:
    manifest = mapping.part_manifest(upload, part)
    digest = sha256_digest(manifest)
    found = mapping.parse_part_manifest(manifest, digest)
    assert found == mapping.FoundPart(
        upload.bucket, upload.key, upload.upload_id, replace(part, manifest_digest=digest)
    )
    document = json.loads(manifest)
    assert document["artifactType"] == mapping.PART_ARTIFACT_TYPE
    assert [(d["digest"], d["size"]) for d in document["layers"]] == [(part.digest, part.size)]
    assert OCI_TAG.fullmatch(mapping.part_tag(upload.upload_id, part.part_number))


def upload_document(**annotations: str | None) -> bytes:
    record = UploadRecord("0" * 36, "bucket", "k", WHEN, length=5)
    document = json.loads(mapping.upload_manifest(record))
    for name, value in annotations.items():
        if value is None:
            del document["annotations"][name]
        else:
            document["annotations"][name] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(upload_document(**{mapping.A_UPLOAD_ID: None}), id="no-upload-id"),
        pytest.param(upload_document(**{mapping.A_KEY: None}), id="no-key"),
        pytest.param(upload_document(**{mapping.CREATED: None}), id="no-created"),
        pytest.param(upload_document(**{mapping.A_LENGTH: "five"}), id="bad-length"),
        pytest.param(upload_document(**{mapping.A_METADATA: "[]"}), id="metadata-list"),
        pytest.param(object_manifest(single("k", 1)), id="an-object"),
    ],
)
def test_foreign_manifests_are_not_uploads(manifest: bytes) -> None:
    with pytest.raises(NotAnObject):
        mapping.parse_upload_manifest(manifest)


def test_old_part_manifests_without_the_part_row_are_not_parts() -> None:
    """Part manifests written before reindex read them carry no ETag: skipped, not guessed."""
    upload = UploadRecord("0" * 36, "bucket", "k", WHEN)
    part = PartRecord(1, 3, '"' + "a" * 32 + '"', EMPTY_DIGEST, WHEN, "")
    document = json.loads(mapping.part_manifest(upload, part))
    del document["annotations"][mapping.A_ETAG]
    with pytest.raises(NotAnObject):
        mapping.parse_part_manifest(json.dumps(document).encode(), EMPTY_DIGEST)
    document["layers"] = []
    with pytest.raises(NotAnObject):
        mapping.parse_part_manifest(json.dumps(document).encode(), EMPTY_DIGEST)


def test_part_checksums_ride_on_their_layers() -> None:
    """GetObjectAttributes lists each part's checksum: ``reindex`` must find it again."""
    record = single("a/big.iso", 5, 5, 1)
    summed = replace(
        record,
        layers=tuple(replace(layer, checksum=f"c{n}") for n, layer in enumerate(record.layers)),
    )
    manifest = object_manifest(summed)
    written = json.loads(manifest)["layers"]
    assert [layer["annotations"][mapping.A_CHECKSUM] for layer in written] == ["c0", "c1", "c2"]
    parsed = parse_object_manifest(manifest, sha256_digest(manifest))
    assert [layer.checksum for layer in parsed.layers] == ["c0", "c1", "c2"]
    assert layer_titles(summed) == [None, None, None]
