"""Keycloak password logins: a wrong password is AccessDenied, Keycloak's trouble is
ServiceUnavailable, a success is remembered briefly and a failure never."""

from __future__ import annotations

import httpx
import pytest

from gateway.auth.errors import AuthError
from gateway.auth.password import PasswordLogin
from gateway.domain.values import Principal

BOB = Principal(name="bob", method="bearer")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def login(handler: httpx.MockTransport) -> tuple[PasswordLogin, list[str]]:
    checked: list[str] = []

    async def check(token: str) -> Principal:
        checked.append(token)
        return BOB

    return PasswordLogin("http://kc/token", "artifactctl", check, transport=handler), checked


@pytest.mark.anyio
async def test_a_login_is_the_tokens_user_and_is_remembered() -> None:
    forms: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        forms.append(request.content)
        return httpx.Response(200, json={"access_token": "t-1"})

    password_login, checked = login(httpx.MockTransport(answer))
    assert await password_login("bob", "pw") == BOB
    assert await password_login("bob", "pw") == BOB
    assert checked == ["t-1"]
    assert len(forms) == 1
    assert b"grant_type=password" in forms[0]
    assert b"client_id=artifactctl" in forms[0]
    await password_login.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"error": "invalid_grant"}, "AccessDenied"),
        (400, {"error": "invalid_grant"}, "AccessDenied"),
        (503, {}, "ServiceUnavailable"),
        (200, {"no": "token"}, "ServiceUnavailable"),
    ],
)
async def test_failures(status: int, body: dict[str, str], code: str) -> None:
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json=body)

    password_login, _ = login(httpx.MockTransport(answer))
    for _ in range(2):
        with pytest.raises(AuthError) as raised:
            await password_login("bob", "wrong")
        assert raised.value.code == code
    assert len(calls) == 2  # failures are not remembered


@pytest.mark.anyio
async def test_keycloak_out_of_reach() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    password_login, _ = login(httpx.MockTransport(answer))
    with pytest.raises(AuthError) as raised:
        await password_login("bob", "pw")
    assert raised.value.code == "ServiceUnavailable"


@pytest.mark.anyio
async def test_a_confidential_client_sends_its_secret_and_a_public_one_none() -> None:
    forms: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        forms.append(request.content)
        return httpx.Response(200, json={"access_token": "t-1"})

    async def check(token: str) -> Principal:
        return BOB

    confidential = PasswordLogin(
        "http://kc/token",
        "artifact-store-gateway",
        check,
        client_secret="s3cr3t",
        transport=httpx.MockTransport(answer),
    )
    public, _ = login(httpx.MockTransport(answer))
    assert await confidential("bob", "pw") == BOB
    assert await public("bob", "pw") == BOB
    assert b"client_secret=s3cr3t" in forms[0]
    assert b"client_id=artifact-store-gateway" in forms[0]
    assert b"client_secret" not in forms[1]
    await confidential.aclose()
    await public.aclose()
