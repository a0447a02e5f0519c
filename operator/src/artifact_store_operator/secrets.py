"""The Secrets the operator generates when the spec names no ``existingSecret``: the root
credentials, the credentials key (Fernet) and the receipt signing key (P-256), each shared by
every replica, and the gateway's Zot user (username and password: Zot's pod hashes its htpasswd
line itself, see render.zot_objects). Made once, created,
never overwritten: they stay stable across reconciles and operator restarts."""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .render import _meta, names
from .spec import COMPONENT_KINDS, Obj, managed
from .zot import GATEWAY_USER


def _secret(owner: Obj, name: str, component: str, part: str, data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _meta(owner, name, component, part),
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }


def generated(owner: Obj, spec: Obj) -> list[Obj]:
    """Fresh Secrets for every credential the spec leaves to the operator (managed components
    only)."""
    return [
        s
        for kind in COMPONENT_KINDS
        if managed(spec, kind)
        for s in generated_for(owner, spec, kind)
    ]


def generated_for(owner: Obj, spec: Obj, kind: str) -> list[Obj]:
    """Fresh Secrets for the credentials of component ``kind`` the spec leaves to the operator,
    whether or not it is managed (releasing an unmanaged component needs their names)."""
    n = names(owner["metadata"]["name"])
    found: list[Obj] = []
    if kind == "gateway":
        if not spec["gateway"]["rootCredentials"]["existingSecret"]:
            access = "AS" + secrets.token_hex(9).upper()
            found.append(
                _secret(
                    owner,
                    n["rootCredentials"],
                    "gateway",
                    "gateway",
                    {"accessKey": access, "secretKey": secrets.token_urlsafe(30)},
                )
            )
        if not spec["gateway"]["credentialsKey"]["existingSecret"]:
            key = Fernet.generate_key().decode()
            found.append(
                _secret(owner, n["credentialsKey"], "gateway", "gateway", {"credentialsKey": key})
            )
        if not spec["gateway"]["receiptKey"]["existingSecret"]:
            # One P-256 key for every replica: receipts verify whichever replica signed them.
            pem = (
                ec.generate_private_key(ec.SECP256R1())
                .private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                .decode()
            )
            found.append(_secret(owner, n["receiptKey"], "gateway", "gateway", {"receiptKey": pem}))
    if kind == "zot" and not spec["zot"]["credentials"]["existingSecret"]:
        password = secrets.token_urlsafe(32)
        found.append(
            _secret(
                owner,
                n["zotCredentials"],
                "zot",
                "zot",
                {"username": GATEWAY_USER, "password": password},
            )
        )
    return found
