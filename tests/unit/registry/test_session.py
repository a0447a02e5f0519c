"""Zot session cookies (gateway/registry/session.py) over ``httpx.MockTransport``, a scripted
Zot that logs in, accepts and refuses cookies as pkg/api/authn.go does."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.registry.session import (
    LOGIN_PATIENCE,
    UI_HEADER,
    UI_VALUE,
    SessionAuth,
    ZotSession,
    no_cookies,
    session_cookie,
)

BASIC = "Basic " + base64.b64encode(b"gw:pw").decode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Zot:
    """Basic + the UI header logs in (a new cookie each time); the header and a live cookie
    without Authorization pass; anything else is 401."""

    def __init__(self) -> None:
        self.live: set[str] = set()
        self.seen: list[httpx.Headers] = []  # copies: httpx sends a request again as is
        self.bodies: list[bytes] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(httpx.Headers(request.headers))
        self.bodies.append(await request.aread())
        if "authorization" in request.headers:
            if request.headers["authorization"] != BASIC:
                return httpx.Response(401)
            if request.headers.get(UI_HEADER) == UI_VALUE:
                cookie = f"c{len(self.seen)}"
                self.live.add(cookie)
                headers = [
                    ("Set-Cookie", f"session={cookie}; Path=/; Max-Age=7200; HttpOnly"),
                    ("Set-Cookie", "user=gw; Path=/; Max-Age=7200"),
                ]
                return httpx.Response(200, headers=headers)
            return httpx.Response(200)
        cookie = request.headers.get("cookie", "").removeprefix("session=")
        if request.headers.get(UI_HEADER) == UI_VALUE and cookie in self.live:
            return httpx.Response(200)
        return httpx.Response(401, headers={"Set-Cookie": "session=; Path=/; Expires=0"})

    def kinds(self) -> list[str]:
        """Per request: ``login``, ``basic`` or ``cookie``."""
        found = []
        for headers in self.seen:
            if "authorization" in headers:
                login = headers.get(UI_HEADER) == UI_VALUE
                found.append("login" if login else "basic")
            else:
                found.append("cookie")
        return found


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def client(zot: Zot, session: ZotSession) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url="http://zot.test",
        auth=SessionAuth(session),
        cookies=no_cookies(),
        transport=httpx.MockTransport(zot),
    )


async def stream(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.anyio
async def test_one_login_then_the_cookie_alone() -> None:
    zot, session = Zot(), ZotSession("gw", "pw")
    async with client(zot, session) as http:
        for _ in range(3):
            assert (await http.head("/v2/r/blobs/d")).status_code == 200
    assert zot.kinds() == ["login", "cookie", "cookie"]
    assert session.logins == 1
    # the cookie never rides along with Basic: Zot would run bcrypt for it all the same
    assert all("cookie" not in headers for headers in zot.seen if "authorization" in headers)


@pytest.mark.anyio
async def test_a_streamed_body_carries_basic_and_bytes_carry_the_cookie() -> None:
    zot, session = Zot(), ZotSession("gw", "pw")
    async with client(zot, session) as http:
        await http.get("/v2/")
        await http.post("/v2/r/blobs/uploads/", content=stream(b"a", b"b"))
        await http.put("/v2/r/manifests/t", content=b"{}")
    assert zot.kinds() == ["login", "basic", "cookie"]
    assert zot.bodies[1:] == [b"ab", b"{}"]


@pytest.mark.anyio
async def test_a_refused_cookie_is_sent_again_with_basic_which_logs_in_again() -> None:
    """What a restarted Zot (a new session key) answers to the old cookie."""
    zot, session = Zot(), ZotSession("gw", "pw")
    async with client(zot, session) as http:
        await http.get("/v2/")
        zot.live.clear()
        answer = await http.put("/v2/r/manifests/t", content=b"{}")
        assert answer.status_code == 200
        await http.get("/v2/")
    assert zot.kinds() == ["login", "cookie", "login", "cookie"]
    assert zot.bodies[1:3] == [b"{}", b"{}"]
    assert session.logins == 2


@pytest.mark.anyio
async def test_wrong_credentials_are_refused_once_not_in_a_loop() -> None:
    zot, session = Zot(), ZotSession("gw", "wrong")
    async with client(zot, session) as http:
        assert (await http.get("/v2/")).status_code == 401
        assert (await http.get("/v2/")).status_code == 401
    assert zot.kinds() == ["login", "login"]
    assert session.current() is None


@pytest.mark.anyio
async def test_an_old_cookie_is_replaced_before_zot_would_refuse_it() -> None:
    clock = Clock()
    zot, session = Zot(), ZotSession("gw", "pw", refresh=600, clock=clock)
    async with client(zot, session) as http:
        await http.get("/v2/")
        clock.now += 599
        await http.get("/v2/")
        clock.now += 1
        await http.get("/v2/")
        await http.get("/v2/")
    assert zot.kinds() == ["login", "cookie", "login", "cookie"]


def test_one_login_at_a_time() -> None:
    clock = Clock()
    session = ZotSession("gw", "pw", clock=clock)
    first = session.choose(True)
    assert first.login
    assert session.choose(True).headers == {"Authorization": session.basic}  # meanwhile
    clock.now += LOGIN_PATIENCE
    assert session.choose(True).login  # a login that never came back is given up on
    session.logged_in(["session=abc; Path=/"])
    assert session.choose(True).cookie == "abc"
    assert session.choose(False).headers == {"Authorization": session.basic}


@pytest.mark.anyio
async def test_a_login_without_an_answer_lets_the_next_request_log_in() -> None:
    def broken(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    session = ZotSession("gw", "pw")
    async with httpx.AsyncClient(
        auth=SessionAuth(session), transport=httpx.MockTransport(broken)
    ) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://zot.test/v2/")
    assert session.choose(True).login


def test_a_refusal_of_an_older_cookie_keeps_the_newer_one() -> None:
    session = ZotSession("gw", "pw")
    session.choose(True)
    session.logged_in(["session=new"])
    session.refused("old")
    assert session.current() == "new"


@pytest.mark.parametrize("refresh", [0, -1, 7200, 9000])
def test_refresh_must_be_inside_zots_session_lifetime(refresh: float) -> None:
    with pytest.raises(ValueError, match="refresh"):
        ZotSession("gw", "pw", refresh=refresh)


TOKEN = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=';=," \\'),
    min_size=1,
    max_size=40,
)


@given(value=TOKEN, others=st.lists(st.tuples(TOKEN, TOKEN), max_size=3), attrs=st.booleans())
def test_session_cookie_finds_the_session_value_among_any_others(
    value: str, others: list[tuple[str, str]], attrs: bool
) -> None:
    headers = [f"{name}x={v}" for name, v in others if name != "session"]
    tail = "; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly" if attrs else ""
    headers.insert(len(headers) // 2, f"session={value}{tail}")
    assert session_cookie(headers) == value
    assert session_cookie([h for h in headers if not h.startswith("session=")]) is None
    assert session_cookie(["session=; Path=/"]) is None  # cleared
