"""Two gateway replicas on one PostgreSQL and one Zot, driven by boto3 against both.

Nothing but the database and the registry is shared, so what these check is what replicas on
separate hosts would see: writers of one key from both take turns (PostgreSQL advisory
locks), a delete on one is seen by the other at once, a multipart upload may be spread over
both, and ``reindex`` may run while they serve.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.domain import mapping
from tests.conftest import s3_client
from tests.fixtures.processes import ROOT, venv_python
from tests.fixtures.registries import RunningRegistry
from tests.integration.scaleout.conftest import PREFIX, Replicas

pytestmark = pytest.mark.integration


def query(url: str, statement: str, **parameters: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(sa.text(statement), parameters)
                return [tuple(row) for row in result]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def object_manifests(registry: RunningRegistry, bucket: str, key: str) -> list[str]:
    """Digests of every object manifest for ``key`` the registry still holds (tagged or not),
    read from the repository's index.json in Zot's storage, where untagged ones show too."""
    repository = mapping.locate(PREFIX, bucket, key).repository
    index = registry.log_path.parent / "storage" / repository / "index.json"
    found = []
    with registry.http() as direct:
        for entry in json.loads(index.read_text())["manifests"]:
            response = direct.get(
                f"/v2/{repository}/manifests/{entry['digest']}",
                headers={"Accept": mapping.MANIFEST_MEDIA_TYPE},
            )
            assert response.status_code == 200
            manifest = response.json()
            annotations = manifest.get("annotations", {})
            if (
                manifest.get("artifactType") == mapping.OBJECT_ARTIFACT_TYPE
                and annotations.get(mapping.A_KEY) == key
            ):
                found.append(entry["digest"])
    return found


@pytest.fixture
def shared_bucket(replicas: Replicas) -> str:
    name = f"r-{uuid.uuid4().hex[:12]}"
    s3_client(replicas.first.url).create_bucket(Bucket=name)
    return name


def test_same_key_puts_from_both_replicas_leave_one_version(
    replicas: Replicas, registry: RunningRegistry, shared_bucket: str
) -> None:
    """The last writer wins on both, the registry holds only its manifest (each loser's was
    deleted, its blob left to Zot's GC) and the index one row for the key."""
    threads = 8
    bodies = [[f"replica race {t}.{n} ".encode() * 8 for n in range(8)] for t in range(threads)]
    # a client per thread made beforehand, half on each replica: the PUTs overlap at once
    clients = [s3_client(replicas.both[t % 2].url) for t in range(threads)]
    urls = [gateway.url for gateway in replicas.both]

    def put(thread: int) -> None:
        for body in bodies[thread]:
            clients[thread].put_object(Bucket=shared_bucket, Key="raced", Body=body)

    for _ in range(3):
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, range(threads)))
        served = [
            s3_client(url).get_object(Bucket=shared_bucket, Key="raced")["Body"].read()
            for url in urls
        ]
        assert served[0] == served[1]
        assert any(served[0] in sent for sent in bodies)
        (kept,) = object_manifests(registry, shared_bucket, "raced")
        with registry.http() as direct:
            repository = mapping.locate(PREFIX, shared_bucket, "raced").repository
            manifest = direct.get(
                f"/v2/{repository}/manifests/{kept}",
                headers={"Accept": mapping.MANIFEST_MEDIA_TYPE},
            ).json()
        (layer,) = manifest["layers"]
        assert layer["digest"] == "sha256:" + hashlib.sha256(served[0]).hexdigest()
        rows = query(
            replicas.database_url,
            "SELECT manifest_digest FROM objects WHERE bucket = :bucket AND key = :key",
            bucket=shared_bucket,
            key="raced",
        )
        assert rows == [(kept,)]


def test_a_delete_on_one_replica_is_seen_by_the_other_at_once(
    replicas: Replicas, shared_bucket: str
) -> None:
    first, second = (s3_client(gateway.url) for gateway in replicas.both)
    for number in range(5):
        key = f"gone-{number}"
        first.put_object(Bucket=shared_bucket, Key=key, Body=b"soon gone")
        assert second.get_object(Bucket=shared_bucket, Key=key)["Body"].read() == b"soon gone"
        first.delete_object(Bucket=shared_bucket, Key=key)
        with pytest.raises(ClientError) as caught:
            second.get_object(Bucket=shared_bucket, Key=key)
        assert caught.value.response["Error"]["Code"] == "NoSuchKey"
        listed = second.list_objects_v2(Bucket=shared_bucket, Prefix=key).get("Contents", [])
        assert listed == []


def test_a_multipart_upload_spread_over_both_replicas(
    replicas: Replicas, shared_bucket: str
) -> None:
    first, second = (s3_client(gateway.url) for gateway in replicas.both)
    part_size = 5 * 1024 * 1024
    parts = [os.urandom(part_size), os.urandom(part_size), b"the short last part"]
    upload = first.create_multipart_upload(Bucket=shared_bucket, Key="spread")["UploadId"]
    sent = []
    for number, (client, body) in enumerate(zip((first, second, first), parts, strict=True), 1):
        etag = client.upload_part(
            Bucket=shared_bucket, Key="spread", UploadId=upload, PartNumber=number, Body=body
        )["ETag"]
        sent.append({"PartNumber": number, "ETag": etag})
    listed = second.list_parts(Bucket=shared_bucket, Key="spread", UploadId=upload)["Parts"]
    assert [part["PartNumber"] for part in listed] == [1, 2, 3]
    second.complete_multipart_upload(
        Bucket=shared_bucket, Key="spread", UploadId=upload, MultipartUpload={"Parts": sent}
    )
    whole = b"".join(parts)
    assert first.get_object(Bucket=shared_bucket, Key="spread")["Body"].read() == whole
    with pytest.raises(ClientError) as caught:  # done on the second: gone for the first too
        first.list_parts(Bucket=shared_bucket, Key="spread", UploadId=upload)
    assert caught.value.response["Error"]["Code"] == "NoSuchUpload"


def test_reindex_on_one_replica_while_the_other_serves(
    replicas: Replicas, registry: RunningRegistry, shared_bucket: str
) -> None:
    """Writes acknowledged by the serving replica while ``reindex`` rebuilds the index from
    the registry all survive the swap: none vanishes, no deleted key comes back."""
    serving = s3_client(replicas.second.url)
    written: set[str] = set()
    deleted: set[str] = set()
    stop = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        number = 0
        try:
            while not stop.is_set() and number < 400:
                key = f"w-{number:04d}"
                serving.put_object(Bucket=shared_bucket, Key=key, Body=key.encode())
                written.add(key)
                if number % 3 == 2:
                    doomed = f"w-{number - 1:04d}"
                    serving.delete_object(Bucket=shared_bucket, Key=doomed)
                    deleted.add(doomed)
                number += 1
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        environment = {
            **os.environ,
            **registry.env(),
            **replicas.env,
            "ARTIFACT_STORE_LOG_LEVEL": "warning",
        }
        command = [venv_python(), "-m", "gateway", "--data-dir", str(replicas.data_dirs[0])]
        for _ in range(2):
            done = subprocess.run(
                [*command, "reindex"],
                cwd=ROOT,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            assert done.stdout.startswith("reindexed ")
    finally:
        stop.set()
        writer.join(timeout=120)
    assert not failures, failures
    assert len(written) > 3, "the writer should have written during the reindex"
    expected = sorted(written - deleted)
    for gateway in replicas.both:
        client = s3_client(gateway.url)
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=shared_bucket, Prefix="w-")
        listed = [item["Key"] for page in pages for item in page.get("Contents", [])]
        assert listed == expected
    check = subprocess.run(
        [*command, "reindex", "--check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
