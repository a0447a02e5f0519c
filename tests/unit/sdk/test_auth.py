"""Token sources: cached until shortly before expiry, refreshed once, re-login when the
refresh token is dead; the device flow's polling. Keycloak itself is faked here (the
contract runs the real one: tests/integration/sdk/)."""

from __future__ import annotations

from typing import Any

import pytest
from artifactstore.auth import KeycloakSession, StaticToken, split_issuer
from artifactstore.errors import Unauthorized, Unavailable
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakPostError


class FakeOpenID:
    def __init__(self) -> None:
        self.issued = 0
        self.refreshed = 0
        self.refresh_fails = False
        self.pending = 0

    def _answer(self) -> dict[str, Any]:
        self.issued += 1
        return {
            "access_token": f"access-{self.issued}",
            "expires_in": 2,
            "refresh_token": f"refresh-{self.issued}",
            "refresh_expires_in": 1800,
        }

    def token(self, username: str = "", password: str = "", **extra: Any) -> dict[str, Any]:
        if extra.get("grant_type", "password").endswith("device_code"):
            if self.pending:
                self.pending -= 1
                raise KeycloakPostError('{"error":"authorization_pending"}', 400)
        elif password != "right":
            raise KeycloakAuthenticationError('{"error":"invalid_grant"}', 401)
        return self._answer()

    def refresh_token(self, refresh: str) -> dict[str, Any]:
        if self.refresh_fails:
            raise KeycloakPostError('{"error":"invalid_grant"}', 400)
        self.refreshed += 1
        return self._answer()

    def device(self, scope: str = "") -> dict[str, Any]:
        return {
            "device_code": "dc",
            "user_code": "ABCD-EFGH",
            "verification_uri": "http://kc/device",
            "expires_in": 60,
            "interval": 1,
        }


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def session(openid: FakeOpenID, clock: Clock) -> KeycloakSession:
    return KeycloakSession("http://kc/realms/r", "artifactctl", openid=openid, clock=clock)  # type: ignore[arg-type]


def test_the_token_is_reused_until_shortly_before_expiry_then_refreshed() -> None:
    openid, clock = FakeOpenID(), Clock()
    tokens = session(openid, clock).login_password("carol", "right")
    assert tokens.token() == "access-1"
    clock.now += 0.5
    assert tokens.token() == "access-1"
    clock.now += 0.6  # 1.1 s of 2: within the 1 s skew
    assert tokens.token() == "access-2"
    assert openid.refreshed == 1


def test_a_dead_refresh_token_logs_in_again() -> None:
    openid, clock = FakeOpenID(), Clock()
    tokens = session(openid, clock).login_password("carol", "right")
    openid.refresh_fails = True
    clock.now += 5
    assert tokens.token() == "access-2"
    assert openid.refreshed == 0


def test_a_wrong_password_is_unauthorized() -> None:
    with pytest.raises(Unauthorized, match="Keycloak"):
        session(FakeOpenID(), Clock()).login_password("carol", "wrong")


def test_the_device_flow_polls_until_approved() -> None:
    openid, clock = FakeOpenID(), Clock()
    openid.pending = 2
    shown: list[tuple[str, str]] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    tokens = session(openid, clock).login_device(lambda u, c: shown.append((u, c)), sleep=sleep)
    assert shown == [("http://kc/device", "ABCD-EFGH")]
    assert slept == [1.0, 1.0]
    assert tokens.token() == "access-1"


def test_the_device_flow_gives_up_at_its_deadline() -> None:
    openid, clock = FakeOpenID(), Clock()
    openid.pending = 10**6

    def sleep(seconds: float) -> None:
        clock.now += seconds

    with pytest.raises(Unauthorized, match="not approved"):
        session(openid, clock).login_device(lambda u, c: None, timeout=5, sleep=sleep)


def test_a_session_without_login_cannot_hand_out_tokens() -> None:
    with pytest.raises(Unauthorized):
        session(FakeOpenID(), Clock()).token()


def test_split_issuer() -> None:
    assert split_issuer("https://kc.example/realms/artifact-store/") == (
        "https://kc.example/",
        "artifact-store",
    )
    assert split_issuer("http://kc/auth/realms/r") == ("http://kc/auth/", "r")
    for bad in ("https://kc.example/", "https://kc/realms/a/b"):
        with pytest.raises(ValueError, match="issuer"):
            split_issuer(bad)
    assert StaticToken("t").token() == "t"


def test_an_unreachable_keycloak_is_unavailable() -> None:
    tokens = KeycloakSession("http://127.0.0.1:9/realms/r", "artifactctl")
    with pytest.raises(Unavailable):
        tokens.login_password("carol", "x")
