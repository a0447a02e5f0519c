"""The gateway's credentials at Zot: a Zot session cookie where it is safe, Basic otherwise.

Why: with htpasswd, Zot runs bcrypt and a MetaDB write transaction for every request that
carries Basic credentials, 1.70 ms of Zot's CPU per request, against 0.43 ms for a request
that carries a Zot session cookie (``bench/results/2026-12-02-zot-auth-cost.json``).

What Zot v2.1.20 does (``pkg/api/authn.go``, ``cookiestore.go``):

- Basic credentials *with* ``X-ZOT-API-CLIENT: zot-ui`` log in: the answer sets a
  ``session`` cookie (the session kept under Zot's storage root, or in the cookie itself
  on remote storage);
- that header and the cookie *without* ``Authorization`` are let in by the session; with
  ``Authorization`` present Zot checks Basic (bcrypt) whatever the cookie says, so the two
  are never sent together;
- a session lives 2 h from its login (use does not renew it) and dies with Zot's session
  key, random per start unless ``http.auth.sessionHashKey`` is configured; a dead cookie
  gets 401 (no anonymous policy: ARCHITECTURE's Zot table).

So a request whose body can be sent again carries the cookie while the cookie is younger
than ``refresh`` (well inside the 2 h), and after a 401 goes once more with Basic, which
logs in again. A streamed body could not be sent again after a 401: it always carries
Basic. One login at a time per process; requests meanwhile carry plain Basic.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

UI_HEADER = "X-ZOT-API-CLIENT"
UI_VALUE = "zot-ui"
COOKIE = "session"
ZOT_SESSION_SECONDS = 7200.0  # Zot's cookiesMaxAge
# How long a login may stay unanswered before another request may try one.
LOGIN_PATIENCE = 30.0


@dataclass(frozen=True)
class Credentials:
    """What one request carries: its headers, the cookie among them (if any), and whether
    its answer is a login whose cookie must be taken (``ZotSession.logged_in``)."""

    headers: dict[str, str] = field(default_factory=dict)
    cookie: str | None = None
    login: bool = False


def session_cookie(set_cookies: Iterable[str]) -> str | None:
    """The ``session`` value among an answer's ``Set-Cookie`` headers (empty: cleared)."""
    for header in set_cookies:
        name, _, value = header.split(";", 1)[0].partition("=")
        if name.strip() == COOKIE:
            return value.strip() or None
    return None


def no_cookies() -> CookieJar:
    """A jar that keeps nothing: an httpx client must not send Zot's cookies on its own
    (next to Basic they would cost a bcrypt all the same, and a cleared one would linger);
    :class:`SessionAuth` alone decides what a request carries."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class ZotSession:
    """One process's session at Zot, shared by its registry clients (one event loop)."""

    def __init__(
        self,
        username: str,
        password: str,
        *,
        refresh: float = 1800.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < refresh < ZOT_SESSION_SECONDS:
            raise ValueError(f"refresh must be within Zot's session lifetime, not {refresh}")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.basic = f"Basic {token}"
        self.refresh = refresh
        self.logins = 0  # answered logins that set a cookie
        self._clock = clock
        self._cookie: str | None = None
        self._since = 0.0
        self._login_started: float | None = None

    def current(self) -> str | None:
        """The cookie, while it is young enough to send."""
        if self._cookie is not None and self._clock() - self._since < self.refresh:
            return self._cookie
        return None

    def choose(self, repeatable: bool) -> Credentials:
        """The credentials of the next request; ``repeatable``: its body can be sent again."""
        cookie = self.current()
        if cookie is not None:
            if repeatable:
                return Credentials({"Cookie": f"{COOKIE}={cookie}", UI_HEADER: UI_VALUE}, cookie)
            return Credentials({"Authorization": self.basic})
        now = self._clock()
        if self._login_started is not None and now - self._login_started < LOGIN_PATIENCE:
            return Credentials({"Authorization": self.basic})
        self._login_started = now
        return Credentials({"Authorization": self.basic, UI_HEADER: UI_VALUE}, login=True)

    def logged_in(self, set_cookies: Iterable[str]) -> None:
        """A login's answer (or none: an empty iterable); another may be tried at once."""
        self._login_started = None
        cookie = session_cookie(set_cookies)
        if cookie is not None:
            self._cookie, self._since = cookie, self._clock()
            self.logins += 1

    def refused(self, cookie: str) -> None:
        """Zot answered 401 to ``cookie``: the next request logs in again."""
        if self._cookie == cookie:
            self._cookie = None


class SessionAuth(httpx.Auth):
    """httpx's side of :class:`ZotSession`: the credentials per request, one more try with
    Basic after a 401 to the cookie."""

    def __init__(self, session: ZotSession) -> None:
        self.session = session

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        repeatable = isinstance(request.stream, httpx.ByteStream)
        for _ in range(2):
            chosen = self.session.choose(repeatable)
            request.headers.update(chosen.headers)
            try:
                response = yield request
            except GeneratorExit:  # no answer came (httpx closes the flow)
                if chosen.login:
                    self.session.logged_in(())
                raise
            if chosen.login:
                self.session.logged_in(response.headers.get_list("set-cookie"))
            if response.status_code != 401 or chosen.cookie is None:
                return
            self.session.refused(chosen.cookie)
            for name in chosen.headers:
                del request.headers[name]
