"""The way through to Zot: the caller's credentials and hop-by-hop headers never pass, the
registry's URLs are made the gateway's, its challenge and cookies are dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.oci.upstream import RegistryUnreachable, Upstream
from gateway.registry.session import SessionAuth, ZotSession


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_headers_both_ways() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            202,
            headers=[
                ("Location", "http://zot:5000/v2/a/blobs/uploads/u?state=1"),
                ("Link", '<http://zot:5000/v2/a/tags/list?n=1&last=x>; rel="next"'),
                ("WWW-Authenticate", 'Basic realm="zot"'),
                ("Set-Cookie", "session=1"),
                ("Docker-Upload-UUID", "u"),
                ("Connection", "keep-alive"),
            ],
        )

    upstream = Upstream(
        "http://zot:5000", ("gateway", "secret"), transport=httpx.MockTransport(answer)
    )
    got = await upstream.send(
        "POST",
        "/v2/a/blobs/uploads/",
        b"mount=sha256%3Aab&from=b",
        [
            ("Authorization", "Bearer caller"),
            ("Connection", "close"),
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", "0"),
        ],
        b"",
    )
    await got.aclose()
    headers = dict(got.headers)
    assert headers["location"] == "/v2/a/blobs/uploads/u?state=1"
    assert headers["link"] == '</v2/a/tags/list?n=1&last=x>; rel="next"'
    assert "www-authenticate" not in headers
    assert "set-cookie" not in headers
    assert "connection" not in headers
    assert headers["docker-upload-uuid"] == "u"
    sent = seen[0]
    assert sent.headers["authorization"].startswith("Basic ")  # the gateway's, not the caller's
    assert sent.url.query == b"mount=sha256%3Aab&from=b"
    await upstream.aclose()


@pytest.mark.anyio
async def test_a_registry_out_of_reach() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    upstream = Upstream("http://zot:5000", None, transport=httpx.MockTransport(answer))
    with pytest.raises(RegistryUnreachable):
        await upstream.send("GET", "/v2/", b"", [], None)
    assert await upstream.get_blob("/v2/a/blobs/sha256:00", []) is None  # no fast path here


@pytest.mark.anyio
async def test_the_proxy_shares_the_circuit_and_fails_at_once_while_it_is_open() -> None:
    from gateway.registry.circuit import Circuit

    sent: list[str] = []
    statuses = iter([503, 502])

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        if len(sent) == 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(next(statuses))

    circuit = Circuit(failures=3, cooldown=30)
    upstream = Upstream(
        "http://zot:5000", None, transport=httpx.MockTransport(answer), breaker=circuit
    )
    for _ in range(2):  # the registry's own 503/502 pass to the client as they are
        got = await upstream.send("GET", "/v2/a/manifests/t", b"", [], None)
        await got.aclose()
        assert got.status in (502, 503)
    with pytest.raises(RegistryUnreachable):
        await upstream.send("GET", "/v2/a/manifests/t", b"", [], None)
    assert circuit.state == "open"
    with pytest.raises(RegistryUnreachable) as fast:
        await upstream.send("GET", "/v2/a/manifests/t", b"", [], None)
    assert fast.value.retry_after == 30
    assert len(sent) == 3
    await upstream.aclose()


@pytest.mark.anyio
async def test_the_gateway_session_at_zot_is_its_own() -> None:
    """A caller's cookie and Zot's UI header never pass (with the gateway's Basic they would
    log in: a session in Zot's storage per request); the gateway's session cookie goes on a
    body in hand, Basic on a streamed one, and Zot's cookies are never kept by httpx."""
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(httpx.Headers(request.headers))
        return httpx.Response(201, headers={"Set-Cookie": "session=zot; Path=/"})

    session = ZotSession("gateway", "secret")
    upstream = Upstream(
        "http://zot:5000", SessionAuth(session), transport=httpx.MockTransport(answer)
    )
    caller = [("Cookie", "session=caller"), ("X-ZOT-API-CLIENT", "zot-ui")]

    async def streamed() -> AsyncIterator[bytes]:
        yield b"{}"

    for body in (b"{}", b"{}", streamed()):
        got = await upstream.send("PUT", "/v2/a/manifests/t", b"", caller, body)
        await got.aclose()
    await upstream.aclose()
    login, by_cookie, by_basic = seen
    assert login["x-zot-api-client"] == "zot-ui"
    assert "cookie" not in login
    assert login["authorization"] == session.basic
    assert by_cookie["cookie"] == "session=zot"
    assert "authorization" not in by_cookie
    assert by_basic["authorization"] == session.basic
    assert "cookie" not in by_basic
    assert "x-zot-api-client" not in by_basic
