"""The way through to Zot for ``/v2/``: requests and answers pass as they are, bodies
streamed both ways, with the gateway's own registry credentials in place of the caller's.

This is the edge's own HTTP client, not the domain's registry port: the proxy forwards wire
bytes and interprets nothing, so translating each request into domain calls and back would
only add work (docs/ARCHITECTURE.md, "The OCI front door").
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

import httpx

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
    }
)
# Headers whose URLs name the registry: they must name the gateway instead.
_URL_HEADERS = frozenset({"location", "link"})
# Answer headers the proxy never passes on: the registry's own challenge and session are not
# the caller's, and the server adds its own Date and Server.
_DROPPED_ANSWER = frozenset({"www-authenticate", "set-cookie", "date", "server"})


@dataclass
class Answer:
    """The registry's answer; whoever takes it streams ``body`` and calls ``aclose``."""

    status: int
    headers: list[tuple[str, str]]
    response: httpx.Response

    async def body(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.aiter_raw():
            yield chunk

    async def read(self) -> bytes:
        return await self.response.aread()

    async def aclose(self) -> None:
        await self.response.aclose()


class RegistryUnreachable(Exception):
    pass


class Upstream:
    def __init__(
        self,
        base_url: str,
        auth: tuple[str, str] | None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 3600.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=auth,
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=5.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=64),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

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
        if body is None:
            # No body: none is announced either (httpx would add Content-Length: 0 to some).
            request.headers.pop("transfer-encoding", None)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise RegistryUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
        return Answer(response.status_code, self._answer_headers(response), response)

    def _answer_headers(self, response: httpx.Response) -> list[tuple[str, str]]:
        kept: list[tuple[str, str]] = []
        for name, value in response.headers.multi_items():
            lower = name.lower()
            if lower in _DROPPED_ANSWER or (lower in _HOP_BY_HOP and lower != "authorization"):
                continue
            if lower in _URL_HEADERS:
                value = value.replace(self.base_url, "")
            kept.append((name, value))
        return kept
