"""The way through to Zot for ``/v2/``: requests and answers pass as they are, bodies
streamed both ways, with the gateway's own registry credentials in place of the caller's.

This is the edge's own HTTP client, not the domain's registry port: the proxy forwards wire
bytes and interprets nothing, so translating each request into domain calls and back would
only add work (docs/ARCHITECTURE.md, "The OCI front door").
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Protocol

import httpx

from gateway.domain.ports.registry import RegistryUnavailable

# RFC 9110 §7.6.1 hop-by-hop fields, plus what the proxy sets itself.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "authorization",
        # The gateway's session at Zot is its own (gateway/registry/session.py): a client's
        # would be Zot's UI login, a session file in Zot's storage per request.
        "cookie",
        "x-zot-api-client",
    }
)
_SIMPLE_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
# Headers whose URLs name the registry: they must name the gateway instead.
_URL_HEADERS = frozenset({"location", "link"})
# Answer headers the proxy never passes on: the registry's own challenge and session are not
# the caller's, and the server adds its own Date and Server.
_DROPPED_ANSWER = frozenset({"www-authenticate", "set-cookie", "date", "server"})


class FastBlob(Protocol):
    status: int
    headers: dict[str, str]  # lower-case names

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class FastBlobs(Protocol):
    """The registry adapter's plain-HTTP blob download (``registry/blobfetch.py``): a socket
    read into 1 MiB pieces instead of httpx's 64 KiB ones. None: an answer for httpx."""

    async def open(
        self, path: str, byte_range: tuple[int, int] | None = None
    ) -> FastBlob | None: ...

    async def aclose(self) -> None: ...


class Breaker(Protocol):
    """The registry's circuit (``registry/circuit.py``): ``admit`` raises
    RegistryUnavailable while it is open; ``record`` takes whether the registry answered."""

    def admit(self, call: str) -> object: ...

    def record(self, ticket: Any, ok: bool | None) -> None: ...


class _Unbroken:
    def admit(self, call: str) -> object:
        return None

    def record(self, ticket: Any, ok: bool | None) -> None:
        return None


# Answers that say the registry (or a proxy before it) is not there: they count against the
# circuit, and pass to the client as they are.
_UNREACHABLE = frozenset({502, 503, 504})


@dataclass
class Answer:
    """The registry's answer; whoever takes it streams ``body`` and calls ``aclose``."""

    status: int
    headers: list[tuple[str, str]]
    _chunks: AsyncIterable[bytes]
    _close: Callable[[], Awaitable[None]]

    async def body(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.body()])

    async def aclose(self) -> None:
        await self._close()


class RegistryUnreachable(Exception):
    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Upstream:
    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth | tuple[str, str] | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 3600.0,
        connect_timeout: float = 5.0,
        fast_blobs: FastBlobs | None = None,
        breaker: Breaker | None = None,
        traced: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._fast = fast_blobs
        self._breaker = breaker or _Unbroken()
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # auth's alone
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=64),
            follow_redirects=False,
        )
        if traced:  # a client span per forwarded request, and its traceparent to the registry
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor.instrument_client(self._client)

    async def aclose(self) -> None:
        if self._fast is not None:
            await self._fast.aclose()
        await self._client.aclose()

    def _admit(self, call: str) -> object:
        try:
            return self._breaker.admit(call)
        except RegistryUnavailable as exc:  # the circuit is open: fail at once
            raise RegistryUnreachable(str(exc), retry_after=exc.retry_after) from exc

    async def get_blob(self, path: str, headers: list[tuple[str, str]]) -> Answer | None:
        """A blob GET on the fast path, when it can take it: no condition, at most a simple
        ``Range: bytes=a-b``. None: send it with :meth:`send`."""
        if self._fast is None:
            return None
        byte_range = None
        for name, value in headers:
            lower = name.lower()
            if lower.startswith("if-"):
                return None
            if lower == "range":
                simple = _SIMPLE_RANGE.fullmatch(value.strip())
                if simple is None:
                    return None
                byte_range = (int(simple[1]), int(simple[2]))
        ticket = self._admit("proxy_get_blob")
        try:
            blob = await self._fast.open(path, byte_range)
        except RegistryUnavailable as exc:
            self._breaker.record(ticket, False)
            raise RegistryUnreachable(str(exc)) from exc
        except BaseException:
            self._breaker.record(ticket, None)
            raise
        if blob is None:
            self._breaker.record(ticket, None)
            return None
        self._breaker.record(ticket, blob.status not in _UNREACHABLE)
        kept = [(name, value) for name, value in blob.headers.items() if _passes(name)]
        return Answer(blob.status, kept, _unreachable_on_break(blob), blob.aclose)

    async def send(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[str, str]],
        body: AsyncIterable[bytes] | bytes | None,
    ) -> Answer:
        """Forward one request; the answer's body is still to be read."""
        forwarded = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        url = httpx.URL(self.base_url + path, query=query)
        request = self._client.build_request(method, url, headers=forwarded, content=body)
        ticket = self._admit("proxy")
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            self._breaker.record(ticket, False)
            raise RegistryUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
        except BaseException:
            self._breaker.record(ticket, None)
            raise
        self._breaker.record(ticket, response.status_code not in _UNREACHABLE)
        kept = [
            (name, value.replace(self.base_url, "") if name.lower() in _URL_HEADERS else value)
            for name, value in response.headers.multi_items()
            if _passes(name)
        ]
        return Answer(response.status_code, kept, response.aiter_raw(), response.aclose)


def _passes(name: str) -> bool:
    lower = name.lower()
    return lower not in _DROPPED_ANSWER and (lower not in _HOP_BY_HOP or lower == "authorization")


async def _unreachable_on_break(blob: FastBlob) -> AsyncIterator[bytes]:
    try:
        async for piece in blob:
            yield piece
    except RegistryUnavailable as exc:
        raise RegistryUnreachable(str(exc)) from exc
