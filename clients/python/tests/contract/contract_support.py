"""What the contract runner and its killed child processes share: deterministic data, the
clients of a scenario's ``auth``, and where files and resume state go."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from artifactstore import Client
from artifactstore.auth import KeycloakSession
from artifactstore.planning import parse_size

ADMIN_ROLE = "arn:aws:iam::000000000000:role/artifact-admin"
CHUNK_HASHES = 32768  # 1 MiB of data per write


def data_block(seed: int, start: int, count: int) -> bytes:
    return b"".join(
        hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(start, start + count)
    )


def data_bytes(size: int, seed: int) -> bytes:
    """The contract's deterministic data: SHA-256("<seed>:<i>") for i = 0, 1, ..., cut to size."""
    return data_block(seed, 0, -(-size // 32))[:size]


def data_file(workdir: Path, spec: dict[str, Any]) -> Path:
    """The data as a file (written once: same data, same file and fingerprint)."""
    size, seed = parse_size(spec["size"]), int(spec["seed"])
    path = workdir / "data" / f"seed{seed}-{size}.bin"
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        written, index = 0, 0
        while written < size:
            block = data_block(seed, index, CHUNK_HASHES)[: size - written]
            out.write(block)
            written += len(block)
            index += CHUNK_HASHES
    tmp.replace(path)
    return path


def data_sha256(workdir: Path, spec: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    with data_file(workdir, spec).open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download_path(workdir: Path, bucket: str, key: str) -> Path:
    name = hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:16]
    return workdir / "downloads" / name


def make_client(env: dict[str, str], auth: dict[str, Any], state_dir: Path) -> Client:
    """A client for one ``auth`` of the contract; never reads the SDK's own env/profile."""
    endpoint = env["ARTIFACT_STORE_ENDPOINT"]
    common: dict[str, Any] = {"endpoint": endpoint, "state_dir": state_dir, "env": {}}
    kind = auth["kind"]
    if kind == "keys":
        return Client(
            access_key_id=env["ARTIFACT_STORE_ACCESS_KEY_ID"],
            secret_access_key=env["ARTIFACT_STORE_SECRET_ACCESS_KEY"],
            **common,
        )
    user = auth["user"]
    password = json.loads(env["CONTRACT_USERS"])[user]
    client_id = (
        env["CONTRACT_SHORT_CLIENT"]
        if auth.get("client") == "short"
        else env["ARTIFACT_STORE_OIDC_CLIENT"]
    )
    issuer = env["ARTIFACT_STORE_OIDC_ISSUER"]
    if kind == "password":
        return Client.login_password(user, password, issuer=issuer, client_id=client_id, **common)
    token = KeycloakSession(issuer, client_id).login_password(user, password).token()
    if kind == "token":
        return Client(token=token, **common)
    if kind == "sts":
        return Client(token=token, role_arn=ADMIN_ROLE, **common)
    raise ValueError(f"unknown auth kind {kind!r}")


def child_env() -> dict[str, str]:
    return dict(os.environ)
