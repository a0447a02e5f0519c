"""The index on both databases it supports: SQLite (default) and PostgreSQL (replicas)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.domain.errors import BucketNotEmpty
from gateway.domain.listing import list_entries
from gateway.domain.store import Store
from gateway.domain.values import BucketRecord, Layer, ObjectRecord
from gateway.index.store import SqlIndex
from tests.fixtures.postgres import postgres_server

# Code-point order (UTF-8 byte order) differs from most locale collations on these.
KEYS = ["A", "B/x", "a", "a b", "a-b", "a/b", "a/c/d", "aa", "b", "é", "z", "~", "\U0001f600"]


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


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
async def test_migrations_are_idempotent(database_url):
    first = await SqlIndex.open(database_url)
    await first.close()
    second = await SqlIndex.open(database_url)
    await second.ping()
    await second.close()
