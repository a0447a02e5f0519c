"""The registry's htpasswd line for the gateway's user, made where the password lives (an
init container beside Zot, ``artifact-store registry-htpasswd``), so that no deployment tool
has to hash it.

bcrypt's lowest cost on purpose: Zot checks the password on every request and keeps no cache
(1.3 ms of CPU at cost 4, about 90 ms at Helm's cost 10), and the password is random, so no
cost makes guessing it any harder (docs/ARCHITECTURE.md, "Zot as the gateway runs it")."""

from __future__ import annotations

import os
from pathlib import Path

import bcrypt

COST = 4
MIN_PASSWORD = 16  # the generated ones are 43 characters (256 bits)


class WeakPassword(ValueError):
    """A password short enough that the low cost would matter."""


def entry(username: str, password: str) -> str:
    if not username or ":" in username or "\n" in username:
        raise ValueError("the username must be non-empty, without ':' or a line break")
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(
            f"the registry password has {len(password)} characters; at least {MIN_PASSWORD} "
            "random ones are needed for bcrypt's lowest cost"
        )
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(COST)).decode()
    return f"{username}:{hashed}\n"


def write(username_file: Path, password_file: Path, out: Path) -> None:
    """``out`` replaced whole (written beside it, then renamed), readable by the pod's user
    and group only."""
    username = username_file.read_text().strip()
    password = password_file.read_text().rstrip("\r\n")
    line = entry(username, password)
    partial = out.with_name(f".{out.name}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(descriptor, "w") as file:
        file.write(line)
    partial.replace(out)
