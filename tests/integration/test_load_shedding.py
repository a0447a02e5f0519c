"""The cap on data requests in flight, against a real gateway and Zot: with the cap taken by
slow downloads, one more GetObject is answered 503 SlowDown with Retry-After at once (a tus
append gets a 503 problem, a blob GET through /v2/ a 503 in OCI's form), cheap requests
still pass, and the slots come back when the downloads end or their clients go away."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve

CAP = 2
BIG = 32 * 1024 * 1024  # far more than loopback socket buffers hold: a slow reader blocks
BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()


@pytest.fixture(scope="module")
def capped(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("capped"),
        max_inflight_requests=CAP,
        shed_retry_after_seconds=2,
        repository_prefix="shed",
    )
    with serve(settings) as running:
        yield running


Held = list[tuple[httpx.Client, httpx.Response, Iterator[bytes]]]


def open_downloads(url: str, count: int) -> Held:
    """``count`` downloads that read one piece and then stop reading (held open: the
    iterator is kept, since dropping it would close the connection)."""
    s3 = s3_client(url)
    held = []
    for _ in range(count):
        link = s3.generate_presigned_url("get_object", Params={"Bucket": "shed", "Key": "big"})
        client = httpx.Client(timeout=30)
        response = client.send(client.build_request("GET", link), stream=True)
        assert response.status_code == 200
        pieces = response.iter_raw(65536)
        next(pieces)
        held.append((client, response, pieces))
    return held


def close(held: Held) -> None:
    for client, response, _ in held:
        response.close()
        client.close()


def test_one_data_request_over_the_cap_is_refused_at_once(
    capped: RunningGateway, tmp_path: Path
) -> None:
    s3 = s3_client(capped.url)
    s3.create_bucket(Bucket="shed")
    body = os.urandom(BIG)
    s3.put_object(Bucket="shed", Key="big", Body=body)
    s3.put_object(Bucket="shed", Key="small", Body=b"small")

    held = open_downloads(capped.url, CAP)
    try:
        started = time.monotonic()
        with pytest.raises(ClientError) as refused:
            s3.get_object(Bucket="shed", Key="small")
        assert time.monotonic() - started < 2.0  # answered at once, not queued
        error = refused.value.response
        assert error["Error"]["Code"] == "SlowDown"
        assert error["Error"]["Message"] == "Please reduce your request rate."
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "2"
        with pytest.raises(ClientError) as put_refused:
            s3.put_object(Bucket="shed", Key="other", Body=b"x")
        assert put_refused.value.response["Error"]["Code"] == "SlowDown"

        # Cheap requests are not counted.
        assert s3.head_object(Bucket="shed", Key="small")["ContentLength"] == 5
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="shed")["Contents"]] == ["big", "small"]

        # The JSON API (a tus append) answers a 503 problem.
        created = httpx.post(
            f"{capped.url}/_artifacts/uploads",
            headers={
                "Tus-Resumable": "1.0.0",
                "Authorization": BASIC,
                "Upload-Length": "3",
                "Upload-Metadata": "bucket "
                + base64.b64encode(b"shed").decode()
                + ",key "
                + base64.b64encode(b"tus").decode(),
            },
        )
        assert created.status_code == 201
        append = httpx.patch(
            created.headers["Location"],
            content=b"abc",
            headers={
                "Tus-Resumable": "1.0.0",
                "Authorization": BASIC,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert append.status_code == 503
        assert append.headers["content-type"] == "application/problem+json"
        assert append.headers["retry-after"] == "2"
        assert append.json()["detail"] == "Please reduce your request rate."
    finally:
        close(held)

    # The slots come back when the clients go away: the next GetObject passes.
    deadline = time.monotonic() + 10
    codes = []
    while True:
        try:
            assert s3.get_object(Bucket="shed", Key="small")["Body"].read() == b"small"
            break
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
        assert time.monotonic() < deadline, "the slots were not given back"
        time.sleep(0.1)
    assert set(codes) <= {"SlowDown"}
    # And downloads read to their end give theirs back too.
    for _ in range(CAP + 2):
        assert s3.get_object(Bucket="shed", Key="small")["Body"].read() == b"small"


def test_oci_blob_transfers_over_the_cap_get_a_503_in_oci_form(capped: RunningGateway) -> None:
    s3 = s3_client(capped.url)
    if "shed" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        pytest.fail("runs after the S3 test of this module, which makes the bucket")
    reference = s3.head_object(Bucket="shed", Key="small")["ResponseMetadata"]["HTTPHeaders"][
        "x-artifact-store-oci-reference"
    ]
    repository = reference.rsplit(":", 1)[0]
    blob = httpx.get(
        f"{capped.url}/v2/{repository}/manifests/{reference.rsplit(':', 1)[1]}",
        headers={"Authorization": BASIC, "Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert blob.status_code == 200, blob.text
    digest = blob.json()["layers"][0]["digest"]
    held = open_downloads(capped.url, CAP)
    try:
        refused = httpx.get(
            f"{capped.url}/v2/{repository}/blobs/{digest}", headers={"Authorization": BASIC}
        )
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["errors"][0]["code"] == "UNAVAILABLE"
    finally:
        close(held)
