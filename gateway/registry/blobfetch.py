"""Blob downloads without httpx: a plain HTTP/1.1 GET on a pooled asyncio connection.

Why (docs/performance.md, "What limits the gateway"): through httpx a GiB crosses httpcore,
httpx, the domain and the ASGI stack as ~16,400 pieces of 64 KiB, and the gateway spent
2.5 to 3.3 s of CPU per GiB on that. Here the socket is read straight into a 1 MiB buffer
(``asyncio.BufferedProtocol``: uvloop and asyncio both ``recv_into`` it) and the body leaves
in pieces of up to 1 MiB, one copy each.

Scope: ``http://`` base URLs, and answers that are 2xx or an error (>= 400 except 401).
Everything else -- TLS, redirects, auth challenges, 1xx -- makes :meth:`BlobFetcher.open`
answer ``None`` before any body byte is handed out, and the caller uses httpx, which handles
all of HTTP. A registry that redirects blob downloads (storage behind it) switches the fast
path off for the life of the client. With a Zot session (session.py) a GET carries its
cookie, or logs in; a 401 to the cookie drops it and hands the GET to httpx, which tries
Basic.

Memory per open download is bounded whatever the blob's size: at most ``QUEUED`` finished
pieces wait for the reader while the next one fills; reading from the socket pauses until
the reader takes one. A connection goes back to the pool only when its response ended on the
wire (the whole body received, keep-alive allowed); a body not read to its end closes it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress
from typing import cast
from urllib.parse import quote, urlsplit

import httptools
from opentelemetry import propagate, trace

from gateway.domain.ports.registry import RegistryUnavailable
from gateway.registry.session import Credentials, ZotSession

log = logging.getLogger(__name__)
# What names a registry call: an httpx request extension (registry/client.py) and a span
# attribute.
CALL = "artifact_store.registry.call"

PIECE = 1 << 20  # largest piece handed to the reader (and the socket read buffer)
QUEUED = 1  # finished pieces that may wait for the reader before reading pauses
HEAD_BUFFER = 64 * 1024  # reads while parsing a response head or a chunked body
MAX_IDLE = 8  # idle keep-alive connections kept
IDLE_SECONDS = 30.0  # an idle connection older than this is closed rather than reused
MAX_ERROR_BODY = 64 * 1024  # registries answer errors with small JSON documents
_PATH_SAFE = "/:@!$&'()*+,;="


class _Connection(asyncio.BufferedProtocol):
    """One TCP connection to the registry and the state of the response being read on it.

    The event loop calls the protocol methods; the reader (:class:`FastBlob`) takes finished
    pieces with :meth:`take` and sleeps in :meth:`wait` until there is something to do.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float) -> None:
        self.loop = loop
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._view = memoryview(bytearray(0))  # the piece being filled; sized per answer
        self._head = memoryview(bytearray(HEAD_BUFFER))
        self._pieces: deque[bytes] = deque()
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.set_cookies: list[str] = []  # headers that repeat: only these are kept all
        self.length: int | None = None
        self.keep_alive = False
        self.head_done = False
        self.complete = False
        self.failure: BaseException | None = None
        self.timed_out = False
        self.received = 0
        self._chunked = False
        self._body_seen = 0
        self._raw = False  # body bytes go straight from the socket into the piece buffer
        self._remaining: int | None = None  # body bytes still due in raw mode; None: until EOF
        self._filled = 0
        self.extra = False
        self._pieces.clear()

    # -- the exchange, driven by the reader ------------------------------------------------

    def start(self, request: bytes) -> None:
        assert self.transport is not None
        self._reset()
        self._parser = httptools.HttpResponseParser(self)
        self.transport.write(request)

    def take(self) -> bytes | None:
        """The next finished piece of the body, if one is ready."""
        if not self._pieces:
            return None
        piece = self._pieces.popleft()
        if self._paused and len(self._pieces) < QUEUED:
            self._resume()
        return piece

    async def wait(self) -> None:
        """Sleep until the loop reports progress (head, piece, end or failure)."""
        waiter = self.loop.create_future()
        self._waiter = waiter
        try:
            async with asyncio.timeout(self.read_timeout):
                await waiter
        except TimeoutError:
            self.timed_out = True
            self._fail(TimeoutError(f"nothing from the registry in {self.read_timeout} s"))
        finally:
            self._waiter = None

    def reusable(self) -> bool:
        return (
            self.complete
            and self.keep_alive
            and not self.extra
            and not self.closed
            and self.failure is None
        )

    def park(self) -> None:
        """Make ready for the pool: reading on, so that a close by the registry is noticed."""
        self._parser = None
        self._reset()
        if self._paused:
            self._resume()
        self.idle_since = self.loop.time()

    def close(self) -> None:
        self._parser = None
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    # -- asyncio protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._parser is not None and not self.complete:
            if self.head_done and self._raw and self._remaining is None:
                self._flush()  # a body delimited by the end of the connection
                self._finish()
            elif self.failure is None:
                self.failure = exc or ConnectionResetError("the registry closed the connection")
        self._wake()

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._raw:
            end = len(self._view)
            if self._remaining is not None:
                end = min(end, self._filled + self._remaining)
            return self._view[self._filled : end]
        return self._head

    def buffer_updated(self, nbytes: int) -> None:
        self.received += nbytes
        if self._raw:
            self._filled += nbytes
            if self._remaining is not None:
                self._remaining -= nbytes
                if self._remaining == 0:
                    self._flush()
                    self._finish()
                    return
            if self._filled == len(self._view):
                self._flush()
            return
        if self._parser is None or self.complete:
            self._fail(ConnectionError("the registry sent bytes outside a response"))
            return
        try:
            self._parser.feed_data(self._head[:nbytes])
        except httptools.HttpParserError as exc:
            self._fail(exc)
            return
        if self.head_done and not self.complete and not self._chunked:
            # The rest of the body is read without the parser, straight into the buffer.
            self._raw = True
            self._remaining = None if self.length is None else self.length - self._body_seen

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; connection_lost follows

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.head_done:
            self.extra = True  # a second response (after a 1xx, or bytes nobody asked for)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:
            lower, text = name.decode("latin-1").lower(), value.decode("latin-1")
            self.headers[lower] = text
            if lower == "set-cookie":
                self.set_cookies.append(text)

    def on_headers_complete(self) -> None:
        if self.head_done or self._parser is None:
            return
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if not self._chunked and "content-length" in self.headers:
            self.length = int(self.headers["content-length"])  # llhttp checked the digits
        # A piece holds up to PIECE bytes; a connection that only ever carries small answers
        # keeps a small buffer.
        wanted = PIECE if self.length is None else min(PIECE, self.length)
        if len(self._view) < wanted:
            self._view = memoryview(bytearray(wanted))
        self.head_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.extra:
            return
        self._body_seen += len(body)
        data = memoryview(body)
        while data:
            take = min(len(self._view) - self._filled, len(data))
            self._view[self._filled : self._filled + take] = data[:take]
            self._filled += take
            data = data[take:]
            if self._filled == len(self._view):
                self._flush()

    def on_message_complete(self) -> None:
        if self.complete:
            return
        self._flush()
        self._finish()

    # -- internals -------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._filled:
            return
        self._pieces.append(bytes(self._view[: self._filled]))
        self._filled = 0
        if len(self._pieces) >= QUEUED and not self._paused and not self.closed:
            assert self.transport is not None
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def _resume(self) -> None:
        self._paused = False
        if not self.closed and self.transport is not None:
            self.transport.resume_reading()

    def _finish(self) -> None:
        self.complete = True
        self._raw = False
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
        self.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class FastBlob:
    """An open blob download on the fast path: same surface as ``client.BlobStream``."""

    def __init__(
        self, fetcher: BlobFetcher, conn: _Connection, span: trace.Span | None = None
    ) -> None:
        self._fetcher = fetcher
        self._conn = conn
        self._span = span  # traced: the download's span, ended with it
        self._released = False
        self.status = conn.status
        self.headers = conn.headers
        self.length = conn.length or 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            piece = conn.take()
            if piece is not None:
                yield piece
            elif conn.complete:
                return
            elif conn.failure is not None:
                raise RegistryUnavailable(
                    f"blob stream broke: {_describe(conn.failure)}"
                ) from conn.failure
            else:
                await conn.wait()

    async def read_small(self, limit: int = MAX_ERROR_BODY) -> bytes:
        """The body of a short answer (an error document), at most about ``limit`` bytes."""
        pieces: list[bytes] = []
        size = 0
        async for piece in self:
            pieces.append(piece)
            size += len(piece)
            if size >= limit:
                break
        return b"".join(pieces)[:limit]

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._fetcher.release(self._conn)
            if self._span is not None:
                self._span.end()


class BlobFetcher:
    """The pool of plain HTTP/1.1 connections used for blob GETs."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        session: ZotSession | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 5.0,
        max_connections: int = 200,
        max_idle: int = MAX_IDLE,
        traced: bool = False,
    ) -> None:
        if not self.usable(base_url):
            raise ValueError(f"the fast blob path cannot serve {base_url!r}")
        parts = urlsplit(base_url)
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        fixed = [f"Host: {parts.netloc}", "Accept: */*", "User-Agent: artifact-store"]
        self._session = session  # per request: its cookie or Basic (session.py)
        if auth is not None and session is None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            fixed.append(f"Authorization: Basic {token}")
        self._fixed_headers = "".join(f"{line}\r\n" for line in fixed)
        self.read_timeout = timeout
        self.connect_timeout = connect_timeout
        self.enabled = True
        self._max_connections = max_connections
        self._max_idle = max_idle
        self._active = 0
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        # Traced: a client span per download (httpx's instrumentation does not see this path)
        # and its traceparent in the request.
        self._tracer = trace.get_tracer(__name__) if traced else None
        self._base_url = base_url.rstrip("/")

    @staticmethod
    def usable(base_url: str) -> bool:
        """Plain ``http://host[:port][/path]``: no TLS, no credentials in the URL."""
        try:
            parts = urlsplit(base_url)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return False
        return (
            parts.scheme == "http"
            and bool(parts.hostname)
            and parts.username is None
            and not parts.query
            and not parts.fragment
        )

    def request_bytes(
        self,
        path: str,
        byte_range: tuple[int, int] | None,
        extra: Mapping[str, str] | None = None,
    ) -> bytes:
        target = quote(self._prefix + path, safe=_PATH_SAFE)
        lines = [f"Range: bytes={byte_range[0]}-{byte_range[1]}"] if byte_range else []
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        more = "".join(f"{line}\r\n" for line in lines)
        return f"GET {target} HTTP/1.1\r\n{self._fixed_headers}{more}\r\n".encode("latin-1")

    async def open(self, path: str, byte_range: tuple[int, int] | None = None) -> FastBlob | None:
        """GET ``path``; ``None`` when the answer is one for httpx (see the module doc).

        Transport failures raise :class:`RegistryUnavailable`. A connection taken from the
        pool that turns out closed before answering anything is replaced by a new one, once.
        """
        if self._active >= self._max_connections:
            return None
        if self._tracer is None:
            return await self._open(path, byte_range, None, None)
        span = self._tracer.start_span(
            "registry get blob",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "http.request.method": "GET",
                "url.full": self._base_url + path,
                "server.address": self._host,
                "server.port": self._port,
                CALL: "get blob",
            },
        )
        headers: dict[str, str] = {}
        propagate.inject(headers, context=trace.set_span_in_context(span))
        try:
            blob = await self._open(path, byte_range, headers, span)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_status(trace.StatusCode.ERROR)
            span.end()
            raise
        if blob is None:
            span.end()
        return blob

    async def _open(
        self,
        path: str,
        byte_range: tuple[int, int] | None,
        headers: Mapping[str, str] | None,
        span: trace.Span | None,
    ) -> FastBlob | None:
        chosen = self._session.choose(True) if self._session is not None else None
        if chosen is not None:
            headers = {**(headers or {}), **chosen.headers}
        request = self.request_bytes(path, byte_range, headers)
        fresh, answered = False, None
        try:
            while True:
                conn, reused = await self._acquire(fresh)
                try:
                    conn.start(request)
                    while not conn.head_done and conn.failure is None:
                        await conn.wait()
                except BaseException:
                    conn.close()
                    raise
                if conn.head_done:
                    answered = conn
                    break
                conn.close()
                assert conn.failure is not None
                if reused and conn.received == 0 and not conn.timed_out:
                    fresh = True  # the registry had closed it while idle
                    continue
                failure = conn.failure
                raise RegistryUnavailable(f"get blob: {_describe(failure)}") from failure
        finally:
            if chosen is not None:
                self._answered(chosen, answered)
        status = conn.status
        if span is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.StatusCode.ERROR)
        if status < 200 or 300 <= status < 400 or status == 401:
            conn.close()
            if 300 <= status < 400:
                self.enabled = False
                log.info("the registry redirects blob downloads (%d): fast path off", status)
            return None
        self._active += 1
        return FastBlob(self, conn, span)

    def _answered(self, chosen: Credentials, conn: _Connection | None) -> None:
        """Tell the session what came of its credentials (``conn`` None: no answer)."""
        session = self._session
        assert session is not None
        if chosen.login:
            session.logged_in(conn.set_cookies if conn is not None else ())
        if conn is not None and conn.status == 401 and chosen.cookie is not None:
            session.refused(chosen.cookie)

    def release(self, conn: _Connection) -> None:
        self._active -= 1
        if conn.reusable() and conn.loop is self._loop:
            conn.park()
            self._idle.append(conn)
            while len(self._idle) > self._max_idle:
                self._idle.pop(0).close()
        else:
            conn.close()

    async def _acquire(self, fresh: bool) -> tuple[_Connection, bool]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._drop_idle()  # they belong to another (finished) loop
            self._loop = loop
        if not fresh:
            now = loop.time()
            while self._idle:
                conn = self._idle.pop()
                if conn.closed or conn.failure is not None or now - conn.idle_since >= IDLE_SECONDS:
                    conn.close()
                    continue
                return conn, True
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop, self.read_timeout), self._host, self._port
                )
        except TimeoutError as exc:
            raise RegistryUnavailable(
                f"get blob: no connection to the registry in {self.connect_timeout} s"
            ) from exc
        except OSError as exc:
            raise RegistryUnavailable(f"get blob: {_describe(exc)}") from exc
        return conn, False

    def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            with suppress(RuntimeError):  # its loop may be closed already
                conn.close()

    async def aclose(self) -> None:
        self._drop_idle()


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__} {exc}".strip()
