"""Losing the index loses nothing: ``reindex`` rebuilds it from the registry alone, and
``reindex --check`` tells, changing nothing, whether the index still agrees with it."""

import asyncio
import base64
import hashlib
import json
import zlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from gateway.__main__ import main
from gateway.domain import mapping
from gateway.index import schema
from gateway.registry.client import RegistryClient
from tests.conftest import gateway_settings, s3_client
from tests.fixtures import supply_chain as docs
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import serve
from tests.integration.api.test_referrers import (
    CONTENT,
    KEY,
    MANIFEST,
    SPDX,
    attach,
    counts,
    documents,
    listed,
    object_manifest,
)


@pytest.fixture(autouse=True)
def registry_env(registry: RunningRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    """``reindex`` reaches the registry as the gateway does: URL and credentials."""
    for name, value in registry.env().items():
        monkeypatch.setenv(name, value)


def snapshot(client):
    state = {}
    for bucket in client.list_buckets()["Buckets"]:
        name = bucket["Name"]
        listed = [
            item
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name)
            for item in page.get("Contents", [])
        ]
        heads = {}
        for item in listed:
            head = client.head_object(Bucket=name, Key=item["Key"])
            heads[item["Key"]] = {
                k: head.get(k)
                for k in (
                    "ContentLength",
                    "ContentType",
                    "ETag",
                    "Metadata",
                    "LastModified",
                    "CacheControl",
                    "ContentDisposition",
                )
            }
        state[name] = {"created": bucket["CreationDate"], "objects": listed, "heads": heads}
    return state


def test_delete_database_then_reindex(registry, tmp_path, monkeypatch):
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rx")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="alpha")
        client.create_bucket(Bucket="empty-one")
        for n in range(30):
            client.put_object(
                Bucket="alpha",
                Key=f"dir{n % 3}/obj-{n}.bin",
                Body=b"x" * n,
                ContentType="application/x-test",
                Metadata={"n": str(n)},
                CacheControl="no-store",
            )
        client.put_object(Bucket="alpha", Key="überkey/🙂", Body=b"u")
        client.put_object(Bucket="alpha", Key="dir0/obj-0.bin", Body=b"rewritten")
        client.delete_object(Bucket="alpha", Key="dir1/obj-1.bin")
        client.copy_object(Bucket="alpha", Key="copy", CopySource="alpha/dir2/obj-2.bin")
        client.create_bucket(Bucket="gone")
        client.delete_bucket(Bucket="gone")
        before = snapshot(client)
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rx")
    code = main(["--data-dir", str(data), "reindex"])
    assert code == 0
    with serve(settings) as running:
        after = snapshot(s3_client(running.url))
    assert set(after) == {"alpha", "empty-one"}
    assert after == before
    assert len(after["alpha"]["objects"]) == 31


@pytest.mark.parametrize("prefix", ["rx2"])
def test_reindex_of_empty_registry_prefix(registry, tmp_path, prefix, monkeypatch, capsys):
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", prefix)
    assert main(["--data-dir", str(tmp_path), "reindex"]) == 0
    assert "reindexed 0 buckets, 0 objects" in capsys.readouterr().out


def test_reindex_brings_back_referrers_the_gateways_and_other_tools(
    registry, tmp_path, monkeypatch, capsys
):
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rx3")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="signed")
        client.put_object(Bucket="signed", Key=KEY, Body=CONTENT)
        client.put_object(Bucket="signed", Key="plain", Body=b"no referrers")
        for kind, body, media_type in documents().values():
            assert attach(running, "signed", kind, body, media_type).status_code == 201
        before = listed(running, "signed")
        repository, subject, manifest = object_manifest(registry, client, "signed")
    # Another tool attaches an SPDX SBOM while the gateway is down: only the registry knows.
    outside = asyncio.run(push_outside_sbom(registry, repository, subject, len(manifest)))
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rx3")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    assert "reindexed 1 buckets, 2 objects (0 skipped), 5 referrers" in capsys.readouterr().out
    with serve(settings) as running:
        client = s3_client(running.url)
        assert counts(client, "signed") == (1, 3, 1)  # from the rebuilt rows: no list ran yet
        assert counts(client, "signed", "plain") == (0, 0, 0)
        after = listed(running, "signed")
    assert after[: len(before)] == before
    assert [(item["digest"], item["kind"]) for item in after[len(before) :]] == [(outside, "sbom")]


async def push_outside_sbom(
    registry: RunningRegistry, repository: str, subject: str, size: int
) -> str:
    sbom = docs.dump(docs.spdx())
    blob = "sha256:" + hashlib.sha256(sbom).hexdigest()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "artifactType": SPDX,
            "config": {
                "mediaType": mapping.EMPTY_MEDIA_TYPE,
                "digest": mapping.EMPTY_DIGEST,
                "size": 2,
            },
            "layers": [{"mediaType": SPDX, "digest": blob, "size": len(sbom)}],
            "subject": {"mediaType": MANIFEST, "digest": subject, "size": size},
            "annotations": {mapping.CREATED: "2030-01-01T00:00:00Z"},
        }
    ).encode()
    client = RegistryClient(registry.url, auth=registry.auth)
    try:
        await client.push_small_blob(repository, mapping.EMPTY_BLOB, mapping.EMPTY_DIGEST)
        await client.push_small_blob(repository, sbom, blob)
        await client.push_referrer(repository, manifest)
    finally:
        await client.aclose()
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


MiB = 1024**2
TABLES = (schema.buckets, schema.objects, schema.referrers, schema.uploads, schema.parts)


def index_rows(data):
    """Every row of the tables reindex rebuilds, read straight from the SQLite index file."""
    engine = sa.create_engine(f"sqlite:///{data / 'index.db'}")
    try:
        with engine.connect() as conn:
            return {
                table.name: [dict(row._mapping) for row in conn.execute(table.select())]
                for table in TABLES
            }
    finally:
        engine.dispose()


def in_order(rows):
    return sorted(rows, key=lambda row: repr(sorted(row.items())))


def upload_views(client, bucket, key, upload_id):
    """What a client sees of uploads in flight: ListMultipartUploads and ListParts."""
    uploads = client.list_multipart_uploads(Bucket=bucket)
    parts = client.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    for answer in (uploads, parts):
        answer.pop("ResponseMetadata")
    return uploads, parts


def test_reindex_brings_back_live_multipart_uploads(registry, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rx4")
    pieces = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"tail"]
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="uploads")
        client.put_object(Bucket="uploads", Key="plain", Body=b"an object")
        live = client.create_multipart_upload(
            Bucket="uploads",
            Key="big/two.bin",
            ChecksumAlgorithm="CRC32",
            ContentType="application/x-two",
            Metadata={"colour": "blau", "owner": "ci"},
        )["UploadId"]
        etags = [
            client.upload_part(
                Bucket="uploads",
                Key="big/two.bin",
                UploadId=live,
                PartNumber=n,
                Body=body,
                ChecksumAlgorithm="CRC32",
            )["ETag"]
            for n, body in enumerate(pieces[:2], 1)
        ]
        empty = client.create_multipart_upload(Bucket="uploads", Key="empty")["UploadId"]
        done = client.create_multipart_upload(Bucket="uploads", Key="done")["UploadId"]
        tag = client.upload_part(
            Bucket="uploads", Key="done", UploadId=done, PartNumber=1, Body=b"d"
        )
        client.complete_multipart_upload(
            Bucket="uploads",
            Key="done",
            UploadId=done,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": tag["ETag"]}]},
        )
        aborted = client.create_multipart_upload(Bucket="uploads", Key="aborted")["UploadId"]
        client.upload_part(
            Bucket="uploads", Key="aborted", UploadId=aborted, PartNumber=1, Body=b"x"
        )
        client.abort_multipart_upload(Bucket="uploads", Key="aborted", UploadId=aborted)
        views = upload_views(client, "uploads", "big/two.bin", live)
    before = index_rows(data)
    assert {row["upload_id"] for row in before["uploads"]} == {live, empty, done}
    assert len(before["parts"]) == 2
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rx4")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    assert "2 objects (0 skipped), 0 referrers, 2 uploads (2 parts)" in capsys.readouterr().out
    after = index_rows(data)
    # Live uploads come back row for row, every column; completed ones are index-only.
    before["uploads"] = [row for row in before["uploads"] if row["upload_id"] != done]
    assert {name: in_order(rows) for name, rows in after.items()} == {
        name: in_order(rows) for name, rows in before.items()
    }
    with serve(settings) as running:
        client = s3_client(running.url)
        assert upload_views(client, "uploads", "big/two.bin", live) == views
        etags.append(
            client.upload_part(
                Bucket="uploads",
                Key="big/two.bin",
                UploadId=live,
                PartNumber=3,
                Body=pieces[2],
                ChecksumAlgorithm="CRC32",
            )["ETag"]
        )
        parts = [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]
        answer = client.complete_multipart_upload(
            Bucket="uploads", Key="big/two.bin", UploadId=live, MultipartUpload={"Parts": parts}
        )
        got = client.get_object(Bucket="uploads", Key="big/two.bin", ChecksumMode="ENABLED")
        body = got["Body"].read()
        remaining = client.list_multipart_uploads(Bucket="uploads").get("Uploads", [])
    md5s = b"".join(hashlib.md5(piece, usedforsecurity=False).digest() for piece in pieces)
    etag = f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-3"'
    crcs = b"".join(zlib.crc32(piece).to_bytes(4, "big") for piece in pieces)
    checksum = base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode() + "-3"
    assert body == b"".join(pieces)
    assert answer["ETag"] == got["ETag"] == etag
    assert answer["ChecksumCRC32"] == got["ChecksumCRC32"] == checksum
    assert got["ContentType"] == "application/x-two"
    assert got["Metadata"] == {"colour": "blau", "owner": "ci"}
    assert [upload["UploadId"] for upload in remaining] == [empty]


def versions_snapshot(client, bucket):
    answer = client.list_object_versions(Bucket=bucket)
    keep = ("Key", "VersionId", "IsLatest", "LastModified", "ETag", "Size")
    return {
        "versions": [{k: v.get(k) for k in keep} for v in answer.get("Versions", [])],
        "markers": [{k: m.get(k) for k in keep} for m in answer.get("DeleteMarkers", [])],
        "listed": [
            item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", [])
        ],
    }


def test_reindex_brings_back_versions_and_delete_markers(registry, tmp_path, monkeypatch):
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rx5")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="history")
        client.put_object(Bucket="history", Key="k", Body=b"null version")
        client.put_bucket_versioning(
            Bucket="history", VersioningConfiguration={"Status": "Enabled"}
        )
        first = client.put_object(Bucket="history", Key="k", Body=b"one")["VersionId"]
        client.put_object(Bucket="history", Key="k", Body=b"two")
        client.put_object(Bucket="history", Key="gone", Body=b"x")
        client.delete_object(Bucket="history", Key="gone")  # a delete marker is latest
        client.put_object(Bucket="history", Key="back", Body=b"y")
        marker = client.delete_object(Bucket="history", Key="back")["VersionId"]
        client.delete_object(Bucket="history", Key="back", VersionId=marker)
        client.put_bucket_versioning(
            Bucket="history", VersioningConfiguration={"Status": "Suspended"}
        )
        client.put_object(Bucket="history", Key="s", Body=b"suspended")
        before = versions_snapshot(client, "history")
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rx5")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    with serve(settings) as running:
        client = s3_client(running.url)
        after = versions_snapshot(client, "history")
        assert (
            client.get_object(Bucket="history", Key="k", VersionId=first)["Body"].read() == b"one"
        )
        assert client.get_object(Bucket="history", Key="k", VersionId="null")["Body"].read() == (
            b"null version"
        )
        assert client.get_bucket_versioning(Bucket="history")["Status"] == "Suspended"
    assert after == before
    assert len(before["versions"]) == 6
    assert len(before["markers"]) == 1
    assert before["listed"] == ["back", "k", "s"]


def lock_snapshot(client, bucket):
    """Each version's retention and legal hold, as HEAD answers them."""
    found = {}
    for entry in client.list_object_versions(Bucket=bucket).get("Versions", []):
        head = client.head_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])
        found[(entry["Key"], entry["VersionId"])] = (
            head.get("ObjectLockMode"),
            head.get("ObjectLockRetainUntilDate"),
            head.get("ObjectLockLegalHoldStatus"),
            head["ETag"],
        )
    return found


def test_reindex_keeps_object_lock(registry, tmp_path, monkeypatch):
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rx6")
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="vault", ObjectLockEnabledForBucket=True)
        client.put_object_lock_configuration(
            Bucket="vault",
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}},
            },
        )
        # Given with the write (in the manifest) and changed after it (lock referrers).
        first = client.put_object(
            Bucket="vault",
            Key="k",
            Body=b"one",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=until,
        )["VersionId"]
        client.put_object(Bucket="vault", Key="k", Body=b"two", ObjectLockLegalHoldStatus="ON")
        client.put_object_retention(
            Bucket="vault",
            Key="k",
            VersionId=first,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until + timedelta(days=1)},
            BypassGovernanceRetention=True,  # a change of mode
        )
        client.put_object_legal_hold(
            Bucket="vault", Key="k", VersionId=first, LegalHold={"Status": "ON"}
        )
        client.put_object_legal_hold(
            Bucket="vault", Key="k", VersionId=first, LegalHold={"Status": "OFF"}
        )
        before = lock_snapshot(client, "vault")
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rx6")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    with serve(settings) as running:
        client = s3_client(running.url)
        after = lock_snapshot(client, "vault")
        config = client.get_object_lock_configuration(Bucket="vault")["ObjectLockConfiguration"]
        assert config["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 2}
    assert after == before
    assert before[("k", first)][:3] == ("COMPLIANCE", until + timedelta(days=1), "OFF")
    assert sorted(v[2] for v in before.values()) == ["OFF", "ON"]


def check_index(data, capsys) -> tuple[int, dict]:
    """``reindex --check --json`` over the data directory: its exit code and document."""
    capsys.readouterr()
    code = main(["--data-dir", str(data), "reindex", "--check", "--json"])
    return code, json.loads(capsys.readouterr().out)


def every_row(data) -> dict[str, list[dict]]:
    """Every row of every table of the SQLite index, in a stable order."""
    engine = sa.create_engine(f"sqlite:///{data / 'index.db'}")
    try:
        with engine.connect() as conn:
            return {
                table.name: in_order(dict(row._mapping) for row in conn.execute(table.select()))
                for table in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def registry_state(registry, prefix):
    """Each repository of ``prefix`` with its tags and what they name."""
    with registry.http() as http:
        names = http.get("/v2/_catalog", params={"n": 10000}).json()["repositories"]
        state = {}
        for name in sorted(n for n in names if n.startswith(f"{prefix}/")):
            tags = http.get(f"/v2/{name}/tags/list").json().get("tags") or []
            state[name] = {
                tag: http.head(f"/v2/{name}/manifests/{tag}", headers=ACCEPT).headers[
                    "Docker-Content-Digest"
                ]
                for tag in tags
            }
    return state


ACCEPT = {"Accept": f"{MANIFEST}, application/vnd.oci.image.index.v1+json"}


def test_reindex_check_finds_nothing_after_traffic_and_a_row_deleted_behind_its_back(
    registry, tmp_path, monkeypatch, capsys
):
    """Every kind of row reindex rebuilds is written by ordinary requests; the check finds
    no difference, writes nothing to the index or the registry, then names exactly the rows
    deleted from the index behind the gateway's back, and nothing once reindex ran."""
    data = tmp_path / "data"
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rx7")
    settings = gateway_settings(registry, data, repository_prefix="rx7")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="plain")
        client.create_bucket(Bucket="empty")
        for n in range(5):
            client.put_object(Bucket="plain", Key=f"k{n}", Body=b"x" * n, Metadata={"n": str(n)})
        client.put_object(Bucket="plain", Key="k0", Body=b"rewritten")
        client.delete_object(Bucket="plain", Key="k1")
        client.copy_object(Bucket="plain", Key="copy", CopySource="plain/k2")
        client.put_object_tagging(
            Bucket="plain", Key="k3", Tagging={"TagSet": [{"Key": "t", "Value": "v"}]}
        )
        client.put_object(Bucket="plain", Key=KEY, Body=CONTENT)
        for kind, body, media_type in documents().values():
            assert attach(running, "plain", kind, body, media_type).status_code == 201
        live = client.create_multipart_upload(Bucket="plain", Key="mp/live")["UploadId"]
        client.upload_part(Bucket="plain", Key="mp/live", UploadId=live, PartNumber=1, Body=b"p")
        done = client.create_multipart_upload(Bucket="plain", Key="mp/done")["UploadId"]
        etag = client.upload_part(
            Bucket="plain", Key="mp/done", UploadId=done, PartNumber=1, Body=b"q"
        )["ETag"]
        client.complete_multipart_upload(
            Bucket="plain",
            Key="mp/done",
            UploadId=done,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        )
        client.create_bucket(Bucket="history", ObjectLockEnabledForBucket=True)
        client.put_object(Bucket="history", Key="v", Body=b"one")
        client.put_object(Bucket="history", Key="v", Body=b"two", ObjectLockLegalHoldStatus="ON")
        client.put_object(Bucket="history", Key="gone", Body=b"x")
        client.delete_object(Bucket="history", Key="gone")  # a delete marker
        rows, state = every_row(data), registry_state(registry, "rx7")
        code, found = check_index(data, capsys)
        assert (code, found["differences"]) == (0, [])
        assert found["registry"] == {
            "buckets": 3,
            "objects": 8,  # k0 k2 k3 k4 copy KEY mp/done, v
            "skipped": 0,
            "referrers": 4,
            "uploads": 1,
            "parts": 1,
        }
        assert every_row(data) == rows
        assert registry_state(registry, "rx7") == state
    engine = sa.create_engine(f"sqlite:///{data / 'index.db'}")
    try:
        with engine.begin() as conn:
            row = conn.execute(
                schema.objects.delete()
                .where(schema.objects.c.bucket == "plain", schema.objects.c.key == "k4")
                .returning(schema.objects.c.manifest_digest)
            ).scalar_one()
            conn.execute(schema.parts.delete().where(schema.parts.c.upload_id == live))
    finally:
        engine.dispose()
    code, found = check_index(data, capsys)
    assert code == 1
    assert found["differences"] == [
        {"table": "objects", "row": "plain/k4", "index": None, "registry": row, "fields": []},
        {
            "table": "parts",
            "row": f"{live}#1",
            "index": None,
            "registry": found["differences"][1]["registry"],
            "fields": [],
        },
    ]
    capsys.readouterr()
    assert main(["--data-dir", str(data), "reindex", "--check"]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"objects plain/k4: only in the registry ({row}); a reindex would add it"
    )
    assert main(["--data-dir", str(data), "reindex"]) == 0
    code, found = check_index(data, capsys)
    assert (code, found["differences"]) == (0, [])


def test_reindex_check_of_a_missing_index_changes_nothing(registry, tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "none"), "reindex", "--check"]) == 2
    assert "no index at" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
