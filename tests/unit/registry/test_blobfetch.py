"""The fast blob download path against a real HTTP server on a local socket.

The server below is a few lines of asyncio streams that speak HTTP/1.1 the way each test
scripts it (Content-Length, chunked, dropped connections, redirects), so the client's own
parsing, pooling and backpressure are what is tested. Every test runs on plain asyncio and
on uvloop (the loop in production).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import pytest
from tenacity import wait_none

from gateway.domain.ports.registry import (
    RegistryError,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)
from gateway.registry import blobfetch
from gateway.registry.blobfetch import PIECE, QUEUED, BlobFetcher
from gateway.registry.client import RegistryClient
from gateway.registry.session import ZotSession

DIGEST = "sha256:" + hashlib.sha256(b"blob").hexdigest()
BLOB_PATH = f"/v2/r/blobs/{DIGEST}"
FAST_AGENT = "artifact-store"


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop"),
    ],
)
def anyio_backend(request: pytest.FixtureRequest) -> object:
    return request.param


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    connection: int  # which connection (1, 2, ...) it came on
    number: int  # its position on that connection (1, 2, ...)


Respond = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    """HTTP/1.1 on 127.0.0.1: reads requests, lets ``respond`` answer; ``respond`` returns
    whether to keep the connection open for another request."""

    respond: Respond
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    ended: set[int] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.connections += 1
        connection, number = self.connections, 0
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                line, *fields = head.split("\r\n")[:-2]
                method, path, _ = line.split(" ")
                headers = {}
                for item in fields:
                    name, _, value = item.partition(":")
                    headers[name.strip().lower()] = value.strip()
                number += 1
                request = Request(method, path, headers, connection, number)
                self.requests.append(request)
                keep = await self.respond(request, writer)
                await writer.drain()
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.ended.add(connection)
            self.changed.set()
            writer.close()

    def fast(self) -> list[Request]:
        return [r for r in self.requests if r.headers.get("user-agent") == FAST_AGENT]

    async def until_ended(self, connection: int) -> None:
        async with asyncio.timeout(5):
            while connection not in self.ended:
                self.changed.clear()
                await self.changed.wait()


@asynccontextmanager
async def serving(respond: Respond) -> AsyncIterator[Server]:
    server = Server(respond)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        listener.close()
        for task in server.tasks:
            task.cancel()
        for task in server.tasks:
            with suppress(asyncio.CancelledError):
                await task


@asynccontextmanager
async def client_of(server: Server, **kwargs: object) -> AsyncIterator[RegistryClient]:
    kwargs.setdefault("timeout", 10.0)  # a hang fails the test instead of stalling it
    client = RegistryClient(server.url, **kwargs)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        await client.aclose()


def head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer(status: int, body: bytes = b"", **headers: str) -> bytes:
    fields = {
        "Content-Length": str(len(body)),
        **{k.replace("_", "-"): v for k, v in headers.items()},
    }
    return head(status, fields) + body


def oci_error(status: int, code: str) -> bytes:
    body = json.dumps({"errors": [{"code": code, "message": code.lower()}]}).encode()
    return answer(status, body, Content_Type="application/json")


def chunked(parts: list[bytes], trailer: str = "") -> bytes:
    out = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in parts if part)
    return out + b"0\r\n" + trailer.encode() + b"\r\n"


BODY = os.urandom(3 * PIECE + 12345)


def serve_blob(body: bytes = BODY) -> Respond:
    """A registry serving ``body`` at BLOB_PATH, with Range support, keep-alive."""

    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path != BLOB_PATH:
            writer.write(oci_error(404, "BLOB_UNKNOWN"))
            return True
        wanted = request.headers.get("range")
        if wanted:
            first, last = (int(x) for x in wanted.removeprefix("bytes=").split("-"))
            part = body[first : last + 1]
            writer.write(answer(206, part, Content_Range=f"bytes {first}-{last}/{len(body)}"))
        else:
            writer.write(answer(200, body))
        return True

    return respond


async def read(client: RegistryClient, byte_range: tuple[int, int] | None = None) -> bytes:
    async with client.open_blob("r", DIGEST, byte_range) as blob:
        pieces = [piece async for piece in blob]
    assert all(0 < len(piece) <= PIECE for piece in pieces)
    return b"".join(pieces)


# -- the path itself ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_whole_blob_in_pieces_of_at_most_one_mib() -> None:
    async with serving(serve_blob()) as server, client_of(server) as client:
        async with client.open_blob("r", DIGEST) as blob:
            assert (blob.status, blob.length) == (200, len(BODY))
            sizes = [len(piece) async for piece in blob]
        assert sizes == [PIECE, PIECE, PIECE, 12345]
    (request,) = server.requests
    assert (request.method, request.path) == ("GET", BLOB_PATH)
    assert request.headers["host"] == server.url.removeprefix("http://")
    assert request.headers["user-agent"] == FAST_AGENT
    assert "range" not in request.headers
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    "span", [(0, 0), (5, 5 + PIECE), (PIECE - 1, len(BODY) - 1), (100, 2 * PIECE + 7)]
)
@pytest.mark.anyio
async def test_ranged_get(span: tuple[int, int]) -> None:
    async with (
        serving(serve_blob()) as server,
        client_of(server) as client,
        client.open_blob("r", DIGEST, span) as blob,
    ):
        assert (blob.status, blob.length) == (206, span[1] - span[0] + 1)
        data = b"".join([piece async for piece in blob])
    assert data == BODY[span[0] : span[1] + 1]
    assert server.requests[0].headers["range"] == f"bytes={span[0]}-{span[1]}"


@pytest.mark.anyio
async def test_basic_auth_goes_on_the_fast_path_too() -> None:
    async with serving(serve_blob()) as server, client_of(server, auth=("u", "p:ss")) as client:
        assert await read(client) == BODY
    token = base64.b64encode(b"u:p:ss").decode()
    assert server.requests[0].headers["authorization"] == f"Basic {token}"


@pytest.mark.anyio
async def test_a_base_url_path_prefixes_the_request() -> None:
    async with serving(serve_blob()) as server:
        server.url += "/mirror/"
        async with client_of(server) as client:
            with pytest.raises(RegistryNotFound):
                await read(client)
    assert server.requests[0].path == "/mirror" + BLOB_PATH


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param([BODY[:1], BODY[1:70000], BODY[70000:]], id="across-pieces"),
        pytest.param([BODY[i : i + 4096] for i in range(0, 300_000, 4096)], id="many-small"),
        pytest.param([], id="empty"),
    ],
)
@pytest.mark.anyio
async def test_chunked_body(parts: list[bytes]) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(head(200, {"Transfer-Encoding": "chunked"}))
        encoded = chunked(parts, trailer="X-Trailer: 1\r\n")
        for i in range(0, len(encoded), 50_000):  # arrives in several reads
            writer.write(encoded[i : i + 50_000])
            await writer.drain()
        return True

    async with serving(respond) as server, client_of(server) as client:
        async with client.open_blob("r", DIGEST) as blob:
            assert (blob.status, blob.length) == (200, 0)
            data = b"".join([piece async for piece in blob])
        assert data == b"".join(parts)
        assert await read(client) == b"".join(parts)  # the connection came back clean
    assert server.connections == 1


@pytest.mark.anyio
async def test_body_delimited_by_the_end_of_the_connection() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(head(200, {"Connection": "close"}) + BODY)
        return False

    async with serving(respond) as server, client_of(server) as client:
        assert await read(client) == BODY
        assert await read(client) == BODY
    assert server.connections == 2


# -- the pool ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keep_alive_connection_is_reused() -> None:
    async with serving(serve_blob()) as server, client_of(server) as client:
        assert await read(client) == BODY
        assert await read(client, (3, 9)) == BODY[3:10]
        with pytest.raises(RegistryNotFound):  # an error's body is read: still reusable
            async with client.open_blob("r", "sha256:other"):
                pytest.fail("must not open")
        assert await read(client) == BODY
    assert server.connections == 1
    assert [r.number for r in server.requests] == [1, 2, 3, 4]


@pytest.mark.anyio
async def test_answers_of_any_size_share_a_connection() -> None:
    async with serving(serve_blob()) as server, client_of(server) as client:
        assert await read(client, (0, 9)) == BODY[:10]  # a 10-byte buffer is enough here
        assert await read(client) == BODY  # the buffer grows to a whole piece
        assert await read(client, (7, 7)) == BODY[7:8]
    assert server.connections == 1
    async with serving(serve_blob(b"")) as server, client_of(server) as client:
        assert await read(client) == b""
        assert await read(client) == b""
    assert server.connections == 1


@pytest.mark.anyio
async def test_a_half_read_body_closes_the_connection() -> None:
    big = os.urandom(16 * PIECE)
    async with serving(serve_blob(big)) as server, client_of(server) as client:
        async with client.open_blob("r", DIGEST) as blob:
            async for piece in blob:
                assert piece == big[:PIECE]
                break
        await server.until_ended(1)  # closed, not parked
        assert await read(client) == big
    assert server.connections == 2


@pytest.mark.anyio
async def test_a_body_that_arrived_whole_keeps_the_connection_even_unread() -> None:
    async with serving(serve_blob(b"tiny")) as server, client_of(server) as client:
        async with client.open_blob("r", DIGEST) as blob:
            assert blob.status == 200  # not iterated; but the answer ended on the wire
        assert await read(client) == b"tiny"
    assert server.connections == 1


@pytest.mark.anyio
async def test_a_connection_closed_by_the_registry_while_idle_is_replaced() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.number == 2:
            return False  # as if it had timed the connection out just now: no answer
        writer.write(answer(200, b"abc"))
        return True

    async with serving(respond) as server, client_of(server) as client:
        assert await read(client) == b"abc"
        assert await read(client) == b"abc"
    assert [(r.connection, r.number) for r in server.requests] == [(1, 1), (1, 2), (2, 1)]


@pytest.mark.anyio
async def test_the_registry_closing_a_fresh_connection_is_unavailable() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        return False

    async with serving(respond) as server, client_of(server, attempts=1) as client:
        with pytest.raises(RegistryUnavailable):
            await read(client)
    assert server.connections == 1  # the fetcher does not retry a connection that was new

    # The client's retry policy does: a GET is repeatable, a reset is transient.
    async with serving(respond) as server, client_of(server, pause=wait_none()) as client:
        with pytest.raises(RegistryUnavailable):
            await read(client)
    assert server.connections == 4


@pytest.mark.anyio
async def test_reading_pauses_while_the_reader_does_not_take_pieces() -> None:
    big = os.urandom(64 * PIECE)
    async with serving(serve_blob(big)) as server, client_of(server) as client:
        async with client.open_blob("r", DIGEST) as blob:
            pieces = aiter(blob)
            first = await anext(pieces)
            await asyncio.sleep(0.3)  # the socket keeps delivering if nobody pauses it
            conn = blob._conn  # type: ignore[attr-defined]
            assert len(conn._pieces) <= QUEUED
            assert conn._paused
            rest = [piece async for piece in pieces]
        assert first + b"".join(rest) == big
    assert server.connections == 1


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        pytest.param(oci_error(404, "BLOB_UNKNOWN"), RegistryNotFound, "BLOB_UNKNOWN", id="404"),
        pytest.param(answer(404), RegistryNotFound, None, id="404-no-body"),
        pytest.param(
            head(404, {"Transfer-Encoding": "chunked"})
            + chunked([b'{"errors": [{"code": "NAME_UNKNOWN"}]}']),
            RegistryNotFound,
            "NAME_UNKNOWN",
            id="404-chunked",
        ),
        pytest.param(answer(500, b"oops"), RegistryUnavailable, None, id="500"),
        pytest.param(oci_error(503, "UNAVAILABLE"), RegistryUnavailable, "UNAVAILABLE", id="503"),
        pytest.param(
            oci_error(429, "TOOMANYREQUESTS"), RegistryUnavailable, "TOOMANYREQUESTS", id="429"
        ),
        pytest.param(oci_error(403, "DENIED"), RegistryRejected, "DENIED", id="403"),
        pytest.param(answer(416, b""), RegistryRejected, None, id="416"),
    ],
)
@pytest.mark.anyio
async def test_error_statuses_are_translated(
    response: bytes, kind: type[RegistryError], code: str | None
) -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response)
        return True

    async with serving(respond) as server, client_of(server, pause=wait_none()) as client:
        with pytest.raises(RegistryError) as caught:
            async with client.open_blob("r", DIGEST, (0, 9)):
                pytest.fail("must not open")
    assert type(caught.value) is kind
    status = int(response[9:12])
    assert (caught.value.status, caught.value.code) == (status, code)
    # Answered on the fast path, never tried through httpx; a transient 500/503 is tried
    # again there (a GET is repeatable), up to the client's 4 attempts.
    assert len(server.fast()) == (4 if status in (500, 503) else 1)


@pytest.mark.anyio
async def test_a_registry_that_drops_mid_body_is_unavailable() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(head(200, {"Content-Length": str(len(BODY))}) + BODY[: PIECE + 500])
        return False

    async with serving(respond) as server, client_of(server) as client:
        received: list[bytes] = []

        async def collect() -> None:
            async with client.open_blob("r", DIGEST) as blob:
                async for piece in blob:
                    received.append(piece)

        with pytest.raises(RegistryUnavailable, match="blob stream broke"):
            await collect()
        assert received == [BODY[:PIECE]]
        assert client._fetcher is not None
        assert client._fetcher._idle == []  # not parked for reuse


@pytest.mark.anyio
async def test_a_broken_chunked_body_is_unavailable() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(head(200, {"Transfer-Encoding": "chunked"}) + b"zz\r\nnot hex\r\n")
        return True

    async with serving(respond) as server, client_of(server) as client:
        with pytest.raises(RegistryUnavailable):
            await read(client)


@pytest.mark.anyio
async def test_garbage_instead_of_a_response_is_unavailable() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        return True

    async with serving(respond) as server, client_of(server) as client:
        with pytest.raises(RegistryUnavailable):
            await read(client)


@pytest.mark.anyio
async def test_a_silent_registry_times_out() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.headers.get("range") == "bytes=0-0":
            await asyncio.sleep(30)  # no answer at all
        writer.write(head(200, {"Content-Length": "10"}) + b"12345")
        await writer.drain()
        await asyncio.sleep(30)  # half a body, then nothing
        return False

    async with serving(respond) as server, client_of(server, timeout=0.2) as client:
        with pytest.raises(RegistryUnavailable, match="TimeoutError"):
            await read(client, (0, 0))
        with pytest.raises(RegistryUnavailable, match="TimeoutError"):
            await read(client)
    assert server.connections == 2


@pytest.mark.anyio
async def test_a_refused_connection_is_unavailable() -> None:
    async with serving(serve_blob()) as server:
        pass  # closed: nothing listens on its port any more
    async with client_of(server) as client:
        with pytest.raises(RegistryUnavailable):
            await read(client)


# -- what goes to httpx ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_redirect_falls_back_to_httpx_and_switches_the_fast_path_off() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.path == BLOB_PATH:
            writer.write(answer(307, b"", Location="/storage/blob-data"))
        else:
            writer.write(answer(200, b"0123456789"))
        return True

    async with serving(respond) as server, client_of(server) as client:
        assert await read(client) == b"0123456789"
        assert await read(client) == b"0123456789"
    assert [(r.path, r.headers["user-agent"] == FAST_AGENT) for r in server.requests] == [
        (BLOB_PATH, True),
        (BLOB_PATH, False),
        ("/storage/blob-data", False),
        (BLOB_PATH, False),
        ("/storage/blob-data", False),
    ]


@pytest.mark.anyio
async def test_an_auth_challenge_falls_back_to_httpx() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED"}]}).encode()
        writer.write(answer(401, body, WWW_Authenticate='Basic realm="r"'))
        return True

    async with serving(respond) as server, client_of(server, auth=("u", "p")) as client:
        with pytest.raises(RegistryRejected):
            await read(client)
        with pytest.raises(RegistryRejected):
            await read(client)
    agents = [r.headers["user-agent"] == FAST_AGENT for r in server.requests]
    assert agents == [True, False, True, False]  # a 401 does not switch the fast path off


@pytest.mark.anyio
async def test_a_zot_session_goes_on_the_fast_path_and_a_refused_cookie_goes_to_httpx() -> None:
    """The fast path logs in (Basic and Zot's UI header), then sends the cookie alone; a 401
    to the cookie drops it and httpx tries again with Basic, which logs in anew."""
    basic = "Basic " + base64.b64encode(b"u:p").decode()
    live: set[str] = set()

    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        headers = request.headers
        if headers.get("authorization") == basic and headers.get("x-zot-api-client") == "zot-ui":
            cookie = f"c{len(server.requests)}"
            live.add(cookie)
            writer.write(
                f"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nSet-Cookie: user=u; Path=/\r\n"
                f"Set-Cookie: session={cookie}; Path=/; HttpOnly\r\n\r\nblob".encode()
            )
        elif headers.get("cookie", "").removeprefix("session=") in live:
            writer.write(answer(200, b"blob"))
        else:
            writer.write(answer(401, b"{}", Set_Cookie="session=; Path=/"))
        return True

    session = ZotSession("u", "p")
    async with serving(respond) as server, client_of(server, session=session) as client:
        assert await read(client) == b"blob"
        assert await read(client) == b"blob"
        live.clear()  # a Zot restarted with a new session key
        assert await read(client) == b"blob"
        assert await read(client) == b"blob"
    seen = [
        (
            r.headers["user-agent"] == FAST_AGENT,
            "login"
            if "x-zot-api-client" in r.headers and "authorization" in r.headers
            else r.headers.get("cookie", "basic"),
        )
        for r in server.requests
    ]
    assert seen == [
        (True, "login"),
        (True, "session=c1"),
        (True, "session=c1"),  # refused: to httpx
        (False, "login"),
        (True, "session=c4"),
    ]
    assert session.logins == 2


@pytest.mark.parametrize(
    ("url", "usable"),
    [
        ("http://registry:5000", True),
        ("http://127.0.0.1:5000/prefix/", True),
        ("http://[::1]:5000", True),
        ("https://registry:5000", False),
        ("http://user:pw@registry:5000", False),
        ("http://registry:notaport", False),
        ("http://registry:5000/?q=1", False),
        ("unix:///run/registry.sock", False),
    ],
)
def test_which_base_urls_the_fast_path_serves(url: str, usable: bool) -> None:
    assert BlobFetcher.usable(url) is usable


@pytest.mark.anyio
async def test_tls_registries_and_injected_transports_use_httpx_only() -> None:
    import httpx

    for client in (
        RegistryClient("https://registry.test"),
        RegistryClient("http://registry.test", transport=httpx.MockTransport(lambda r: None)),  # type: ignore[arg-type,return-value]
        RegistryClient("http://registry.test", fast_blobs=False),
    ):
        assert client._fetcher is None
        await client.aclose()
    client = RegistryClient("http://registry.test")
    assert client._fetcher is not None
    await client.aclose()


def test_request_bytes() -> None:
    fetcher = BlobFetcher("http://[::1]:5000/base", auth=("a", "b"))
    assert (
        fetcher.request_bytes(BLOB_PATH, (1, 2))
        == (
            f"GET /base{BLOB_PATH} HTTP/1.1\r\nHost: [::1]:5000\r\nAccept: */*\r\n"
            "User-Agent: artifact-store\r\nAuthorization: Basic YTpi\r\nRange: bytes=1-2\r\n\r\n"
        ).encode()
    )
    assert blobfetch.MAX_IDLE >= 1


@pytest.mark.anyio
async def test_an_informational_answer_falls_back_to_httpx() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(200, b"abc"))
        return True

    async with serving(respond) as server, client_of(server) as client:
        assert await read(client) == b"abc"
    assert [r.headers["user-agent"] == FAST_AGENT for r in server.requests] == [True, False]


# -- pool limits -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bytes_after_the_answer_spoil_the_connection() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(answer(200, b"abc") + b"HTTP/1.1 200 OK\r\n\r\nunasked")
        return True

    async with serving(respond) as server, client_of(server) as client:
        assert await read(client) == b"abc"
        await asyncio.sleep(0.05)
        assert await read(client) == b"abc"
    assert server.connections == 2
    assert len(server.fast()) == 2


@pytest.mark.anyio
async def test_idle_connections_are_capped_and_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(serve_blob(b"abc")) as server, client_of(server) as client:
        fetcher = client._fetcher
        assert fetcher is not None
        fetcher._max_idle = 2
        blobs = [client.open_blob("r", DIGEST) for _ in range(3)]
        for blob in blobs:
            await blob.__aenter__()
        for blob in blobs:
            await blob.__aexit__(None, None, None)
        assert len(fetcher._idle) == 2
        await server.until_ended(1)  # the oldest idle one went
        monkeypatch.setattr(blobfetch, "IDLE_SECONDS", 0.0)
        assert await read(client) == b"abc"
    assert server.connections == 4


@pytest.mark.anyio
async def test_beyond_max_connections_downloads_go_through_httpx() -> None:
    async with serving(serve_blob(b"abc")) as server, client_of(server) as client:
        assert client._fetcher is not None
        client._fetcher._max_connections = 1
        async with client.open_blob("r", DIGEST):
            assert await read(client) == b"abc"
        assert await read(client) == b"abc"
    assert [r.headers["user-agent"] == FAST_AGENT for r in server.requests] == [
        True,
        False,
        True,
    ]


@pytest.mark.anyio
async def test_a_caller_cancelled_while_waiting_closes_the_connection() -> None:
    async def respond(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    async with serving(respond) as server, client_of(server) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await read(client)
        assert client._fetcher is not None
        assert client._fetcher._idle == []
