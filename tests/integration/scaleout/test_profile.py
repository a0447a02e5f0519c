"""The ``scale-out`` profile (tests/fixtures/scale_out.py, what ``scripts/run.sh --profile
scale-out`` starts): boto3 through HAProxy over 2 gateways on PostgreSQL, over 3 Zot members
on S3 storage with Redis. An S3 smoke suite passes through the load balancer, and a gateway
and a Zot member killed (``kill -9``) mid-run lose no acknowledged object.
"""

from __future__ import annotations

import io
import os
import threading
import uuid

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from gateway.domain import mapping
from tests.conftest import s3_client
from tests.fixtures.scale_out import ScaleOut

pytestmark = pytest.mark.integration


def test_an_s3_smoke_suite_through_the_load_balancer(stack: ScaleOut) -> None:
    client = s3_client(stack.url)
    bucket = f"lb-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    small = {f"small/{n}": os.urandom(1000 + n) for n in range(10)}
    for key, body in small.items():
        client.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"n": key})
    large = os.urandom(12 * 1024 * 1024)  # multipart: 3 parts of 5 MiB at most
    client.upload_fileobj(io.BytesIO(large), bucket, "large")
    listed = client.list_objects_v2(Bucket=bucket)
    assert [item["Key"] for item in listed["Contents"]] == sorted([*small, "large"])
    for key, body in small.items():
        got = client.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body
        assert got["Metadata"] == {"n": key}
    assert client.get_object(Bucket=bucket, Key="large")["Body"].read() == large
    ranged = client.get_object(Bucket=bucket, Key="large", Range="bytes=5242870-5242889")
    assert ranged["Body"].read() == large[5242870:5242890]
    client.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "large"})
    assert client.head_object(Bucket=bucket, Key="copied")["ContentLength"] == len(large)
    for key in [*small, "large", "copied"]:
        client.delete_object(Bucket=bucket, Key=key)
    assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    client.delete_bucket(Bucket=bucket)


def test_a_gateway_and_a_member_killed_mid_run_lose_no_acknowledged_object(
    stack: ScaleOut,
) -> None:
    """A writer goes on through the load balancer (boto3 retrying as it does by default)
    while gateway 1 and then Zot member 2 are killed; member 2's replacement starts on an
    empty disk (its repositories are in S3). Every PUT that was answered 200 is read back."""
    client = s3_client(stack.url, retries={"max_attempts": 8, "mode": "standard"})
    bucket = f"kill-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    acknowledged: dict[str, bytes] = {}
    refused: list[str] = []
    progress = threading.Condition()

    def write() -> None:
        for number in range(60):
            key = f"k/{number:03d}"
            body = f"{key} ".encode() * 2000
            try:
                client.put_object(Bucket=bucket, Key=key, Body=body)
            except (ClientError, BotoCoreError):
                refused.append(key)  # not acknowledged: the client knows it failed
            else:
                acknowledged[key] = body
            with progress:
                progress.notify_all()

    def after(count: int) -> None:
        with progress:
            assert progress.wait_for(lambda: len(acknowledged) + len(refused) >= count, 300)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        after(10)
        stack.kill_gateway(1)
        after(25)
        victim = 2
        stack.cluster.kill(victim)
        after(35)
        stack.cluster.restart(victim, fresh_disk=True)
    finally:
        writer.join(timeout=600)
    assert not writer.is_alive()
    owned_by_victim = [
        key
        for key in acknowledged
        if stack.cluster.owner(mapping.locate("s3", bucket, key).repository) == victim
    ]
    assert len(acknowledged) >= 40, (sorted(acknowledged), refused)
    assert owned_by_victim, "some acknowledged keys should live on the killed member"
    reader = s3_client(stack.url, retries={"max_attempts": 4, "mode": "standard"})
    for key, body in acknowledged.items():
        assert reader.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
    listed = reader.list_objects_v2(Bucket=bucket, Prefix="k/")
    assert {item["Key"] for item in listed.get("Contents", [])} >= set(acknowledged)
    stack.restart_gateway(1)
