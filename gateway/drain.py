"""Graceful drain: what a request still moving bytes at the drain deadline gets.

On SIGTERM uvicorn stops accepting at once (the listening sockets close: new connections are
refused) and lets the requests in flight run on (``serving.py``). Most end well inside the
deadline (``drain_seconds``). Those still moving bytes when it passes are cut here, between
the server and the protocol edges, and only at their I/O:

- an upload still receiving its body: the next (or the pending) ``receive`` raises
  :class:`~gateway.shedding.Draining`. It travels up the body readers like a client that hung
  up, so the domain aborts as it always does before its commit: a PutObject stores nothing,
  an UploadPart or tus append adds no part (the upload's earlier parts and its tus offset
  stay as they were), and the edge answers 503 with ``Retry-After`` and
  ``Connection: close``.
- a download still sending: the next (or the pending) body ``send`` raises, the stream is
  closed and so is the connection; the client sees a short body and resumes with Range.

A request busy with the registry or the index (a commit) is never interrupted: it runs on
until it next reads the body or sends bytes, and its answer's last message always goes out.
Only after ``drain_grace_seconds`` more does uvicorn cancel whatever still runs.

A pending ``receive``/``send`` is interrupted by cancelling the task that awaits it, with a
message of our own; the cancellation is taken back at once (``Task.uncancel``) and turned
into ``Draining``, so no other code ever sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.shedding import Draining

log = logging.getLogger("gateway.drain")
T = TypeVar("T")
CUT = "artifact-store: drain deadline passed"


class _Flight:
    """One HTTP request in flight: whether its answer started, and which tasks wait in its
    ``receive`` and ``send``."""

    __slots__ = ("cut", "interrupted", "receiving", "sending", "started")

    def __init__(self) -> None:
        self.started = False
        self.cut = False
        self.receiving: asyncio.Task[object] | None = None
        self.sending: asyncio.Task[object] | None = None
        self.interrupted: asyncio.Task[object] | None = None  # cancelled by the cut


class Drain:
    """Counts the HTTP requests in flight and cuts their I/O once :meth:`cut` is called."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._flights: set[_Flight] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._timer: asyncio.TimerHandle | None = None
        self.cutting = False

    @property
    def in_flight(self) -> int:
        return len(self._flights)

    def begin(self, seconds: float) -> None:
        """The process is stopping: cut what still moves bytes after ``seconds``."""
        if self._timer is None and not self.cutting:
            log.info("draining: %d requests in flight, cut in %.1f s", self.in_flight, seconds)
            self._timer = asyncio.get_running_loop().call_later(seconds, self.cut)

    def cut(self) -> None:
        self.cutting = True
        if self._flights:
            log.warning("drain deadline passed: cutting %d requests in flight", self.in_flight)
        for flight in self._flights:
            flight.cut = True
            waiting = flight.sending if flight.started else flight.receiving
            if waiting is not None:
                flight.interrupted = waiting
                waiting.cancel(CUT)

    async def settled(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for every request to have unwound (after a cut, or after
        uvicorn cancelled them); True if none is left."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        return not self._flights

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        flight = _Flight()
        flight.cut = self.cutting
        self._flights.add(flight)
        self._idle.clear()

        async def guarded_receive() -> Message:
            if flight.started:  # listening for a disconnect: never cut
                return await receive()
            if flight.cut:
                raise Draining()
            return await _waited(flight, "receiving", receive())

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                flight.started = True
            elif message["type"] == "http.response.body" and message.get("more_body"):
                if flight.cut:
                    raise Draining()
                await _waited(flight, "sending", send(message))
                return
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Draining:
            if not flight.started:  # an edge that did not answer it itself
                await _refuse(send)
            # else: returning with the answer unfinished makes uvicorn close the connection
            log.warning("%s %s cut by the drain deadline", scope["method"], scope["path"])
        finally:
            self._flights.discard(flight)
            if not self._flights:
                self._idle.set()


async def _waited(flight: _Flight, slot: str, operation: Awaitable[T]) -> T:
    """Await ``operation`` where :meth:`Drain.cut` can interrupt it (``slot`` names which
    of the flight's waits this is)."""
    task = asyncio.current_task()
    setattr(flight, slot, task)
    try:
        return await operation
    except asyncio.CancelledError:
        if task is None or flight.interrupted is not task:
            raise
        flight.interrupted = None
        if task.uncancel() > 0:  # cancelled by someone else too: theirs wins
            raise
        raise Draining() from None
    finally:
        setattr(flight, slot, None)


async def _refuse(send: Send) -> None:
    body = b"The server is shutting down; retry the request.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
