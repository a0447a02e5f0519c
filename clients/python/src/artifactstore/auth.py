"""Keycloak tokens for the SDK: a fixed token, a password or device-flow login that refreshes
itself, and the exchange of a token for STS session credentials that renew before expiry.

A token source hands out an access token that is valid for at least ``skew`` more seconds,
refreshing (refresh token, else a new login) under a lock, so concurrent transfer threads
never send an expired token and never refresh twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from .errors import ArtifactStoreError, Unauthorized, Unavailable, error_for

if TYPE_CHECKING:
    import httpx
    from keycloak import KeycloakOpenID
    from keycloak.exceptions import KeycloakError

# python-keycloak and httpx are imported where a login or an STS exchange needs them, not
# with the package: a transfer with keys never pays for them (docs/sdk.md).

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


class TokenSource(Protocol):
    def token(self) -> str: ...


@dataclass(frozen=True)
class StaticToken:
    """A token obtained elsewhere (``ARTIFACT_STORE_TOKEN``): used as is, never refreshed."""

    value: str

    def token(self) -> str:
        return self.value


def split_issuer(issuer: str) -> tuple[str, str]:
    """``https://host/realms/NAME`` -> (``https://host/``, ``NAME``) for python-keycloak."""
    base, sep, realm = issuer.rstrip("/").rpartition("/realms/")
    if not sep or not realm or "/" in realm:
        raise ValueError(f"not a Keycloak realm issuer: {issuer!r}")
    return base + "/", realm


def _keycloak_error(error: KeycloakError) -> ArtifactStoreError:
    status = getattr(error, "response_code", None)
    message = getattr(error, "error_message", None) or str(error)
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    if status is None:
        return Unavailable(f"Keycloak: {message}", code="KeycloakUnreachable")
    if status in (400, 401):
        return Unauthorized(f"Keycloak: {message}", code="LoginFailed", status=status)
    return error_for(None, f"Keycloak: {message}", status)


class KeycloakSession:
    """Tokens of one login on a public client; refreshes with the refresh token."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        skew: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        openid: KeycloakOpenID | None = None,
    ) -> None:
        from keycloak.exceptions import KeycloakError

        self._errors: type[KeycloakError] = KeycloakError
        server, realm = split_issuer(issuer)
        if openid is None:
            from keycloak import KeycloakOpenID

            openid = KeycloakOpenID(server_url=server, realm_name=realm, client_id=client_id)
        self.openid = openid
        self.skew = skew
        self._clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at = 0.0
        self._refresh_expires_at = 0.0
        self._relogin: Callable[[], dict[str, Any]] | None = None

    def _store(self, answer: dict[str, Any]) -> None:
        now = self._clock()
        self._access = str(answer["access_token"])
        lifetime = float(answer.get("expires_in", 60))
        self._expires_at = now + lifetime
        refresh = answer.get("refresh_token")
        self._refresh = str(refresh) if refresh else None
        self._refresh_expires_at = now + float(answer.get("refresh_expires_in") or 0)

    def _call(self, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return fn()
        except self._errors as error:
            raise _keycloak_error(error) from error

    def login_password(self, username: str, password: str) -> KeycloakSession:
        def grant() -> dict[str, Any]:
            return self.openid.token(username, password, scope="openid")

        self._relogin = grant
        self._store(self._call(grant))
        return self

    def login_device(
        self,
        prompt: Callable[[str, str], None],
        *,
        timeout: float = 600,
        sleep: Callable[[float], None] = time.sleep,
    ) -> KeycloakSession:
        """OAuth 2.0 device flow: ``prompt(url, user_code)`` tells the user where to approve."""
        start = self._call(lambda: self.openid.device(scope="openid"))
        prompt(
            str(start.get("verification_uri_complete") or start["verification_uri"]),
            str(start["user_code"]),
        )
        interval = float(start.get("interval", 5))
        deadline = self._clock() + min(timeout, float(start.get("expires_in", timeout)))
        while self._clock() < deadline:
            try:
                answer = self.openid.token(
                    grant_type=DEVICE_GRANT, device_code=start["device_code"], scope="openid"
                )
            except self._errors as error:
                text = str(getattr(error, "error_message", "") or error)
                if "authorization_pending" in text:
                    sleep(interval)
                    continue
                if "slow_down" in text:
                    interval += 5
                    sleep(interval)
                    continue
                raise _keycloak_error(error) from error
            self._store(answer)
            return self
        raise Unauthorized("the device login was not approved in time", code="LoginTimeout")

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._access is not None and now < self._expires_at - self.skew:
                return self._access
            if self._refresh and (self._refresh_expires_at == 0 or now < self._refresh_expires_at):
                refresh = self._refresh
                try:
                    self._store(self.openid.refresh_token(refresh))
                    assert self._access is not None
                    return self._access
                except self._errors:
                    pass  # the refresh token died with the session: log in again if we can
            if self._relogin is None:
                raise Unauthorized("the access token expired and cannot be refreshed")
            self._store(self._call(self._relogin))
            assert self._access is not None
            return self._access


@dataclass(frozen=True)
class SessionCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime


def assume_role_with_web_identity(
    endpoint: str,
    token: str,
    role_arn: str,
    *,
    session_name: str = "artifact-store-sdk",
    duration: int | None = None,
    http: httpx.Client | None = None,
) -> SessionCredentials:
    """STS ``AssumeRoleWithWebIdentity`` against the gateway (an unsigned form POST)."""
    import httpx
    from defusedxml import ElementTree

    form = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "WebIdentityToken": token,
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
    }
    if duration:
        form["DurationSeconds"] = str(duration)
    client = http or httpx.Client(timeout=30)
    try:
        response = client.post(endpoint.rstrip("/") + "/", data=form)
    except httpx.TransportError as error:
        raise Unavailable(f"STS: {error}") from error
    finally:
        if http is None:
            client.close()
    root = ElementTree.fromstring(response.content or b"<x/>")
    if response.status_code != 200:
        code = root.findtext(".//Code") or root.findtext(f".//{STS_NS}Code")
        message = root.findtext(".//Message") or root.findtext(f".//{STS_NS}Message") or ""
        raise error_for(
            code,
            message or f"STS answered {response.status_code}",
            response.status_code,
            response.headers.get("x-amzn-requestid"),
        )
    found = root.find(f".//{STS_NS}Credentials")
    if found is None:
        raise Unauthorized("STS answered no credentials")
    values = {child.tag.removeprefix(STS_NS): child.text or "" for child in found}
    expiration = datetime.fromisoformat(values["Expiration"].replace("Z", "+00:00"))
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    return SessionCredentials(
        values["AccessKeyId"], values["SecretAccessKey"], values["SessionToken"], expiration
    )
