"""SIGTERM drains a real gateway process: with slow uploads and a slow download in flight,
new connections are refused at once, a request that ends inside the deadline succeeds, the
uploads still receiving at the deadline are cut (503 or a reset, nothing of them stored),
the download is ended short, and the process exits 0 within the deadline and a margin.
Restarted, the gateway shows nothing half-written: the cut PutObject is not there, the
multipart upload keeps its finished part, the tus upload its offset, and a ``reindex`` from
Zot alone finds exactly the objects that were acknowledged."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures.processes import ROOT, GatewayProcess, start_gateway, venv_python
from tests.fixtures.registries import RunningRegistry, free_port

DRAIN, GRACE = 3.0, 2.0
MARGIN = 6.0  # start-up of the shutdown, the lifespan's closing, the interpreter's exit
PIECE = 32 * 1024
BASIC = "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
TUS = {"Tus-Resumable": "1.0.0", "Authorization": BASIC}


def throttled(data: bytes, seconds: float, moving: threading.Event) -> Iterator[bytes]:
    """``data`` in pieces spread over ``seconds``: a slow client; ``moving`` is set once the
    first piece went out."""
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)]
    for number, piece in enumerate(pieces):
        if number == 1:
            moving.set()
        yield piece
        time.sleep(seconds / len(pieces))


class Outcome:
    """What a request in a thread ended with: its status, or the error that ended it."""

    def __init__(self, run: Callable[[], int]) -> None:
        self.status: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self.thread.start()

    def _run(self, run: Callable[[], int]) -> None:
        try:
            self.status = run()
        except BaseException as exc:
            self.error = exc

    def wait(self, seconds: float = 30) -> Outcome:
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "the request never ended"
        return self


def send(method: str, url: str, body: Iterator[bytes], length: int, **headers: str) -> int:
    with httpx.Client(timeout=60) as client:
        response = client.request(
            method, url, content=body, headers={"Content-Length": str(length), **headers}
        )
        return response.status_code


def slow_read(url: str, moving: threading.Event) -> int:
    """Reads a download slowly to its end; the byte count (less than the whole if cut)."""
    got = 0
    with httpx.Client(timeout=60) as client, client.stream("GET", url) as response:
        assert response.status_code == 200
        for piece in response.iter_raw(PIECE):
            got += len(piece)
            moving.set()
            time.sleep(0.05)
    return got


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def reindexed_objects(registry: RunningRegistry, prefix: str, data_dir: Path) -> str:
    environment = {
        **os.environ,
        **registry.env(),
        "ARTIFACT_STORE_REPOSITORY_PREFIX": prefix,
        "ARTIFACT_STORE_LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [venv_python(), "-m", "gateway", "--data-dir", str(data_dir), "reindex"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_cuts_what_is_left_and_exits_0(
    registry: RunningRegistry, tmp_path: Path, workers: int
) -> None:
    prefix = f"drain{workers}"
    port = free_port()
    env = {
        "ARTIFACT_STORE_DRAIN_SECONDS": str(DRAIN),
        "ARTIFACT_STORE_DRAIN_GRACE_SECONDS": str(GRACE),
        "ARTIFACT_STORE_REPOSITORY_PREFIX": prefix,
        "ARTIFACT_STORE_WORKERS": str(workers),
    }
    data_dir = tmp_path / "gateway"
    gateway = start(registry, data_dir, port, env)
    try:
        run_the_drain(gateway, port, registry, prefix, data_dir, env)
    finally:
        gateway.kill()


def start(
    registry: RunningRegistry, data_dir: Path, port: int, env: dict[str, str]
) -> GatewayProcess:
    # Worker processes take long to start on a busy machine.
    return start_gateway(
        registry, data_dir, port, (ACCESS_KEY, SECRET_KEY), env=env, ready_seconds=240
    )


def run_the_drain(
    gateway: GatewayProcess,
    port: int,
    registry: RunningRegistry,
    prefix: str,
    data_dir: Path,
    env: dict[str, str],
) -> None:
    s3 = s3_client(gateway.url)
    s3.create_bucket(Bucket="drain")
    big = os.urandom(16 * 1024 * 1024)
    s3.put_object(Bucket="drain", Key="big", Body=big)
    part_one = os.urandom(5 * 1024 * 1024)
    upload_id = s3.create_multipart_upload(Bucket="drain", Key="parts")["UploadId"]
    etag_one = s3.upload_part(
        Bucket="drain", Key="parts", UploadId=upload_id, PartNumber=1, Body=part_one
    )["ETag"]
    tus_first, tus_rest = os.urandom(256 * 1024), os.urandom(2 * 1024 * 1024)
    created = httpx.post(
        f"{gateway.url}/_artifacts/uploads",
        headers={
            **TUS,
            "Upload-Length": str(len(tus_first) + len(tus_rest)),
            "Upload-Metadata": "bucket "
            + base64.b64encode(b"drain").decode()
            + ",key "
            + base64.b64encode(b"tus").decode(),
        },
    )
    assert created.status_code == 201
    tus_url = created.headers["Location"]
    appended = httpx.patch(
        tus_url,
        content=tus_first,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert appended.status_code == 204

    def presigned(method: str, **params: object) -> str:
        return s3.generate_presigned_url(method, Params={"Bucket": "drain", **params})

    cut_body = os.urandom(2 * 1024 * 1024)
    quick_body = os.urandom(256 * 1024)
    part_two = os.urandom(2 * 1024 * 1024)
    moving = [threading.Event() for _ in range(5)]
    put_cut = Outcome(
        lambda: send(
            "PUT",
            presigned("put_object", Key="cut"),
            throttled(cut_body, 12, moving[0]),
            len(cut_body),
        )
    )
    part_cut = Outcome(
        lambda: send(
            "PUT",
            presigned("upload_part", Key="parts", UploadId=upload_id, PartNumber=2),
            throttled(part_two, 12, moving[1]),
            len(part_two),
        )
    )
    tus_cut = Outcome(
        lambda: send(
            "PATCH",
            tus_url,
            throttled(tus_rest, 12, moving[2]),
            len(tus_rest),
            **TUS,
            **{"Upload-Offset": str(len(tus_first))},
            **{"Content-Type": "application/offset+octet-stream"},
        )
    )
    download = Outcome(lambda: slow_read(presigned("get_object", Key="big"), moving[3]))
    quick = Outcome(
        lambda: send(
            "PUT",
            presigned("put_object", Key="quick"),
            throttled(quick_body, 2, moving[4]),
            len(quick_body),
        )
    )
    for started in moving:  # every request in flight, its bytes moving
        assert started.wait(30)

    gateway.process.send_signal(15)  # SIGTERM
    signalled = time.monotonic()
    time.sleep(0.5)
    assert refused(port), "new connections must be refused while draining"
    code = gateway.process.wait(timeout=DRAIN + GRACE + MARGIN + 10)
    took = time.monotonic() - signalled
    assert code == 0
    assert took <= DRAIN + GRACE + MARGIN, f"took {took:.1f} s"

    assert quick.wait().status == 200  # ended inside the deadline: acknowledged
    for outcome in (put_cut, part_cut, tus_cut):  # cut: the edge's 503, read mid-body
        assert (outcome.wait().status, outcome.error) == (503, None)
    # Ended short: the client sees a body shorter than Content-Length, never a silent whole.
    assert download.wait().status is None
    assert isinstance(download.error, httpx.RemoteProtocolError)

    # Restarted on the same data: nothing half-written is visible.
    again = start(registry, data_dir, port, env)
    try:
        s3 = s3_client(again.url)
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="drain")["Contents"])
        assert keys == ["big", "quick"]
        assert s3.get_object(Bucket="drain", Key="quick")["Body"].read() == quick_body
        parts = s3.list_parts(Bucket="drain", Key="parts", UploadId=upload_id)["Parts"]
        assert [(p["PartNumber"], p["ETag"]) for p in parts] == [(1, etag_one)]
        offset = httpx.head(tus_url.replace(gateway.url, again.url), headers=TUS)
        assert offset.headers["Upload-Offset"] == str(len(tus_first))
        assert "2 objects" in reindexed_objects(registry, prefix, tmp_index(data_dir))

        # Each upload resumes where it stood.
        etag_two = s3.upload_part(
            Bucket="drain", Key="parts", UploadId=upload_id, PartNumber=2, Body=part_two
        )["ETag"]
        s3.complete_multipart_upload(
            Bucket="drain",
            Key="parts",
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": etag_one}, {"PartNumber": 2, "ETag": etag_two}]
            },
        )
        assert s3.get_object(Bucket="drain", Key="parts")["Body"].read() == part_one + part_two
        finished = httpx.patch(
            tus_url.replace(gateway.url, again.url),
            content=tus_rest,
            headers={
                **TUS,
                "Upload-Offset": str(len(tus_first)),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert finished.status_code == 204
        assert s3.get_object(Bucket="drain", Key="tus")["Body"].read() == tus_first + tus_rest
    finally:
        again.stop()


def tmp_index(data_dir: Path) -> Path:
    """A data directory of its own for the reindex: the index rebuilt from Zot alone."""
    fresh = data_dir.parent / "reindexed"
    fresh.mkdir(exist_ok=True)
    return fresh
