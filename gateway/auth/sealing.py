"""Secrets the gateway hands out and must read back: STS session tokens and access-key
secrets at rest. Both are sealed with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under the configured credentials key, so a session token is
self-contained (any replica with the key can check it, nothing is stored) and a database
dump holds no usable secret (SigV4 needs the secret itself, so it cannot be a hash).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Sealer:
    """Seal and open with the current key; keys listed after it still open (rotation)."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one credentials key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, claims: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(claims, separators=(",", ":")).encode()).decode()

    def open(self, token: str) -> dict[str, Any] | None:
        """The claims, or None when the token was not sealed by one of our keys."""
        try:
            value = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def decrypt(self, sealed: str) -> str:
        return self._fernet.decrypt(sealed.encode("ascii")).decode()


def key_from_file(path: Path) -> bytes:
    """The key in ``path``, made (0600) on first use: the local stack's default. Replicas
    must share one key through configuration instead."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(Fernet.generate_key())
    return path.read_bytes().strip()
