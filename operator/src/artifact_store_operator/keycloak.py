"""The keycloak component's registration (``keycloak.registration.enabled``): what the gateway
needs in its Keycloak realm, made through the Keycloak admin REST API with admin credentials
from a Secret, idempotently (each reconcile reads first and writes only what differs):

- the confidential client the gateway logs users in through (``confidentialClient``, default
  ``artifact-store-login``: direct access grants, a client secret; the gateway's
  ``oidc_password_client``), its secret in the Secret the gateway mounts;
- the public client for CLIs (``cliClient``, default ``artifactctl``: device authorization and
  password grants);
- the web console's public client (``keycloak.consoleClient``, default
  ``artifact-store-console``: authorization code with PKCE S256 only, redirect URIs
  ``<public URL>/_artifacts/ui/*``, the public URL as web origin), when the public URL is known
  (``registration.publicUrl``, else ``https://<route.host>``);
- on each, the mappers the gateway reads (docs/identity.md): ``aud`` containing
  ``keycloak.audience``, ``groups`` (full paths) and ``preferred_username``.

The client secret: with ``keycloak.clientSecret.existingSecret`` that Secret's value is set on
the client; otherwise Keycloak's (generated when the client is created) is copied into the
Secret ``<cr-name>-keycloak-client``. Failures raise :class:`KeycloakError`, whose ``reason``
becomes the Degraded condition's."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from prometheus_client import Counter

from .kube import Kube
from .render import _meta, names
from .spec import Obj

CHANGES = Counter(
    "artifact_store_operator_keycloak_changes_total",
    "Writes to Keycloak and to the client-secret Secret, by what was written.",
    ["what"],
)
TIMEOUT = 15.0
SECRET_KEY = "clientSecret"  # noqa: S105 - a key name


class KeycloakError(Exception):
    """A registration failure; ``reason`` is the Degraded condition's reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def realm_of(issuer: str, url: str = "") -> tuple[str, str]:
    """(Keycloak's base URL, realm name) of an issuer ``<base>/realms/<realm>``; ``url``, when
    given, replaces the base (the operator may reach Keycloak at an in-cluster address)."""
    base, sep, realm = issuer.rstrip("/").rpartition("/realms/")
    if not sep or not realm or "/" in realm or not base:
        raise KeycloakError(
            "KeycloakIssuerInvalid", f"issuerUrl {issuer!r} is not <keycloak>/realms/<realm>"
        )
    return (url.rstrip("/") or base), realm


def _mappers(audience: str) -> list[Obj]:
    claims = {
        "access.token.claim": "true",
        "id.token.claim": "true",
        "userinfo.token.claim": "true",
        "introspection.token.claim": "true",
    }
    return [
        {
            "name": f"audience {audience}",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {
                "included.custom.audience": audience,
                "access.token.claim": "true",
                "id.token.claim": "false",
                "introspection.token.claim": "true",
            },
        },
        {
            "name": "groups",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-group-membership-mapper",
            "config": {"claim.name": "groups", "full.path": "true", **claims},
        },
        {
            "name": "preferred_username",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-usermodel-attribute-mapper",
            "config": {
                "user.attribute": "username",
                "claim.name": "preferred_username",
                "jsonType.label": "String",
                **claims,
            },
        },
    ]


def public_url(spec: Obj) -> str:
    """The gateway's public URL the console's redirect URIs name: ``registration.publicUrl``,
    else ``https://<route.host>`` (a Route with a host), else "" (no console client)."""
    given = str(spec["keycloak"]["registration"]["publicUrl"]).rstrip("/")
    if given:
        return given
    host = spec["route"]["host"] if spec["route"]["enabled"] else ""
    return f"https://{host}" if host else ""


def clients(spec: Obj) -> list[Obj]:
    """The client representations the gateway needs (only the fields the operator sets): the
    confidential client, the CLI's, and the console's when the public URL is known."""
    registration = spec["keycloak"]["registration"]
    common = {
        "enabled": True,
        "protocol": "openid-connect",
        "standardFlowEnabled": False,
        "implicitFlowEnabled": False,
        "directAccessGrantsEnabled": True,
        "serviceAccountsEnabled": False,
    }
    wanted: list[Obj] = [
        {
            **common,
            "clientId": registration["confidentialClient"],
            "name": "Artifact Store gateway logins",
            "publicClient": False,
            "clientAuthenticatorType": "client-secret",
            "attributes": {},
        },
        {
            **common,
            "clientId": registration["cliClient"],
            "name": "Artifact Store CLI",
            "publicClient": True,
            "attributes": {"oauth2.device.authorization.grant.enabled": "true"},
        },
    ]
    url = public_url(spec)
    if url:
        wanted.append(
            {
                **common,
                "clientId": spec["keycloak"]["consoleClient"],
                "name": "Artifact Store web console",
                "publicClient": True,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False,
                "baseUrl": "/_artifacts/ui/",
                "redirectUris": [f"{url}/_artifacts/ui/*"],
                "webOrigins": [url],
                "attributes": {
                    "pkce.code.challenge.method": "S256",
                    "post.logout.redirect.uris": f"{url}/_artifacts/ui/*",
                },
            }
        )
    return wanted


def _differs(current: Obj, wanted: Obj) -> bool:
    """Whether ``current`` lacks a field of ``wanted`` (mappings compared key by key)."""
    for key, value in wanted.items():
        if isinstance(value, dict):
            if _differs(current.get(key) or {}, value):
                return True
        elif current.get(key) != value:
            return True
    return False


def _merged(current: Obj, wanted: Obj) -> Obj:
    out = dict(current)
    for key, value in wanted.items():
        out[key] = {**(current.get(key) or {}), **value} if isinstance(value, dict) else value
    return out


class _Admin:
    """Calls to one realm's admin API, with errors turned into :class:`KeycloakError`."""

    def __init__(self, http: httpx.AsyncClient, base: str, realm: str) -> None:
        self.http, self.base, self.realm = http, base, realm

    async def login(self, admin_realm: str, username: str, password: str) -> None:
        url = f"{self.base}/realms/{admin_realm}/protocol/openid-connect/token"
        form = {
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": username,
            "password": password,
        }
        response = await self._send("POST", url, data=form)
        if response.status_code in (400, 401):
            raise KeycloakError(
                "KeycloakCredentialsRejected",
                f"Keycloak refused the admin credentials ({response.status_code}: "
                f"{_message(response)})",
            )
        self._check(response, "the admin login")
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise KeycloakError(
                "KeycloakUnreachable", f"Keycloak at {self.base} is unreachable: {error!r}"
            ) from error

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.status_code == 403:
            raise KeycloakError(
                "KeycloakForbidden",
                f"the admin may not manage realm {self.realm} ({what}: 403)",
            )
        if response.status_code >= 400:
            raise KeycloakError(
                "KeycloakRequestFailed",
                f"{what}: {response.status_code} {_message(response)}",
            )

    async def call(self, method: str, path: str, what: str, **kwargs: Any) -> Any:
        url = f"{self.base}/admin/realms/{self.realm}{path}"
        response = await self._send(method, url, **kwargs)
        self._check(response, what)
        return response.json() if response.content else None

    async def ensure_client(self, wanted: Obj, audience: str, secret: str | None) -> str:
        """The client as ``wanted`` (created, or updated where it differs), its mappers, and
        its secret when ``secret`` is given; its internal id."""
        client_id = wanted["clientId"]
        found = await self.call(
            "GET", "/clients", f"reading client {client_id}", params={"clientId": client_id}
        )
        if not found:
            body = {**wanted, **({"secret": secret} if secret is not None else {})}
            response = await self._send(
                "POST", f"{self.base}/admin/realms/{self.realm}/clients", json=body
            )
            if response.status_code != 409:  # 409: made meanwhile by someone else; read it
                self._check(response, f"creating client {client_id}")
                CHANGES.labels("client created").inc()
            found = await self.call(
                "GET", "/clients", f"reading client {client_id}", params={"clientId": client_id}
            )
        current: Obj = found[0]
        internal = str(current["id"])
        if _differs(current, wanted):
            body = {k: v for k, v in _merged(current, wanted).items() if k != "protocolMappers"}
            await self.call(
                "PUT", f"/clients/{internal}", f"updating client {client_id}", json=body
            )
            CHANGES.labels("client updated").inc()
        if (
            secret is not None
            and not wanted["publicClient"]
            and await self.secret(internal, client_id) != secret
        ):
            body = {k: v for k, v in current.items() if k != "protocolMappers"}
            body = {**_merged(body, wanted), "secret": secret}
            await self.call(
                "PUT", f"/clients/{internal}", f"setting the secret of {client_id}", json=body
            )
            CHANGES.labels("client secret set").inc()
        mappers = await self.call(
            "GET", f"/clients/{internal}/protocol-mappers/models", f"reading mappers of {client_id}"
        )
        by_name = {m["name"]: m for m in mappers or []}
        for mapper in _mappers(audience):
            existing = by_name.get(mapper["name"])
            models = f"/clients/{internal}/protocol-mappers/models"
            if existing is None:
                await self.call("POST", models, f"adding mapper {mapper['name']}", json=mapper)
                CHANGES.labels("mapper created").inc()
            elif _differs(existing, mapper):
                await self.call(
                    "PUT",
                    f"{models}/{existing['id']}",
                    f"updating mapper {mapper['name']}",
                    json=_merged(existing, mapper),
                )
                CHANGES.labels("mapper updated").inc()
        return internal

    async def secret(self, internal: str, client_id: str) -> str:
        found = await self.call(
            "GET", f"/clients/{internal}/client-secret", f"reading the secret of {client_id}"
        )
        return str((found or {}).get("value") or "")


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("errorMessage") or body)[:200]
    return str(body)[:200]


def _decoded(secret: Obj | None, key: str) -> str | None:
    value = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(value).decode() if value is not None else None


async def _admin_credentials(kube: Kube, namespace: str, spec: Obj) -> tuple[str, str]:
    ref = spec["keycloak"]["registration"]["adminCredentials"]
    secret = await kube.get("v1", "Secret", namespace, ref["existingSecret"])
    username = _decoded(secret, ref["usernameKey"])
    password = _decoded(secret, ref["passwordKey"])
    if secret is None or username is None or password is None:
        raise KeycloakError(
            "KeycloakAdminSecretMissing",
            f"Secret {ref['existingSecret']} with keys {ref['usernameKey']} and "
            f"{ref['passwordKey']} not found in {namespace}",
        )
    return username, password


async def register(kube: Kube, owner: Obj, spec: Obj) -> None:
    """One idempotent registration pass (see the module's docstring)."""
    meta = owner["metadata"]
    namespace = meta["namespace"]
    registration = spec["keycloak"]["registration"]
    base, realm = realm_of(spec["keycloak"]["issuerUrl"], registration["url"])
    username, password = await _admin_credentials(kube, namespace, spec)
    existing = spec["keycloak"]["clientSecret"]["existingSecret"]
    given: str | None = None
    if existing:
        given = _decoded(
            await kube.get("v1", "Secret", namespace, existing),
            spec["keycloak"]["clientSecret"]["key"],
        )
        if not given:
            raise KeycloakError(
                "KeycloakClientSecretMissing",
                f"Secret {existing} has no key {spec['keycloak']['clientSecret']['key']}",
            )
    audience = spec["keycloak"]["audience"]
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        admin = _Admin(http, base, realm)
        await admin.login(registration["adminRealm"], username, password)
        confidential, *public = clients(spec)
        internal = await admin.ensure_client(confidential, audience, given)
        for client in public:  # the CLI's, and the console's when its URL is known
            await admin.ensure_client(client, audience, None)
        if existing:
            return
        value = await admin.secret(internal, confidential["clientId"])
    target = names(meta["name"])["keycloakClient"]
    current = await kube.get("v1", "Secret", namespace, target)
    if _decoded(current, SECRET_KEY) == value:
        return
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _meta(owner, target, "gateway", "keycloak"),
        "data": {SECRET_KEY: base64.b64encode(value.encode()).decode()},
    }
    await kube.apply(secret)
    CHANGES.labels("secret written").inc()
