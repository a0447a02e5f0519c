"""The index on both databases it supports: SQLite (default) and PostgreSQL (replicas)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.domain.errors import BucketNotEmpty, NoSuchUpload
from gateway.domain.listing import list_entries
from gateway.domain.ports.index import Index, IndexBusy
from gateway.domain.store import Store
from gateway.domain.values import (
    AccessKeyRecord,
    BucketRecord,
    IndexContents,
    Layer,
    ObjectLock,
    ObjectRecord,
    PartRecord,
    ReferrerRecord,
    UploadRecord,
)
from gateway.index import migrate
from gateway.index import store as store_module
from gateway.index.base import Rows, millis
from gateway.index.measured import busy
from gateway.index.migrate import MIGRATIONS
from gateway.index.schema import (
    access_keys,
    buckets,
    health,
    objects,
    parts,
    referrers,
    uploads,
)
from gateway.index.store import IndexNotReady, SqlIndex

# Code-point order (UTF-8 byte order) differs from most locale collations on these.
KEYS = ["A", "B/x", "a", "a b", "a-b", "a/b", "a/c/d", "aa", "b", "é", "z", "~", "\U0001f600"]


def test_sql_index_has_the_index_ports_methods_with_their_parameters():
    """At run time what mypy checks in store.py: every method of every protocol of the port,
    with the same parameters (names, kinds, defaults)."""
    ports = [port for port in Index.__mro__ if port.__module__ == Index.__module__]
    names = sorted({name for port in ports for name in vars(port) if not name.startswith("_")})
    # 5 + 5 + 7 (versions: retag, set_lock) + 11 (uploads: count_live_uploads) + 4 + 5, and
    # ping, write_probe, close, replace_all, contents
    assert len(names) == 42

    def parameters(function: Any) -> list[tuple[str, Any, Any]]:
        return [
            (p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
        ]

    for name in names:
        assert inspect.iscoroutinefunction(getattr(SqlIndex, name)), name
        assert parameters(getattr(SqlIndex, name)) == parameters(getattr(Index, name)), name


def test_rows_must_match_their_table():
    """A record field without its column, or a codec for no field, fails at import."""
    with pytest.raises(ValueError, match=r"disagree on \['created'\]"):
        Rows(buckets, BucketRecord)
    with pytest.raises(ValueError, match=r"disagree on \['made'\]"):
        Rows(buckets, BucketRecord, created=millis("created_ms"), made=millis("created_ms"))
    Rows(buckets, BucketRecord, created=millis("created_ms"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'index.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def anyio_backend():
    return "asyncio"


def record(bucket: str, key: str, size: int = 1) -> ObjectRecord:
    return ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="sha256:" + "0" * 64,
        size=size,
        etag='"e"',
        last_modified=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        layers=(Layer("sha256:" + "1" * 64, size),),
        headers={"Content-Type": "text/plain"},
        metadata={"k": "ü"},
        checksums={"SHA256": "abc="},
    )


@pytest.mark.anyio
async def test_index_round_trip_and_order(database_url):
    index = await SqlIndex.open(database_url)
    try:
        bucket = "b" + str(abs(hash(database_url)) % 10**8)
        created = datetime(2026, 1, 1, tzinfo=UTC)
        assert await index.create_bucket(BucketRecord(bucket, created))
        assert not await index.create_bucket(BucketRecord(bucket, created))
        assert (await index.get_bucket(bucket)).created == created
        for key in reversed(KEYS):
            await index.put_object(record(bucket, key))
        await index.put_object(record(bucket, "a", size=7))
        assert (await index.get_object(bucket, "a")).size == 7
        assert await index.get_object(bucket, "a") == record(bucket, "a", size=7)
        scanned = await index.scan(bucket, "", inclusive=True, limit=100)
        assert [r.key for r in scanned] == sorted(KEYS, key=lambda k: k.encode())
        store = Store(registry=None, index=index)  # type: ignore[arg-type]
        page = await list_entries(store, bucket, prefix="a", delimiter="/", max_keys=3)
        assert [r.key for r in page.objects] == ["a", "a b", "a-b"]
        assert page.truncated
        rest = await list_entries(store, bucket, prefix="a", delimiter="/", after=page.last)
        assert [r.key for r in rest.objects] == ["aa"]
        assert rest.prefixes == ["a/"]
        with pytest.raises(BucketNotEmpty):
            await index.delete_bucket(bucket)
        assert (await index.delete_object(bucket, "a")).key == "a"
        assert await index.delete_object(bucket, "a") is None
        assert len(await index.scan(bucket, "", inclusive=True, limit=100)) == len(KEYS) - 1
        await index.replace_all([BucketRecord(bucket, created)], [record(bucket, "only")])
        assert [r.key for r in await index.scan(bucket, "", inclusive=True, limit=10)] == ["only"]
        await index.delete_object(bucket, "only")
        await index.delete_bucket(bucket)
        assert await index.get_bucket(bucket) is None
    finally:
        await index.close()


@pytest.mark.anyio
async def test_list_buckets_pages_in_code_point_order(database_url):
    """Prefix, region and paging in S3's order ("-" < "." < digits < letters), which a
    PostgreSQL locale collation would not give."""
    index = await SqlIndex.open(database_url)
    stem = "lb" + str(abs(hash(database_url)) % 10**6)
    created = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    names = [f"{stem}{tail}" for tail in ("ab", "a-b", "b", "a.b", "a0", "a-c")]
    try:
        for name in names:
            assert await index.create_bucket(BucketRecord(name, created))
        await index.create_bucket(BucketRecord(f"{stem}a1", created, region="eu-west-1"))
        ordered = sorted([*names, f"{stem}a1"])

        async def listed(**options: Any) -> list[str]:
            return [r.name for r in await index.list_buckets(prefix=stem, **options)]

        assert await listed() == ordered
        assert await listed(region="us-east-1") == sorted(names)
        assert await listed(region="eu-west-1") == [f"{stem}a1"]
        assert await listed(region="nowhere") == []
        assert await listed(limit=2) == ordered[:2]
        assert await listed(after=ordered[1], limit=3) == ordered[2:5]
        assert await listed(after=ordered[-1]) == []
        assert [r.name for r in await index.list_buckets(prefix=f"{stem}a-")] == [
            f"{stem}a-b",
            f"{stem}a-c",
        ]
        assert await index.list_buckets(prefix=f"{stem}A") == []  # not LIKE's case folding
        assert await index.list_buckets(prefix=f"{stem}a_") == []  # nor its wildcards
        everything = [r.name for r in await index.list_buckets()]
        assert [n for n in everything if n.startswith(stem)] == ordered
    finally:
        for name in [*names, f"{stem}a1"]:
            await index.delete_bucket(name)
        await index.close()


async def applied_revisions(database_url: str) -> list[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            return [row.version_num for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_migrations_are_idempotent(database_url):
    """Opening again runs the migrations again: they find the database at head, change
    nothing, and what was written before is still there."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    bucket = "m" + str(abs(hash(database_url)) % 10**8)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    first = await SqlIndex.open(database_url)
    try:
        assert await applied_revisions(database_url) == [head]
        assert await first.create_bucket(BucketRecord(bucket, created))
        await first.put_object(record(bucket, "kept"))
    finally:
        await first.close()
    second = await SqlIndex.open(database_url)
    try:
        assert await applied_revisions(database_url) == [head]
        assert await second.get_bucket(bucket) == BucketRecord(bucket, created)
        assert await second.get_object(bucket, "kept") == record(bucket, "kept")
        await second.delete_object(bucket, "kept")
        await second.delete_bucket(bucket)
    finally:
        await second.close()


def part(number: int, size: int = 10, tag: str = "a") -> PartRecord:
    return PartRecord(
        part_number=number,
        size=size,
        etag=f'"{tag * 32}"',
        digest="sha256:" + tag * 64,
        last_modified=datetime(2026, 1, 2, tzinfo=UTC),
        manifest_digest="sha256:" + str(number) * 64,
        checksum="AAAAAA==",
    )


def upload(bucket: str, key: str, upload_id: str, hour: int = 1) -> UploadRecord:
    return UploadRecord(
        upload_id=upload_id,
        bucket=bucket,
        key=key,
        initiated=datetime(2026, 1, 1, hour, tzinfo=UTC),
        headers={"Content-Type": "x/y"},
        metadata={"m": "ü"},
        checksum_algorithm="CRC32",
        checksum_type="COMPOSITE",
    )


@pytest.mark.anyio
async def test_uploads_and_parts(database_url):
    index = await SqlIndex.open(database_url)
    try:
        bucket = "u" + str(abs(hash(database_url)) % 10**8)
        await index.create_bucket(BucketRecord(bucket, datetime(2026, 1, 1, tzinfo=UTC)))
        elsewhere = await index.count_live_uploads()  # other tests' (one PostgreSQL server)
        for upload_id, key in [("01", "b"), ("02", "a/1"), ("03", "b"), ("04", "c")]:
            await index.create_upload(upload(bucket, key, upload_id, hour=int(upload_id)))
        assert await index.count_live_uploads() == elsewhere + 4
        assert await index.get_upload("01") == upload(bucket, "b", "01", hour=1)

        assert await index.put_part("01", part(2)) is None
        assert await index.put_part("01", part(1)) is None
        replaced = await index.put_part("01", part(2, size=20, tag="b"))
        assert replaced == part(2)
        assert [(p.part_number, p.size) for p in await index.list_parts("01")] == [(1, 10), (2, 20)]
        assert [p.part_number for p in await index.list_parts("01", after=1, limit=5)] == [2]

        def ids(found: list[UploadRecord]) -> list[str]:
            return [u.upload_id for u in found]

        assert ids(await index.list_uploads(bucket, "", "", "", 10)) == ["02", "01", "03", "04"]
        assert ids(await index.list_uploads(bucket, "", "b", "01", 10)) == ["03", "04"]
        assert ids(await index.list_uploads(bucket, "", "b", "", 10)) == ["04"]
        assert ids(await index.list_uploads(bucket, "b", "", "", 2)) == ["01", "03"]

        finished = record(bucket, "b", size=30)
        await index.complete_upload("01", finished, {"etag": "e"})
        assert await index.get_upload("01") is None
        assert await index.completed_upload("01") == {"etag": "e"}
        assert await index.list_parts("01") == []
        assert (await index.get_object(bucket, "b")).size == 30
        with pytest.raises(NoSuchUpload):
            await index.complete_upload("01", finished, {})
        with pytest.raises(NoSuchUpload):
            await index.put_part("01", part(3))

        assert await index.count_live_uploads() == elsewhere + 3  # completed: not in flight
        await index.put_part("03", part(1))
        assert [p.part_number for p in await index.delete_upload("03")] == [1]
        assert await index.count_live_uploads() == elsewhere + 2
        with pytest.raises(NoSuchUpload):
            await index.delete_upload("03")

        stale = await index.stale_uploads(datetime(2026, 1, 1, 3, tzinfo=UTC))
        assert ids(stale) == ["02"]
        assert await index.forget_completed_uploads(datetime(2027, 1, 1, tzinfo=UTC)) == 1
        assert await index.completed_upload("01") is None

        await index.put_part("04", part(1))
        await index.delete_object(bucket, "b")
        ended, released = await index.delete_bucket(bucket)
        assert released == [("c", part(1).manifest_digest)]
        assert ids(ended) == ["02", "04"]
        assert await index.get_upload("02") is None
        assert await index.list_parts("04") == []
    finally:
        await index.close()


@pytest.mark.anyio
async def test_the_readiness_probe_commits_one_row_per_name(database_url):
    """An upsert: probes of several processes at once never collide on the key, and the
    write is committed (another connection sees it)."""
    name = "probe-" + str(abs(hash(database_url)) % 10**8)
    index = await SqlIndex.open(database_url)
    other = create_async_engine(database_url)
    try:
        await asyncio.gather(*(index.write_probe(name) for _ in range(8)))
        query = sa.select(health.c.checked_ms).where(health.c.name == name)
        async with other.connect() as conn:
            first = (await conn.execute(query)).scalars().all()
        assert len(first) == 1
        await asyncio.sleep(0.01)
        await index.write_probe(name)
        async with other.connect() as conn:
            (second,) = (await conn.execute(query)).scalars().all()
        assert second > first[0]
    finally:
        await other.dispose()
        await index.close()


def referrer(
    bucket: str, key: str, number: int, kind: str = "sbom", subject: str = "sha256:" + "0" * 64
) -> ReferrerRecord:
    return ReferrerRecord(
        bucket=bucket,
        key=key,
        subject=subject,
        digest=f"sha256:{number:064x}",
        kind=kind,
        artifact_type="application/spdx+json",
        media_type="application/spdx+json",
        blob_digest="sha256:" + "2" * 64,
        size=100 + number,
        manifest_size=500,
        created=datetime(2026, 1, 2, 3, 4, number, 123000, tzinfo=UTC),
        predicate_type="https://slsa.dev/provenance/v1" if kind == "attestation" else None,
    )


@pytest.mark.anyio
async def test_referrers(database_url):
    index = await SqlIndex.open(database_url)
    kinds = ("signature", "sbom", "attestation")
    try:
        bucket = "r" + str(abs(hash(database_url)) % 10**8)
        await index.create_bucket(BucketRecord(bucket, datetime(2026, 1, 1, tzinfo=UTC)))
        key = "é/k"  # non-ASCII and a slash: the key column's collation must not matter
        await index.put_object(record(bucket, key))
        current = record(bucket, key).manifest_digest
        assert await index.get_object_counted(bucket, key, kinds) == (
            record(bucket, key),
            {"signature": 0, "sbom": 0, "attestation": 0},
        )
        assert await index.get_object_counted(bucket, "missing", kinds) is None

        made = [
            referrer(bucket, key, 3, "attestation"),
            referrer(bucket, key, 1, "sbom"),
            referrer(bucket, key, 2, "sbom"),
            referrer(bucket, key, 4, "sbom", subject="sha256:" + "9" * 64),  # an old version
            referrer(bucket, "other", 5, "signature"),
        ]
        for item in made:
            await index.put_referrer(item)
        await index.put_referrer(made[1])  # the same again replaces its row
        listed = await index.list_referrers(bucket, key, current)
        assert listed == [made[1], made[2], made[0]]  # oldest first
        assert await index.list_referrers(bucket, key, current, kind="attestation") == [made[0]]
        assert await index.list_referrers(
            bucket, key, current, kind="sbom", artifact_type="application/spdx+json"
        ) == [made[1], made[2]]
        assert await index.list_referrers(bucket, key, current, artifact_type="x/y") == []
        _, counts = await index.get_object_counted(bucket, key, kinds)
        assert counts == {"signature": 0, "sbom": 2, "attestation": 1}

        assert await index.get_referrer(bucket, key, current, made[0].digest) == made[0]
        assert await index.get_referrer(bucket, key, current, made[3].digest) is None
        assert await index.delete_referrer(bucket, key, made[0].digest)
        assert not await index.delete_referrer(bucket, key, made[0].digest)

        gone = await index.delete_referrers(bucket, key, keep=current)
        assert gone == [made[3]]
        remaining = await index.delete_referrers(bucket, key)
        assert {r.digest for r in remaining} == {made[1].digest, made[2].digest}
        assert await index.list_referrers(bucket, "other", current) == [made[4]]
        await index.delete_referrers(bucket, "other")
        await index.delete_object(bucket, key)
        await index.delete_bucket(bucket)
    finally:
        await index.close()


def access_key(number: int, owner: str = "alice") -> AccessKeyRecord:
    return AccessKeyRecord(
        access_key_id=f"AK{number:06d}",
        secret_sealed=f"sealed-{number}",
        owner=owner,
        created=datetime(2026, 1, 3, 4, 5, number, 250000, tzinfo=UTC),
        subject=f"sub-{owner}",
        roles=frozenset({"writer", "reader"}),
        groups=frozenset({"/team-b", "/team-a"}),
        policy='{"Version": "2012-10-17", "Statement": []}' if number % 2 else None,
        description=f"key {number}",
    )


@pytest.mark.anyio
async def test_access_keys(database_url):
    index = await SqlIndex.open(database_url)
    owner = "o" + str(abs(hash(database_url)) % 10**8)
    try:
        made = [access_key(2, owner), access_key(1, owner), access_key(3, owner)]
        for item in made:
            await index.create_access_key(item)
        assert await index.get_access_key(made[0].access_key_id) == made[0]
        assert await index.get_access_key("missing") is None
        assert await index.list_access_keys(owner) == [made[1], made[0], made[2]]  # by creation
        assert await index.list_access_keys("nobody") == []

        when = datetime(2026, 2, 1, tzinfo=UTC)
        assert not await index.revoke_access_key(made[0].access_key_id, "someone else", when)
        assert await index.revoke_access_key(made[0].access_key_id, owner, when)
        assert not await index.revoke_access_key(made[0].access_key_id, owner, when)
        assert await index.get_access_key(made[0].access_key_id) is None
        assert await index.list_access_keys(owner) == [made[1], made[2]]
    finally:
        await index.close()


async def raw_rows(database_url: str, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    """A table's rows as stored (JSON columns parsed), read past the index."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(table.select().where(*where).order_by(*table.primary_key))
            return [dict(row._mapping) for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_what_each_table_stores(database_url):
    """The columns' values, exactly: times as epoch milliseconds, layers as [digest, size]
    pairs, roles and groups as sorted lists; a row written through the index reads back."""
    index = await SqlIndex.open(database_url)
    bucket = "s" + str(abs(hash(database_url)) % 10**8)
    owner = "w" + str(abs(hash(database_url)) % 10**8)
    try:
        created = datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)
        assert await index.create_bucket(BucketRecord(bucket, created, "eu-1", {"v": "on"}))
        stored = record(bucket, "k")
        stored = ObjectRecord(**{**vars(stored), "layers": (Layer("sha256:x", 1), Layer("y", 2))})
        await index.put_object(stored)
        await index.create_upload(upload(bucket, "u", "s1"))
        await index.create_upload(upload(bucket, "v", "s2"))
        await index.put_part("s1", part(1))
        await index.complete_upload("s2", record(bucket, "v"), {"etag": '"e-1"'})
        await index.put_referrer(referrer(bucket, "k", 1, "attestation"))
        await index.create_access_key(access_key(7, owner))
        await index.create_access_key(access_key(8, owner))
        await index.revoke_access_key(access_key(8).access_key_id, owner, created)

        assert await raw_rows(database_url, buckets, buckets.c.name == bucket) == [
            {"name": bucket, "created_ms": 1767225600001, "region": "eu-1", "settings": {"v": "on"}}
        ]
        assert (await raw_rows(database_url, objects, objects.c.bucket == bucket))[0] == {
            "bucket": bucket,
            "key": "k",
            "manifest_digest": "sha256:" + "0" * 64,
            "size": 1,
            "etag": '"e"',
            "last_modified_ms": 1767323045678,
            "layers": [["sha256:x", 1], ["y", 2]],
            "headers": {"Content-Type": "text/plain"},
            "metadata": {"k": "ü"},
            "checksums": {"SHA256": "abc="},
            "tags": {},
            "tagging": None,
            "version_id": None,  # the null version: a bucket never versioned
            "lock": None,  # no Object Lock state
        }
        common = {
            "bucket": bucket,
            "initiated_ms": 1767229200000,
            "headers": {"Content-Type": "x/y"},
            "metadata": {"m": "ü"},
            "checksum_algorithm": "CRC32",
            "checksum_type": "COMPOSITE",
            "length": None,
            "tags": {},
            "lock": None,  # no x-amz-object-lock-* on CreateMultipartUpload
        }
        assert await raw_rows(database_url, uploads, uploads.c.bucket == bucket) == [
            {"upload_id": "s1", "key": "u", **common, "completed_ms": None, "result": None},
            {
                "upload_id": "s2",
                "key": "v",
                **common,
                "completed_ms": 1767323045678,
                "result": {"etag": '"e-1"'},
            },
        ]
        assert await raw_rows(database_url, parts, parts.c.upload_id == "s1") == [
            {
                "upload_id": "s1",
                "part_number": 1,
                "size": 10,
                "etag": '"' + "a" * 32 + '"',
                "digest": "sha256:" + "a" * 64,
                "last_modified_ms": 1767312000000,
                "manifest_digest": "sha256:" + "1" * 64,
                "checksum": "AAAAAA==",
            }
        ]
        assert await raw_rows(database_url, referrers, referrers.c.bucket == bucket) == [
            {
                "bucket": bucket,
                "key": "k",
                "digest": f"sha256:{1:064x}",
                "subject": "sha256:" + "0" * 64,
                "kind": "attestation",
                "artifact_type": "application/spdx+json",
                "media_type": "application/spdx+json",
                "blob_digest": "sha256:" + "2" * 64,
                "size": 101,
                "manifest_size": 500,
                "created_ms": 1767323041123,
                "predicate_type": "https://slsa.dev/provenance/v1",
            }
        ]
        keys = {
            "owner": owner,
            "subject": f"sub-{owner}",
            "roles": ["reader", "writer"],
            "groups": ["/team-a", "/team-b"],
        }
        assert await raw_rows(database_url, access_keys, access_keys.c.owner == owner) == [
            {
                "access_key_id": "AK000007",
                "secret_sealed": "sealed-7",
                **keys,
                "policy": '{"Version": "2012-10-17", "Statement": []}',
                "description": "key 7",
                "created_ms": 1767413107250,
                "revoked_ms": None,
            },
            {
                "access_key_id": "AK000008",
                "secret_sealed": "sealed-8",
                **keys,
                "policy": None,
                "description": "key 8",
                "created_ms": 1767413108250,
                "revoked_ms": 1767225600001,
            },
        ]
        assert await index.get_bucket(bucket) == BucketRecord(bucket, created, "eu-1", {"v": "on"})
        assert await index.get_object(bucket, "k") == stored
        assert await index.get_upload("s2", live=False) == UploadRecord(
            **{**vars(upload(bucket, "v", "s2")), "completed": True}
        )
        assert await index.list_parts("s1") == [part(1)]
        await index.delete_referrers(bucket, "k")
        await index.delete_object(bucket, "k")
        await index.delete_object(bucket, "v")
        await index.delete_bucket(bucket)
    finally:
        await index.close()


@pytest.mark.anyio
async def test_tags_of_objects_and_uploads(database_url):
    """An object's tag set and its tagging manifest, and an upload's tags, round-trip."""
    index = await SqlIndex.open(database_url)
    try:
        bucket = "tg" + str(abs(hash(database_url)) % 10**8)
        assert await index.create_bucket(BucketRecord(bucket, datetime(2026, 1, 1, tzinfo=UTC)))
        tagged = replace(
            record(bucket, "k"), tags={"a": "1", "ü 文": ""}, tagging="sha256:" + "9" * 64
        )
        await index.put_object(tagged)
        assert await index.get_object(bucket, "k") == tagged
        found = await index.get_object_counted(bucket, "k", ("signature",))
        assert found == (tagged, {"signature": 0})
        await index.put_object(record(bucket, "k"))
        assert (await index.get_object(bucket, "k")).tags == {}
        assert (await index.get_object(bucket, "k")).tagging is None
        live = replace(upload(bucket, "k", "tags-" + bucket), tags={"team": "blue"})
        await index.create_upload(live)
        assert (await index.get_upload(live.upload_id)).tags == {"team": "blue"}
        await index.delete_upload(live.upload_id)
        await index.delete_object(bucket, "k")
        await index.delete_bucket(bucket)
    finally:
        await index.close()


@pytest.mark.anyio
async def test_an_uploads_object_lock_round_trips(database_url):
    """The lock headers of CreateMultipartUpload, kept on the upload's row until Complete."""
    index = await SqlIndex.open(database_url)
    try:
        bucket = "lk" + str(abs(hash(database_url)) % 10**8)
        assert await index.create_bucket(BucketRecord(bucket, datetime(2026, 1, 1, tzinfo=UTC)))
        until = datetime(2027, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
        lock = ObjectLock(mode="COMPLIANCE", until=until, legal_hold=True)
        live = replace(upload(bucket, "k", "lock-" + bucket), lock=lock)
        await index.create_upload(live)
        assert (await index.get_upload(live.upload_id)) == live
        [row] = await raw_rows(database_url, uploads, uploads.c.upload_id == live.upload_id)
        assert row["lock"] == {
            "mode": "COMPLIANCE",
            "until": 1801627506789,
            "hold": True,
            "manifest": None,
        }
        await index.delete_upload(live.upload_id)
        await index.delete_bucket(bucket)
    finally:
        await index.close()


@pytest.mark.anyio
async def test_migration_0005_gives_existing_rows_no_tags(tmp_path):
    """Rows written before tags existed read back with an empty tag set (SQLite; the
    PostgreSQL database of this module is already at head)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(migrate._config(sync), "0004"))
            await conn.execute(sa.text("INSERT INTO buckets VALUES ('old', 0, 'us-east-1', '{}')"))
            await conn.execute(
                sa.text(
                    "INSERT INTO objects VALUES ('old', 'k', 'sha256:0', 1, '\"e\"', 0, "
                    "'[]', '{}', '{}', '{}')"
                )
            )
    finally:
        await engine.dispose()
    index = await SqlIndex.open(url)
    try:
        found = await index.get_object("old", "k")
        assert found is not None
        assert (found.tags, found.tagging) == ({}, None)
    finally:
        await index.close()


def mine(contents: IndexContents, bucket: str) -> IndexContents:
    """The rows of one bucket (the PostgreSQL database is shared by this module's tests)."""
    ids = {u.upload_id for u in contents.uploads if u.bucket == bucket}
    return IndexContents(
        buckets=tuple(b for b in contents.buckets if b.name == bucket),
        objects=tuple(o for o in contents.objects if o.bucket == bucket),
        versions=tuple(v for v in contents.versions if v.bucket == bucket),
        referrers=tuple(r for r in contents.referrers if r.bucket == bucket),
        uploads=tuple(u for u in contents.uploads if u.upload_id in ids),
        parts=tuple((u, p) for u, p in contents.parts if u in ids),
    )


@pytest.mark.anyio
async def test_contents_reads_back_what_replace_all_wrote(database_url):
    """``contents`` (what ``reindex --check`` compares) returns every row ``replace_all``
    swaps, record for record, completed uploads included and marked; it changes nothing."""
    bucket = "c" + str(abs(hash(database_url)) % 10**8)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    live = record(bucket, "k")
    older = replace(live, key="v", version_id="0001", tags={"t": "1"})
    marker = replace(live, key="v", version_id="0002", delete_marker=True, size=0, layers=())
    referrer = ReferrerRecord(
        bucket, "k", live.manifest_digest, "sha256:" + "7" * 64, "sbom", "a/t", "m/t",
        "sha256:" + "8" * 64, 3, 400, created,
    )  # fmt: skip
    one, two = f"{bucket}-1", f"{bucket}-2"
    flying, done = upload(bucket, "u", one), upload(bucket, "d", two)
    index = await SqlIndex.open(database_url)
    try:
        await index.replace_all(
            [BucketRecord(bucket, created, settings={"versioning": "Enabled"})],
            [live],
            [referrer],
            [flying, done],
            [(one, part(1)), (one, part(2)), (two, part(1))],
            version_records=[older, marker],
        )
        await index.complete_upload(two, record(bucket, "d"), {"ETag": '"x"'})
        found = mine(await index.contents(), bucket)
        assert found == mine(await index.contents(), bucket)
        assert found.buckets == (BucketRecord(bucket, created, settings={"versioning": "Enabled"}),)
        assert found.objects == (record(bucket, "d"), live)  # in key order
        assert found.versions == (older, marker)
        assert found.referrers == (referrer,)
        assert found.uploads == (flying, replace(done, completed=True))
        assert found.parts == ((one, part(1)), (one, part(2)))
        await index.delete_upload(one)
        await index.forget_completed_uploads(datetime.now(UTC))
        await index.delete_referrers(bucket, "k")
        for key in ("k", "d"):
            await index.delete_object(bucket, key)
        for version in ("0001", "0002"):
            await index.remove_version(bucket, "v", version)
        await index.delete_bucket(bucket)
        assert mine(await index.contents(), bucket) == IndexContents()
    finally:
        await index.close()


@pytest.mark.anyio
async def test_opening_without_migrating_changes_nothing(tmp_path):
    """``migrate=False`` (``reindex --check``): no file is made where there is none, a
    schema behind this code's is refused, one at head opens."""
    path = tmp_path / "sub" / "index.db"
    url = f"sqlite+aiosqlite:///{path}"
    with pytest.raises(IndexNotReady, match="no index at"):
        await SqlIndex.open(url, migrate=False)
    assert not path.parent.exists()
    engine = create_async_engine(url.replace("/sub/", "/"))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(migrate._config(sync), "0006"))
    finally:
        await engine.dispose()
    old = url.replace("/sub/", "/")
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    with pytest.raises(IndexNotReady, match=f"at revision 0006, this gateway's at {head}"):
        await SqlIndex.open(old, migrate=False)
    assert await applied_revisions(old) == ["0006"]
    await (await SqlIndex.open(old)).close()  # the gateway's start migrates it
    index = await SqlIndex.open(old, migrate=False)
    try:
        assert await index.contents() == IndexContents()
    finally:
        await index.close()


async def _hold_buckets_lock(database_url: str) -> Any:
    """A second connection holding the buckets table's write lock: a raw one, outside the
    index, as another process's writer would."""
    engine = create_async_engine(database_url)
    conn = await engine.connect()
    if database_url.startswith("sqlite"):
        await conn.exec_driver_sql("BEGIN IMMEDIATE")  # the database's one write lock
    else:
        await conn.exec_driver_sql("LOCK TABLE buckets IN ACCESS EXCLUSIVE MODE")
    return engine, conn


@pytest.mark.anyio
async def test_a_write_blocked_past_the_lock_wait_is_index_busy_and_commits_nothing(
    database_url, monkeypatch
):
    """Another writer holding the index past the wait: IndexBusy (S3 SlowDown, retried by
    clients), not an internal error; once the lock is gone the same write succeeds."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 200)
    index = await SqlIndex.open(database_url)
    engine, conn = await _hold_buckets_lock(database_url)
    bucket = "busy" + str(abs(hash(database_url)) % 10**8)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with pytest.raises(IndexBusy):
            await asyncio.wait_for(index.create_bucket(BucketRecord(bucket, created)), 30)
    finally:
        await conn.rollback()
        await conn.close()
        await engine.dispose()
    try:
        assert await index.get_bucket(bucket) is None
        assert await index.create_bucket(BucketRecord(bucket, created))
    finally:
        await index.delete_bucket(bucket)
        await index.close()


def test_other_database_errors_are_not_busy():
    assert busy(sa.exc.OperationalError("x", {}, Exception("database is locked")))
    assert not busy(sa.exc.OperationalError("x", {}, Exception("no such table: buckets")))

    class Refused(Exception):
        sqlstate = "55P03"

    assert busy(sa.exc.DBAPIError("x", {}, Refused("canceling statement due to lock timeout")))
    Refused.sqlstate = "23505"
    assert not busy(sa.exc.DBAPIError("x", {}, Refused("duplicate key")))
