"""Zot restarted in the middle of a 1 GiB download: the gateway cuts the response short (it has
sent Content-Length, so the client sees the body end early), and the client resumes where it
stopped with ``Range: bytes=<received>-`` and ``If-Match: <ETag>``; the bytes it ends with
hash (SHA-256) to what was uploaded. The same gateway process serves the resumed download.

The object is generated while it is uploaded and hashed while it is downloaded, never held
whole: 1 MiB blocks, each a random block that starts with its own number, so that a resume
at a wrong offset could not hash the same.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest
from boto3.s3.transfer import TransferConfig

from tests.fixtures.gateway_forks import GatewayForks
from tests.integration.faults.stack import Stack, running

MiB = 1 << 20
SIZE = 1024 * MiB
BUCKET, KEY = "downloads", "big/one-gib.bin"


class Generated:
    """A readable file of ``size`` bytes made block by block, hashed as it is read."""

    def __init__(self, size: int) -> None:
        self.size, self.offset = size, 0
        self.base = os.urandom(MiB)
        self.sha256 = hashlib.sha256()

    def block(self, number: int) -> bytes:
        return number.to_bytes(8, "big") + self.base[8:]

    def read(self, count: int = -1) -> bytes:
        count = self.size - self.offset if count < 0 else min(count, self.size - self.offset)
        pieces = []
        while count > 0:
            number, within = divmod(self.offset, MiB)
            piece = self.block(number)[within : within + count]
            pieces.append(piece)
            self.offset += len(piece)
            count -= len(piece)
        data = b"".join(pieces)
        self.sha256.update(data)
        return data


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, forks: GatewayForks) -> Iterator[Stack]:
    with running(tmp_path_factory.mktemp("download-resume"), forks, proxied=False) as s:
        yield s


def test_a_download_cut_by_a_zot_restart_resumes_with_range(stack: Stack) -> None:
    s3 = stack.s3()
    s3.create_bucket(Bucket=BUCKET)
    source = Generated(SIZE)
    parts = TransferConfig(multipart_chunksize=16 * MiB, max_concurrency=2)
    s3.upload_fileobj(source, BUCKET, KEY, Config=parts)  # streamed, read as it is sent
    assert source.offset == SIZE
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentLength"] == SIZE
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY})
    gateway = stack.gateway.pid
    received, digest, cut = 0, hashlib.sha256(), False
    with httpx.Client(timeout=120) as http:
        with http.stream("GET", url) as answer:
            assert answer.status_code == 200
            assert int(answer.headers["Content-Length"]) == SIZE
            try:
                for chunk in answer.iter_raw(MiB):
                    digest.update(chunk)
                    received += len(chunk)
                    if received >= SIZE // 3 and not cut:
                        stack.kill_registry()
                        cut = True
            except httpx.HTTPError:
                pass  # the body ended early
        assert cut
        assert SIZE // 3 <= received < SIZE
        stack.restart_registry()
        resumed = {"Range": f"bytes={received}-", "If-Match": head["ETag"]}
        with http.stream("GET", url, headers=resumed) as rest:
            assert rest.status_code == 206
            assert rest.headers["Content-Range"] == f"bytes {received}-{SIZE - 1}/{SIZE}"
            for chunk in rest.iter_raw(MiB):
                digest.update(chunk)
                received += len(chunk)
    assert received == SIZE
    assert digest.hexdigest() == source.sha256.hexdigest()
    assert (stack.gateway.pid, stack.gateway.alive()) == (gateway, True)
    assert stack.check_index() == []
