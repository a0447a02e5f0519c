"""The OCI registry client over ``httpx.MockTransport``: requests sent, errors translated."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from prometheus_client import REGISTRY
from tenacity import wait_none

from gateway.domain.ports.registry import (
    RegistryDigestInvalid,
    RegistryError,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)
from gateway.registry import client as client_module
from gateway.registry.blobcache import BlobCache
from gateway.registry.client import PAGE, RegistryClient, _with_digest

BASE = "http://registry.test:5000"
DIGEST = "sha256:" + hashlib.sha256(b"blob").hexdigest()
STATE = "/v2/s3/b/aa/blobs/uploads/5f1e?_state=ab+c%2F=="
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Transient answers are tried again at once here, not after real pauses."""
    monkeypatch.setattr(client_module, "PAUSE", wait_none())


class Recorder:
    """Records every request, then answers with ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(await request.aread())
        answer = self.handler(request)
        return await answer if inspect.isawaitable(answer) else answer

    def sent(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.raw_path.decode()) for r in self.requests]


@asynccontextmanager
async def registry(
    handler: Handler, whole_body: int = 0
) -> AsyncIterator[tuple[RegistryClient, Recorder]]:
    """A client whose bodies all stream (``whole_body`` 0), unless told otherwise."""
    recorder = Recorder(handler)
    client = RegistryClient(BASE, transport=httpx.MockTransport(recorder), whole_body=whole_body)
    try:
        yield client, recorder
    finally:
        await client.aclose()


def oci_error(status: int, code: str, message: str = "") -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]})


# -- error translation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(httpx.ConnectError("Connection refused"), id="refused"),
        pytest.param(httpx.ReadTimeout("timed out"), id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("peer closed"), id="reset"),
    ],
)
@pytest.mark.anyio
async def test_transport_errors_are_unavailable(failure: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    async with registry(handler) as (client, _):
        with pytest.raises(RegistryUnavailable) as caught:
            await client.get_manifest("s3/b/aa", "o-1")
        assert caught.value.__cause__ is failure
        with pytest.raises(RegistryUnavailable):
            await client.ping()


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        pytest.param(
            oci_error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
            RegistryNotFound,
            "MANIFEST_UNKNOWN",
            id="404-manifest-unknown",
        ),
        pytest.param(httpx.Response(404), RegistryNotFound, None, id="404-no-body"),
        pytest.param(
            oci_error(400, "DIGEST_INVALID"),
            RegistryDigestInvalid,
            "DIGEST_INVALID",
            id="400-digest",
        ),
        pytest.param(
            oci_error(400, "BLOB_UPLOAD_INVALID"),
            RegistryDigestInvalid,
            "BLOB_UPLOAD_INVALID",
            id="400-upload-invalid",
        ),
        pytest.param(
            oci_error(400, "SIZE_INVALID"), RegistryDigestInvalid, "SIZE_INVALID", id="400-size"
        ),
        pytest.param(httpx.Response(500, text="oops"), RegistryUnavailable, None, id="500"),
        pytest.param(oci_error(503, "UNAVAILABLE"), RegistryUnavailable, "UNAVAILABLE", id="503"),
        pytest.param(
            oci_error(429, "TOOMANYREQUESTS"), RegistryUnavailable, "TOOMANYREQUESTS", id="429"
        ),
        pytest.param(oci_error(401, "UNAUTHORIZED"), RegistryRejected, "UNAUTHORIZED", id="401"),
        pytest.param(
            oci_error(400, "MANIFEST_INVALID"), RegistryRejected, "MANIFEST_INVALID", id="400-other"
        ),
        pytest.param(httpx.Response(400, text="not json"), RegistryRejected, None, id="400-text"),
        pytest.param(httpx.Response(405, json={"errors": []}), RegistryRejected, None, id="405"),
    ],
)
@pytest.mark.anyio
async def test_http_errors_are_translated(
    response: httpx.Response, kind: type[RegistryError], code: str | None
) -> None:
    async with registry(lambda request: response) as (client, _):
        with pytest.raises(RegistryError) as caught:
            await client.get_manifest("s3/b/aa", "o-1")
    assert type(caught.value) is kind
    assert caught.value.status == response.status_code
    assert caught.value.code == code


@pytest.mark.anyio
async def test_blob_exists_and_delete_manifest_tolerate_404() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/present"):
            return httpx.Response(200)
        if request.url.path.endswith("/broken"):
            return httpx.Response(500)
        return oci_error(404, "BLOB_UNKNOWN")

    async with registry(handler) as (client, recorder):
        assert await client.blob_exists("r", "present") is True
        assert await client.blob_exists("r", "absent") is False
        with pytest.raises(RegistryUnavailable):
            await client.blob_exists("r", "broken")
        await client.delete_manifest("r", "absent")  # no error
        with pytest.raises(RegistryUnavailable):
            await client.delete_manifest("r", "broken")
    # A 500 is tried four times (see the transient tests below).
    assert [method for method, _ in recorder.sent()] == ["HEAD"] * 6 + ["DELETE"] * 5


# -- uploads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            STATE,
            "/v2/s3/b/aa/blobs/uploads/5f1e?_state=ab+c%2F==&digest=sha256%3A" + DIGEST[7:],
        ),
        ("/v2/r/blobs/uploads/u", "/v2/r/blobs/uploads/u?digest=sha256%3A" + DIGEST[7:]),
        (
            "http://other:1/v2/r/blobs/uploads/u?a=1&b=%2B",
            "http://other:1/v2/r/blobs/uploads/u?a=1&b=%2B&digest=sha256%3A" + DIGEST[7:],
        ),
    ],
)
def test_with_digest_keeps_the_query_intact(location: str, expected: str) -> None:
    assert _with_digest(location, DIGEST) == expected


@pytest.mark.parametrize(
    "location", [STATE, BASE + STATE], ids=["relative-location", "absolute-location"]
)
@pytest.mark.anyio
async def test_upload_state_goes_back_byte_for_byte(location: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": location})
        return httpx.Response(201, headers={"Docker-Content-Digest": DIGEST})

    async with registry(handler) as (client, recorder):
        await client.push_small_blob("s3/b/aa", b"blob", DIGEST)
    put = recorder.requests[1]
    assert put.method == "PUT"
    assert put.url.raw_path == (STATE + "&digest=sha256%3A" + DIGEST[7:]).encode()
    assert recorder.bodies[1] == b"blob"


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


EMPTY = "sha256:" + hashlib.sha256(b"{}").hexdigest()


@pytest.mark.anyio
async def test_a_known_digest_goes_in_the_opening_post_where_the_registry_takes_it() -> None:
    """Zot: the first small blob shows the single-request form works; blobs after it, a
    streamed one too, go in one POST each."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201)

    async with registry(handler) as (client, recorder):
        await client.push_small_blob("s3/b/aa", b"{}", EMPTY)
        digest = await client.push_blob(
            "s3/b/aa", chunks(b"bl", b"ob"), 4, digest=DIGEST, final_digest=lambda: "unused"
        )
    assert digest == DIGEST
    sent = "/v2/s3/b/aa/blobs/uploads/?digest=sha256%3A"
    assert recorder.sent() == [("POST", sent + EMPTY[7:]), ("POST", sent + DIGEST[7:])]
    assert recorder.bodies == [b"{}", b"blob"]
    assert recorder.requests[1].headers["content-length"] == "4"
    assert recorder.requests[1].headers["content-type"] == "application/octet-stream"


@pytest.mark.anyio
async def test_a_stream_waits_for_the_probe_and_then_goes_in_a_put() -> None:
    """A registry without the single-request form (distribution) opens an upload instead:
    the probe's bytes go in a PUT to it, and so do every blob's after it."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": STATE})
        return httpx.Response(201)

    async with registry(handler) as (client, recorder):
        digest = await client.push_blob(
            "s3/b/aa", chunks(b"bl", b"ob"), 4, digest=DIGEST, final_digest=lambda: "unused"
        )
        await client.push_small_blob("s3/b/aa", b"blob", DIGEST)
    assert digest == DIGEST
    assert [m for m, _ in recorder.sent()] == ["POST", "PUT", "POST", "PUT", "POST", "PUT"]
    assert recorder.sent()[0][1] == f"/v2/s3/b/aa/blobs/uploads/?digest=sha256%3A{EMPTY[7:]}"
    assert recorder.sent()[2][1] == "/v2/s3/b/aa/blobs/uploads/"  # no bytes in the POST
    assert recorder.bodies[1::2] == [b"{}", b"blob", b"blob"]
    assert recorder.bodies[2] == b""
    assert recorder.requests[3].headers["content-length"] == "4"


@pytest.mark.anyio
async def test_a_small_body_is_read_whole_and_goes_in_one_post_by_its_computed_digest() -> None:
    """Up to ``whole_body`` bytes: read first, then one POST ?digest= with the digest the
    caller computed from them (no PATCH, no closing PUT), and the cache fed."""
    consumed: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for part in (b"bl", b"ob"):
            consumed.append(part)
            yield part

    def final_digest() -> str:
        assert consumed == [b"bl", b"ob"]
        return DIGEST

    cache = BlobCache(1024)
    async with registry(lambda _request: httpx.Response(201), whole_body=4) as (client, rec):
        client._cache = cache
        digest = await client.push_blob("r", body(), 4, digest=None, final_digest=final_digest)
    assert digest == DIGEST
    assert rec.sent() == [("POST", f"/v2/r/blobs/uploads/?digest={DIGEST.replace(':', '%3A')}")]
    assert rec.bodies == [b"blob"]
    assert cache.get(DIGEST) == b"blob"


@pytest.mark.anyio
async def test_a_small_body_read_whole_is_sent_again_after_a_500() -> None:
    """Bytes in hand can be sent again: the POST is repeatable, unlike a streamed body."""
    answers = iter([httpx.Response(500), httpx.Response(201)])
    async with registry(lambda _request: next(answers), whole_body=4) as (client, recorder):
        await client.push_blob("r", chunks(b"bl", b"ob"), 4, digest=DIGEST, final_digest=str)
    assert [m for m, _ in recorder.sent()] == ["POST", "POST"]
    assert recorder.bodies == [b"blob", b"blob"]


@pytest.mark.anyio
async def test_a_body_over_whole_body_still_streams() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201)

    async with registry(handler, whole_body=3) as (client, recorder):
        await client.push_blob("r", chunks(b"bl", b"ob"), 4, digest=DIGEST, final_digest=str)
    # the probe first: only a stream waits to learn the single-request form
    assert recorder.bodies == [b"{}", b"blob"]


@pytest.mark.anyio
async def test_push_blob_without_a_digest_patches_then_closes_with_the_computed_one() -> None:
    consumed: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for part in (b"bl", b"ob"):
            consumed.append(part)
            yield part

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u?_state=1"})
        if request.method == "PATCH":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u?_state=2"})
        return httpx.Response(201)

    def final_digest() -> str:
        assert consumed == [b"bl", b"ob"]  # asked only once every byte went out
        return DIGEST

    async with registry(handler) as (client, recorder):
        digest = await client.push_blob("r", body(), 4, digest=None, final_digest=final_digest)
    assert digest == DIGEST
    assert recorder.sent() == [
        ("POST", "/v2/r/blobs/uploads/"),
        ("PATCH", "/v2/r/blobs/uploads/u?_state=1"),
        ("PUT", "/v2/r/blobs/uploads/u?_state=2&digest=sha256%3A" + DIGEST[7:]),
    ]
    assert recorder.requests[1].headers["content-range"] == "0-3"
    assert recorder.bodies[1] == b"blob"
    assert recorder.bodies[2] == b""


@pytest.mark.anyio
async def test_ensure_blob_checks_once_per_repository() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async with registry(handler) as (client, recorder):
        await client.ensure_blob("r", b"{}", DIGEST)
        await client.ensure_blob("r", b"{}", DIGEST)
        await client.ensure_blob("other", b"{}", DIGEST)
    assert recorder.sent() == [
        ("HEAD", f"/v2/r/blobs/{DIGEST}"),
        ("HEAD", f"/v2/other/blobs/{DIGEST}"),
    ]


@pytest.mark.anyio
async def test_a_remembered_blob_that_gc_took_is_pushed_again_once() -> None:
    """Zot's GC takes the empty config of a repository whose manifests all went; the next
    manifest there is refused (MANIFEST_INVALID) until the blob is back."""
    manifests = iter([oci_error(400, "MANIFEST_INVALID"), httpx.Response(201)])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200 if len(recorder.requests) == 1 else 404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u"})
        if "/manifests/" in request.url.path:
            return next(manifests)
        return httpx.Response(201)

    async with registry(handler) as (client, recorder):
        await client.ensure_blob("r", b"{}", DIGEST)
        await client.push_manifest("r", "o-1", b"{}", MANIFEST_TYPE)
    assert recorder.sent() == [
        ("HEAD", f"/v2/r/blobs/{DIGEST}"),
        ("PUT", "/v2/r/manifests/o-1"),
        ("HEAD", f"/v2/r/blobs/{DIGEST}"),
        ("POST", f"/v2/r/blobs/uploads/?digest=sha256%3A{DIGEST[7:]}"),
        ("PUT", f"/v2/r/blobs/uploads/u?digest=sha256%3A{DIGEST[7:]}"),
        ("PUT", "/v2/r/manifests/o-1"),
    ]


@pytest.mark.anyio
async def test_an_invalid_manifest_is_not_retried_without_remembered_blobs() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return oci_error(400, "MANIFEST_INVALID")

    async with registry(handler) as (client, recorder):
        with pytest.raises(RegistryRejected):
            await client.push_manifest("r", "o-1", b"{}", MANIFEST_TYPE)
    assert recorder.sent() == [("PUT", "/v2/r/manifests/o-1")]


@pytest.mark.anyio
async def test_zots_bare_error_object_is_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"code": "UNAUTHORIZED", "message": "authentication"})

    async with registry(handler) as (client, _):
        with pytest.raises(RegistryRejected) as refused:
            await client.ping()
    assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED")


@pytest.mark.anyio
async def test_concurrent_ensure_blob_share_one_upload() -> None:
    """The parts of one upload arrive together; their empty config goes up once."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u"})
        return httpx.Response(201)

    async with registry(handler) as (client, recorder):
        await asyncio.gather(*(client.ensure_blob("r", b"{}", DIGEST) for _ in range(5)))
        await client.ensure_blob("r", b"{}", DIGEST)
    assert recorder.sent() == [
        ("HEAD", f"/v2/r/blobs/{DIGEST}"),
        ("POST", f"/v2/r/blobs/uploads/?digest=sha256%3A{DIGEST[7:]}"),
        ("PUT", f"/v2/r/blobs/uploads/u?digest=sha256%3A{DIGEST[7:]}"),
    ]


@pytest.mark.anyio
async def test_ensure_blob_failure_reaches_every_waiter_and_is_tried_again() -> None:
    answers = iter([500] * 5 + [200])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    async with registry(handler) as (client, recorder):
        results = await asyncio.gather(
            *(client.ensure_blob("r", b"{}", DIGEST) for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(result, RegistryUnavailable) for result in results)
        await client.ensure_blob("r", b"{}", DIGEST)
    assert recorder.sent() == [("HEAD", f"/v2/r/blobs/{DIGEST}")] * 6


@pytest.mark.anyio
async def test_ensure_blob_survives_one_waiter_cancelled() -> None:
    release = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(200)

    async with registry(handler) as (client, recorder):
        first = asyncio.create_task(client.ensure_blob("r", b"{}", DIGEST))
        second = asyncio.create_task(client.ensure_blob("r", b"{}", DIGEST))
        await asyncio.sleep(0.01)
        first.cancel()
        release.set()
        await second
        with pytest.raises(asyncio.CancelledError):
            await first
        await client.ensure_blob("r", b"{}", DIGEST)
    assert recorder.sent() == [("HEAD", f"/v2/r/blobs/{DIGEST}")]


# -- transient answers ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_transient_500_is_tried_again() -> None:
    answers = iter([500, 200])

    async with registry(lambda request: httpx.Response(next(answers))) as (client, recorder):
        assert await client.blob_exists("r", DIGEST) is True
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_digest_invalid_for_a_manifest_is_tried_again() -> None:
    """distribution answers DIGEST_INVALID to a manifest whose blob link another request is
    rewriting; the gateway computed the digest from the bytes it sends, so it is transient."""
    answers = iter([oci_error(400, "DIGEST_INVALID"), httpx.Response(201)])

    async with registry(lambda request: next(answers)) as (client, recorder):
        await client.push_manifest("r", "t", b"{}", MANIFEST_TYPE)
    assert [method for method, _ in recorder.sent()] == ["PUT", "PUT"]


@pytest.mark.anyio
async def test_a_manifest_refused_as_digest_invalid_at_every_try_is_unavailable() -> None:
    """Still refused after the pauses: the registry is in trouble, not the request (S3 503,
    which clients retry)."""
    async with registry(lambda request: oci_error(400, "DIGEST_INVALID")) as (client, recorder):
        with pytest.raises(RegistryUnavailable) as raised:
            await client.push_manifest("r", "t", b"{}", MANIFEST_TYPE)
    assert raised.value.code == "DIGEST_INVALID"
    assert len(recorder.requests) == 4  # the default attempts


def upload_then(answer: httpx.Response) -> Handler:
    """A registry that opens an upload on POST and gives ``answer`` to everything else."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u"})
        return answer

    return handler


@pytest.mark.anyio
async def test_digest_invalid_for_a_blob_is_final() -> None:
    async with registry(upload_then(oci_error(400, "DIGEST_INVALID"))) as (client, recorder):
        with pytest.raises(RegistryDigestInvalid):
            await client.push_small_blob("r", b"blob", DIGEST)
    assert [method for method, _ in recorder.sent()] == ["POST", "PUT"]


@pytest.mark.parametrize("status", [429, 501])
@pytest.mark.anyio
async def test_other_errors_are_not_tried_again(status: int) -> None:
    async with registry(lambda request: httpx.Response(status)) as (client, recorder):
        with pytest.raises(RegistryError):
            await client.blob_exists("r", DIGEST)
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_a_streamed_body_is_not_sent_again_after_a_500() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"blob"

    puts = iter([httpx.Response(201)])  # the probe's PUT; every PUT after it fails

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/r/blobs/uploads/u"})
        return next(puts, httpx.Response(500))

    async with registry(handler) as (client, recorder):
        with pytest.raises(RegistryUnavailable):
            await client.push_blob("r", body(), 4, digest=DIGEST, final_digest=lambda: DIGEST)
    assert [method for method, _ in recorder.sent()] == ["POST", "PUT", "POST", "PUT"]


# -- mounts ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_mount_201_is_mounted() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, headers={"Location": f"/v2/dst/blobs/{DIGEST}"})

    async with registry(handler) as (client, recorder):
        assert await client.mount_blob("dst", DIGEST, "src") is True
    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("POST", "/v2/dst/blobs/uploads/")
    assert dict(request.url.params) == {"mount": DIGEST, "from": "src"}


@pytest.mark.parametrize("delete_status", [204, 404, 500])
@pytest.mark.anyio
async def test_mount_202_cancels_the_upload_it_opened(delete_status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": STATE})
        return httpx.Response(delete_status)

    async with registry(handler) as (client, recorder):
        assert await client.mount_blob("dst", DIGEST, "src") is False
    deletes = 4 if delete_status == 500 else 1  # a 500 is tried again
    assert recorder.sent() == [
        ("POST", "/v2/dst/blobs/uploads/?mount=sha256%3A" + DIGEST[7:] + "&from=src"),
        *[("DELETE", STATE)] * deletes,
    ]


@pytest.mark.anyio
async def test_mount_202_without_location_sends_nothing_more() -> None:
    async with registry(lambda request: httpx.Response(202)) as (client, recorder):
        assert await client.mount_blob("dst", DIGEST, "src") is False
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_mount_from_the_same_repository_is_a_head() -> None:
    async with registry(lambda request: httpx.Response(200)) as (client, recorder):
        assert await client.mount_blob("r", DIGEST, "r") is True
    assert recorder.sent() == [("HEAD", f"/v2/r/blobs/{DIGEST}")]


# -- downloads -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_open_blob_with_a_range_sends_the_range_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers.get("range") == "bytes=2-5"
        return httpx.Response(
            206,
            content=chunks(b"23", b"45"),
            headers={"Content-Range": "bytes 2-5/10", "Content-Length": "4"},
        )

    async with (
        registry(handler) as (client, recorder),
        client.open_blob("r", DIGEST, (2, 5)) as blob,
    ):
        assert (blob.status, blob.length) == (206, 4)
        assert b"".join([chunk async for chunk in blob]) == b"2345"
    assert recorder.sent() == [("GET", f"/v2/r/blobs/{DIGEST}")]


@pytest.mark.anyio
async def test_open_blob_whole_sends_no_range_and_follows_redirects() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "range" not in request.headers
        if request.url.path.startswith("/v2/"):
            return httpx.Response(307, headers={"Location": "/storage/blob-data"})
        return httpx.Response(200, content=chunks(b"01234", b"56789"))

    async with registry(handler) as (client, recorder), client.open_blob("r", DIGEST) as blob:
        assert blob.status == 200
        assert b"".join([chunk async for chunk in blob]) == b"0123456789"
    assert [path for _, path in recorder.sent()] == [f"/v2/r/blobs/{DIGEST}", "/storage/blob-data"]


@pytest.mark.anyio
async def test_open_blob_errors() -> None:
    async with registry(lambda request: oci_error(404, "BLOB_UNKNOWN")) as (client, _):
        with pytest.raises(RegistryNotFound):
            async with client.open_blob("r", DIGEST):
                pytest.fail("must not open")

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    async with registry(refused) as (client, _):
        with pytest.raises(RegistryUnavailable):
            async with client.open_blob("r", DIGEST, (0, 1)):
                pytest.fail("must not open")


# -- manifests -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_push_and_get_manifest() -> None:
    body = json.dumps({"schemaVersion": 2}).encode()
    media = "application/vnd.oci.image.manifest.v1+json"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            assert request.headers["content-type"] == media
            return httpx.Response(201, headers={"Docker-Content-Digest": DIGEST})
        assert media in request.headers["accept"]
        return httpx.Response(
            200, content=body, headers={"Docker-Content-Digest": DIGEST, "Content-Type": media}
        )

    async with registry(handler) as (client, recorder):
        assert await client.push_manifest("r", "o-1", body, media) == DIGEST
        manifest = await client.get_manifest("r", "o-1")
    assert (manifest.body, manifest.digest, manifest.media_type) == (body, DIGEST, media)
    assert recorder.bodies[0] == body
    assert recorder.sent() == [("PUT", "/v2/r/manifests/o-1"), ("GET", "/v2/r/manifests/o-1")]


# -- listings --------------------------------------------------------------------------------


def paged(field: str, pages: dict[str | None, tuple[list[str], str | None]]) -> Handler:
    """Serve ``pages`` keyed by the ``last`` parameter; each has its names and Link target."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["n"] == str(PAGE)
        names, link = pages[request.url.params.get("last")]
        headers = {"Link": f'<{link}>; rel="next"'} if link else {}
        return httpx.Response(200, json={field: names}, headers=headers)

    return handler


@pytest.mark.anyio
async def test_catalog_follows_the_link_header() -> None:
    handler = paged(
        "repositories",
        {
            None: (["s3/a/00", "s3/a/01"], "/v2/_catalog?last=s3%2Fa%2F01&n=2"),
            "s3/a/01": (["s3/a/bucket", "s3/b/ff"], "/v2/_catalog?n=2&last=s3%2Fb%2Fff"),
            "s3/b/ff": (["zz/image"], None),
        },
    )
    async with registry(handler) as (client, recorder):
        names = [name async for name in client.catalog()]
    assert names == ["s3/a/00", "s3/a/01", "s3/a/bucket", "s3/b/ff", "zz/image"]
    assert [r.url.params.get("last") for r in recorder.requests] == [None, "s3/a/01", "s3/b/ff"]
    assert all(r.url.path == "/v2/_catalog" for r in recorder.requests)


@pytest.mark.anyio
async def test_link_last_wins_over_the_last_name() -> None:
    handler = paged(
        "repositories",
        {None: (["a", "b"], "/v2/_catalog?last=c&n=2"), "c": (["d"], None)},
    )
    async with registry(handler) as (client, _):
        assert [name async for name in client.catalog()] == ["a", "b", "d"]


@pytest.mark.anyio
async def test_tags_pages_and_stops_without_a_link() -> None:
    handler = paged(
        "tags",
        {None: (["o-1", "o-2"], "/v2/s3/b/aa/tags/list?last=o-2&n=2"), "o-2": (["o-3"], None)},
    )
    async with registry(handler) as (client, recorder):
        assert [tag async for tag in client.tags("s3/b/aa")] == ["o-1", "o-2", "o-3"]
    assert {r.url.path for r in recorder.requests} == {"/v2/s3/b/aa/tags/list"}
    assert len(recorder.requests) == 2


@pytest.mark.anyio
async def test_tags_of_a_missing_repository_are_empty() -> None:
    async with registry(lambda request: oci_error(404, "NAME_UNKNOWN")) as (client, recorder):
        assert [tag async for tag in client.tags("s3/gone/aa")] == []
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_null_tags_end_the_listing() -> None:
    # distribution answers {"name": ..., "tags": null} for a repository emptied by deletes.
    link = {"Link": '</v2/r/tags/list?last=x&n=2>; rel="next"'}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"name": "r", "tags": None}, headers=link)

    async with registry(handler) as (client, recorder):
        assert [tag async for tag in client.tags("r")] == []
    assert len(recorder.requests) == 1


@pytest.mark.anyio
async def test_listing_errors_other_than_404_propagate() -> None:
    async with registry(lambda request: httpx.Response(502)) as (client, _):
        with pytest.raises(RegistryUnavailable):
            [name async for name in client.catalog()]


def dies_first(errors: list[Exception], then: Handler) -> Handler:
    """A registry whose connection fails under the first requests (``errors``, in order)."""

    def handler(request: httpx.Request) -> httpx.Response | Awaitable[httpx.Response]:
        if errors:
            raise errors.pop(0)
        return then(request)

    return handler


@pytest.mark.anyio
async def test_a_request_that_can_be_sent_again_is_retried_on_a_dead_connection():
    answer = dies_first(
        [httpx.RemoteProtocolError("Server disconnected without sending a response.")],
        lambda _request: httpx.Response(200),
    )
    async with registry(answer) as (client, recorder):
        assert await client.blob_exists("s3/b/aa", DIGEST)
        assert [method for method, _ in recorder.sent()] == ["HEAD", "HEAD"]
    always = dies_first(
        [httpx.ReadError("reset"), httpx.ConnectError("refused")] * 2,
        lambda _request: httpx.Response(200),
    )
    async with registry(always) as (client, recorder):
        with pytest.raises(RegistryUnavailable):
            await client.blob_exists("s3/b/aa", DIGEST)
        assert len(recorder.requests) == 4  # the default attempts, then unavailable


@pytest.mark.anyio
async def test_streamed_bodies_and_timeouts_are_never_retried():
    async def body() -> AsyncIterator[bytes]:
        yield b"blob"

    streamed = dies_first([httpx.WriteError("broken pipe")], lambda _request: httpx.Response(201))
    async with registry(streamed) as (client, _):
        with pytest.raises(RegistryUnavailable):
            await client._request("PUT", "/v2/s3/b/aa/blobs/uploads/1", "upload", content=body())
    slow = dies_first([httpx.ReadTimeout("slow")], lambda _request: httpx.Response(200))
    async with registry(slow) as (client, _):
        with pytest.raises(RegistryUnavailable):
            await client.blob_exists("s3/b/aa", DIGEST)


# -- metrics -----------------------------------------------------------------------------------


def registry_requests(call: str, outcome: str) -> float:
    labels = {"call": call, "outcome": outcome}
    return REGISTRY.get_sample_value("artifact_store_registry_requests_total", labels) or 0.0


def registry_timed(call: str) -> float:
    name = "artifact_store_registry_request_duration_seconds_count"
    return REGISTRY.get_sample_value(name, {"call": call}) or 0.0


@pytest.mark.anyio
async def test_each_request_is_counted_by_call_and_outcome() -> None:
    """By call name, never the URL; every attempt counts (a retried one twice)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        if request.method == "HEAD":
            return httpx.Response(404)
        if "/blobs/" in request.url.path:
            return httpx.Response(200, content=chunks(b"bl", b"ob"))
        raise httpx.ConnectError("Connection refused")

    calls = [("ping", "2xx"), ("head blob", "4xx"), ("get blob", "2xx")]
    calls += [("get manifest", "transport_error")]
    before = {call: registry_requests(*call) for call in calls}
    timed = {call: registry_timed(call) for call, _ in calls}
    async with registry(handler) as (client, _):
        await client.ping()
        assert not await client.blob_exists("s3/b/aa", DIGEST)
        async with client.open_blob("s3/b/aa", DIGEST) as blob:
            assert b"".join([chunk async for chunk in blob]) == b"blob"
        with pytest.raises(RegistryUnavailable):
            await client.get_manifest("s3/b/aa", "o-1")
    moved = {call: registry_requests(*call) - before[call] for call in calls}
    assert moved == {
        ("ping", "2xx"): 1,
        ("head blob", "4xx"): 1,
        ("get blob", "2xx"): 1,
        ("get manifest", "transport_error"): 4,  # a refused connection: 4 tries (attempts)
    }
    assert {call: registry_timed(call) - timed[call] for call, _ in calls} == {
        "ping": 1,
        "head blob": 1,
        "get blob": 1,
        "get manifest": 4,
    }


@pytest.mark.anyio
async def test_a_body_the_gateway_stops_sending_is_aborted_not_a_registry_error() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"first"
        raise ValueError("the S3 client went away")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, headers={"Location": STATE})

    before = registry_requests("upload blob", "aborted")
    failures = registry_requests("upload blob", "transport_error")
    async with registry(handler) as (client, _):
        with pytest.raises(ValueError, match="went away"):
            await client.push_blob(
                "s3/b/aa", body(), None, digest=None, final_digest=lambda: DIGEST
            )
    assert registry_requests("upload blob", "aborted") == before + 1
    assert registry_requests("upload blob", "transport_error") == failures
