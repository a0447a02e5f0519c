"""Multipart objects read back byte-exact (hypothesis: random part sizes and ranges against a
reference built in memory), and uploads that nobody completes expire and release their parts."""

from __future__ import annotations

import time

import httpx
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.domain import mapping
from tests.conftest import gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve


def small_gateway(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory, **extra):  # type: ignore[no-untyped-def]
    """A gateway that accepts parts of any size (S3's 5 MiB floor is a setting)."""
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("small-parts"),
        repository_prefix="mp",
        min_part_size=1,
        **extra,
    )
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="props")
        yield running, client
        for page in client.get_paginator("list_objects_v2").paginate(Bucket="props"):
            for item in page.get("Contents", []):
                client.delete_object(Bucket="props", Key=item["Key"])
        client.delete_bucket(Bucket="props")


@pytest.fixture(scope="module")
def small_parts(registry, tmp_path_factory):  # type: ignore[no-untyped-def]
    yield from small_gateway(registry, tmp_path_factory)


@pytest.fixture(scope="module")
def expiring(registry, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Uploads expire after two seconds; the sweeper looks twice a second."""
    yield from small_gateway(
        registry, tmp_path_factory, upload_lifetime_hours=2 / 3600, upload_sweep_seconds=0.5
    )


def reference(sizes: list[int], seed: int) -> list[bytes]:
    return [bytes((seed + i + n) % 251 for i in range(size)) for n, size in enumerate(sizes)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.tuples(st.lists(st.integers(1, 3000), max_size=4), st.integers(0, 3000)).map(
        lambda drawn: [*drawn[0], drawn[1]]  # every part but the last >= the 1-byte floor
    ),
    seed=st.integers(0, 250),
    spans=st.lists(st.tuples(st.integers(0, 16000), st.integers(0, 16000)), max_size=4),
)
def test_any_range_of_a_multipart_object_matches_the_reference(small_parts, sizes, seed, spans):  # type: ignore[no-untyped-def]
    _, s3 = small_parts
    parts = reference(sizes, seed)
    whole = b"".join(parts)
    key = f"obj-{seed}"
    upload_id = s3.create_multipart_upload(Bucket="props", Key=key)["UploadId"]
    done = []
    for number, body in enumerate(parts, 1):
        etag = s3.upload_part(
            Bucket="props", Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )["ETag"]
        done.append({"PartNumber": number, "ETag": etag})
    s3.complete_multipart_upload(
        Bucket="props", Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    assert s3.get_object(Bucket="props", Key=key)["Body"].read() == whole
    for number, body in enumerate(parts, 1):
        got = s3.get_object(Bucket="props", Key=key, PartNumber=number)
        assert got["Body"].read() == body
        assert got["PartsCount"] == len(parts)
    for a, b in spans:
        first, last = min(a, b), max(a, b)
        if first >= len(whole):
            with pytest.raises(ClientError) as excinfo:
                s3.get_object(Bucket="props", Key=key, Range=f"bytes={first}-{last}")
            assert excinfo.value.response["Error"]["Code"] == "InvalidRange"
            continue
        got = s3.get_object(Bucket="props", Key=key, Range=f"bytes={first}-{last}")
        assert got["Body"].read() == whole[first : last + 1]
        suffix = s3.get_object(Bucket="props", Key=key, Range=f"bytes=-{last - first + 1}")
        assert suffix["Body"].read() == whole[-(last - first + 1) :]


def test_uploads_nobody_completes_expire_and_release_their_parts(
    expiring: tuple[RunningGateway, object], registry: RunningRegistry
) -> None:
    _, s3 = expiring
    upload_id = s3.create_multipart_upload(Bucket="props", Key="abandoned")["UploadId"]  # type: ignore[attr-defined]
    s3.upload_part(  # type: ignore[attr-defined]
        Bucket="props", Key="abandoned", UploadId=upload_id, PartNumber=1, Body=b"x" * 100
    )
    location = mapping.locate("mp", "props", "abandoned")
    manifest = f"{registry.url}/v2/{location.repository}/manifests/{mapping.part_tag(upload_id, 1)}"
    accept = {"Accept": mapping.MANIFEST_MEDIA_TYPE}
    assert (
        httpx.get(manifest, headers=accept, auth=registry.auth).status_code == 200
    )  # the part is held

    def still_live() -> bool:
        try:
            s3.list_parts(Bucket="props", Key="abandoned", UploadId=upload_id)  # type: ignore[attr-defined]
        except ClientError as exc:
            return exc.response["Error"]["Code"] != "NoSuchUpload"
        return True

    deadline = time.monotonic() + 15
    while still_live():
        assert time.monotonic() < deadline, "the upload did not expire"
        time.sleep(0.5)
    assert (
        httpx.get(manifest, headers=accept, auth=registry.auth).status_code == 404
    )  # released for GC
    listed = s3.list_multipart_uploads(Bucket="props")  # type: ignore[attr-defined]
    assert all(u["UploadId"] != upload_id for u in listed.get("Uploads", []))
