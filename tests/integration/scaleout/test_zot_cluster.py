"""The gateway over Zot's scale-out cluster: 3 members of the same Zot, on local storage and
then on Zot's S3 storage driver (versitygw) with Redis as the shared cache.

A bucket's keys live in up to 256 repositories (``<prefix>/<bucket>/<2 hex digits>``), and
each repository is owned by one member: a bucket is spread over the members, and a gateway
may talk to any member (the others proxy). On S3 the members keep nothing of their own, so
a member that dies is replaced by a new one on an empty disk that serves everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway.domain import mapping
from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.postgres import create_database
from tests.fixtures.processes import GatewayProcess, start_gateway
from tests.fixtures.registries import RunningRegistry, free_port
from tests.fixtures.scale_out import ScaleOut
from tests.fixtures.zot_cluster import ZotCluster, zot_cluster
from tests.integration.scaleout.conftest import READY_SECONDS

pytestmark = pytest.mark.integration
PREFIX = "cluster"
KEYS = [f"spread/{n}" for n in range(24)]


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZotCluster]:
    with zot_cluster(tmp_path_factory.mktemp("zot-cluster"), "local") as cluster:
        yield cluster


def gateway_on(
    member: RunningRegistry, database_url: str, data_dir: Path, shared: Path
) -> GatewayProcess:
    env = {
        "ARTIFACT_STORE_DATABASE_URL": database_url,
        "ARTIFACT_STORE_REPOSITORY_PREFIX": PREFIX,
        "ARTIFACT_STORE_RECEIPT_KEY_FILE": str(shared / "receipt.key"),
        "ARTIFACT_STORE_CREDENTIALS_KEY": (shared / "credentials.key").read_text(),
    }
    return start_gateway(
        member,
        data_dir,
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        env=env,
        ready_seconds=READY_SECONDS,
    )


def shared_keys(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "credentials.key").write_text(Fernet.generate_key().decode())
    return directory


def put_spread(url: str) -> tuple[str, dict[str, bytes]]:
    bucket = f"c-{uuid.uuid4().hex[:10]}"
    client = s3_client(url)
    client.create_bucket(Bucket=bucket)
    bodies = {key: f"{key} on the cluster ".encode() * 40 for key in KEYS}
    for key, body in bodies.items():
        client.put_object(Bucket=bucket, Key=key, Body=body)
    return bucket, bodies


def owners(cluster: ZotCluster, bucket: str, prefix: str = PREFIX) -> dict[str, int]:
    return {key: cluster.owner(mapping.locate(prefix, bucket, key).repository) for key in KEYS}


def test_a_bucket_spreads_over_the_members_and_any_member_serves_it(
    local_cluster: ZotCluster, postgres_url: str, tmp_path: Path
) -> None:
    database = create_database(postgres_url, f"cluster_{uuid.uuid4().hex[:8]}")
    shared = shared_keys(tmp_path / "shared")
    first = gateway_on(local_cluster.member(0), database, tmp_path / "a", shared)
    try:
        bucket, bodies = put_spread(first.url)
        owned = owners(local_cluster, bucket)
        assert len(set(owned.values())) == 3, "24 keys' repositories should hit every member"
        # Each repository is stored by its owner only (local storage: the proof of where
        # it went, and of the hash this test computes).
        for key, owner in owned.items():
            repository = mapping.locate(PREFIX, bucket, key).repository
            holders = [
                number
                for number in range(3)
                if (local_cluster.root / f"member{number}" / "storage" / repository).is_dir()
            ]
            assert holders == [owner], key
        # A second gateway, on another member, serves every key through it.
        second = gateway_on(local_cluster.member(2), database, tmp_path / "b", shared)
        try:
            client = s3_client(second.url)
            for key, body in bodies.items():
                assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body
            client.delete_object(Bucket=bucket, Key=KEYS[0])  # writes proxied too
            listed = client.list_objects_v2(Bucket=bucket)["KeyCount"]
            assert listed == len(KEYS) - 1
        finally:
            second.stop()
    finally:
        first.stop()


def test_on_s3_a_dead_members_replacement_on_an_empty_disk_serves_every_blob(
    stack: ScaleOut,
) -> None:
    """The scale-out profile's cluster: members on S3 storage with Redis."""
    cluster = stack.cluster
    client = s3_client(stack.url, retries={"max_attempts": 4, "mode": "standard"})
    bucket, bodies = put_spread(stack.url)
    owned = owners(cluster, bucket, "s3")
    assert len(set(owned.values())) == 3
    # Nothing on the members' own disks: the repositories are in the S3 bucket.
    assert not any((cluster.root / f"member{n}" / "storage" / "s3").exists() for n in range(3))
    cluster.kill(1)
    for key, owner in owned.items():  # the live members' repositories are still served
        if owner != 1:
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[key]
    replacement = cluster.restart(1, fresh_disk=True)
    assert replacement.url == f"http://127.0.0.1:{cluster.ports[1]}"
    for key, body in bodies.items():  # every object, the dead member's included
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    # Every blob from every member directly (each proxies what it does not own).
    for key in KEYS:
        location = mapping.locate("s3", bucket, key)
        for number in range(3):
            with cluster.member(number).http() as direct:
                manifest = direct.get(
                    f"/v2/{location.repository}/manifests/{location.tag}",
                    headers={"Accept": mapping.MANIFEST_MEDIA_TYPE},
                )
                assert manifest.status_code == 200, (key, number)
                (layer,) = manifest.json()["layers"]
                blob = direct.get(f"/v2/{location.repository}/blobs/{layer['digest']}")
                assert blob.status_code == 200
                assert blob.content == bodies[key]
