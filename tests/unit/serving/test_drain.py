"""The drain (``gateway/drain.py``): what a request still moving bytes at the deadline gets,
with tiny inline ASGI apps and a server that is a pair of functions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from gateway.drain import Drain
from gateway.shedding import Draining

SCOPE: Scope = {
    "type": "http",
    "method": "PUT",
    "path": "/b/k",
    "headers": [],
    "asgi": {"version": "3.0", "spec_version": "2.3"},
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


class Client:
    """The server side of one connection: body pieces the test lets through one by one,
    a socket whose writes block until ``writable`` is set, and what was sent."""

    def __init__(self) -> None:
        self.pieces: asyncio.Queue[bytes] = asyncio.Queue()
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        return {"type": "http.request", "body": await self.pieces.get(), "more_body": True}

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            await self.writable.wait()
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return int(starts[0]["status"]) if starts else None

    @property
    def complete(self) -> bool:
        return any(m["type"] == "http.response.body" and not m.get("more_body") for m in self.sent)


async def upload(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body until it ends (it never does here), then answers 200."""
    while (await receive()).get("more_body"):
        pass
    await Response(b"stored")(scope, receive, send)


async def running(drain: Drain, client: Client, app_done: asyncio.Event | None = None) -> None:
    await drain(SCOPE, client.receive, client.send)
    if app_done is not None:
        app_done.set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.anyio
async def test_an_upload_waiting_for_its_body_is_cut_with_a_503() -> None:
    drain, client = Drain(upload), Client()
    task = asyncio.create_task(running(drain, client))
    client.pieces.put_nowait(b"first")
    await settle()
    assert drain.in_flight == 1
    drain.cut()
    await asyncio.wait_for(task, 1)
    assert client.status == 503
    start = client.sent[0]
    assert (b"retry-after", b"1") in start["headers"]
    assert (b"connection", b"close") in start["headers"]
    assert client.complete
    assert drain.in_flight == 0
    assert await drain.settled(0.1)


@pytest.mark.anyio
async def test_an_edge_answers_the_cut_itself() -> None:
    """The protocol edges turn Draining into their own 503 (S3 XML, problem, OCI JSON)."""

    async def edge(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await upload(scope, receive, send)
        except Draining:
            await Response(b"<Error/>", 503)(scope, receive, send)

    drain, client = Drain(edge), Client()
    task = asyncio.create_task(running(drain, client))
    await settle()
    drain.cut()
    await asyncio.wait_for(task, 1)
    assert [m.get("body") for m in client.sent if m["type"] == "http.response.body"] == [
        b"<Error/>"
    ]


@pytest.mark.anyio
async def test_a_request_busy_elsewhere_finishes_and_its_answer_goes_out() -> None:
    """A commit is never interrupted: only the next body read would be."""
    committing = asyncio.Event()
    reads: list[str] = []

    async def committer(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        committing.set()
        await asyncio.sleep(0.05)  # the registry and the index at work
        try:
            await receive()
        except Draining:
            reads.append("cut")
        await Response(b"<CompleteMultipartUploadResult/>")(scope, receive, send)

    drain, client = Drain(committer), Client()
    client.pieces.put_nowait(b"all of it")
    task = asyncio.create_task(running(drain, client))
    await committing.wait()
    drain.cut()
    await asyncio.wait_for(task, 1)
    assert reads == ["cut"]
    assert client.status == 200
    assert client.complete


async def endless() -> AsyncIterator[bytes]:
    while True:
        yield b"x" * 1024
        await asyncio.sleep(0)


@pytest.mark.anyio
async def test_a_download_blocked_on_a_slow_reader_is_ended() -> None:
    async def download(scope: Scope, receive: Receive, send: Send) -> None:
        await StreamingResponse(endless())(scope, receive, send)

    drain, client = Drain(download), Client()
    listening = asyncio.Event()

    async def receive() -> Message:  # the disconnect listener: the client stays
        listening.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task = asyncio.create_task(drain(SCOPE, receive, client.send))
    await listening.wait()
    await asyncio.sleep(0.01)
    client.writable.clear()  # the reader stops reading: the next write blocks
    await asyncio.sleep(0.01)
    sent_before = len(client.sent)
    assert sent_before >= 2
    drain.cut()
    await asyncio.wait_for(task, 1)  # no exception reaches the server
    assert client.status == 200
    assert not client.complete  # a short body: the server closes the connection
    assert drain.in_flight == 0


@pytest.mark.anyio
async def test_the_last_message_of_an_answer_is_never_cut() -> None:
    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        drain.cut()
        await send({"type": "http.response.body", "body": b"done", "more_body": False})

    drain, client = Drain(answer), Client()
    await drain(SCOPE, client.receive, client.send)
    assert client.complete


@pytest.mark.anyio
async def test_someone_elses_cancel_stays_a_cancel() -> None:
    """uvicorn cancels what still runs after the grace period: not turned into Draining."""
    drain, client = Drain(upload), Client()
    task = asyncio.create_task(running(drain, client))
    await settle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert drain.in_flight == 0


@pytest.mark.anyio
async def test_begin_cuts_after_the_deadline_and_new_requests_are_cut_at_once() -> None:
    drain, client = Drain(upload), Client()
    task = asyncio.create_task(running(drain, client))
    await settle()
    drain.begin(0.05)
    drain.begin(10)  # a second signal does not move the deadline
    await asyncio.sleep(0.02)
    assert not task.done()
    await asyncio.wait_for(task, 1)
    assert client.status == 503
    late = Client()
    await drain(SCOPE, late.receive, late.send)
    assert late.status == 503


@pytest.mark.anyio
async def test_settled_waits_for_the_last_request() -> None:
    drain, client = Drain(upload), Client()
    task = asyncio.create_task(running(drain, client))
    await settle()
    assert await drain.settled(0.05) is False
    drain.cut()
    assert await drain.settled(1) is True
    await task


@pytest.mark.anyio
async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    await Drain(app)({"type": "lifespan"}, receive, Client().send)
    assert seen == ["lifespan"]
