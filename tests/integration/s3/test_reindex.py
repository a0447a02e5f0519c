"""Losing the index loses nothing: ``reindex`` rebuilds it from the registry alone."""

import pytest

from gateway.__main__ import main
from tests.conftest import gateway_settings, s3_client
from tests.fixtures.servers import serve


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
    code = main(["--registry-url", registry.url, "--data-dir", str(data), "reindex"])
    assert code == 0
    with serve(settings) as running:
        after = snapshot(s3_client(running.url))
    assert set(after) == {"alpha", "empty-one"}
    assert after == before
    assert len(after["alpha"]["objects"]) == 31


@pytest.mark.parametrize("prefix", ["rx2"])
def test_reindex_of_empty_registry_prefix(registry, tmp_path, prefix, monkeypatch, capsys):
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", prefix)
    assert main(["--registry-url", registry.url, "--data-dir", str(tmp_path), "reindex"]) == 0
    assert "reindexed 0 buckets, 0 objects" in capsys.readouterr().out
