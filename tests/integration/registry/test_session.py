"""The registry adapter's Zot session (gateway/registry/session.py) against a real Zot of its
own, which these tests restart: what Zot v2.1.20 answers to the login, the cookie, a cookie
from before a restart, and a streamed body."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.domain.ports.registry import RegistryRejected
from gateway.registry.client import MANIFEST_MEDIA_TYPE, RegistryClient
from gateway.registry.session import ZotSession
from tests.fixtures import registries
from tests.fixtures.registries import RunningRegistry

pytestmark = pytest.mark.anyio
WRONG = "Basic " + "d3Jvbmc6d3Jvbmc="  # wrong:wrong


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def zot(tmp_path: Path) -> Iterator[RunningRegistry]:
    running = registries.start(tmp_path / "zot", kind="zot")
    yield running
    running.stop()


def restart(zot: RunningRegistry, root: Path) -> RunningRegistry:
    """Zot again on the same port and storage: a new random session key."""
    zot.stop()
    return registries.start(root, port=int(zot.url.rsplit(":", 1)[1]), kind="zot")


def sessions(root: Path) -> list[Path]:
    return sorted((root / "storage" / "_sessions").glob("session_*"))


async def stream(data: bytes) -> AsyncIterator[bytes]:
    yield data


def blob(tag: str) -> tuple[bytes, str]:
    data = f"session-test {tag} {uuid.uuid4()}".encode()
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def manifest(config: str, size: int) -> bytes:
    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": "application/octet-stream", "digest": config, "size": size},
        "layers": [],
    }
    return json.dumps(document).encode()


async def test_one_login_then_zot_lets_the_cookie_in_without_basic(
    zot: RunningRegistry, tmp_path: Path
) -> None:
    assert zot.auth is not None
    session = ZotSession(*zot.auth)
    client = RegistryClient(zot.url, auth=zot.auth, session=session, whole_body=0)
    try:
        data, digest = blob("login")
        await client.push_small_blob("s/r", data, digest)
        assert session.logins == 1
        assert len(sessions(tmp_path / "zot")) == 1  # Zot keeps it under its storage root
        session.basic = WRONG  # from here on, only the cookie can let a request in
        assert await client.blob_exists("s/r", digest)
        body = manifest(digest, len(data))
        await client.push_manifest("s/r", "t", body, MANIFEST_MEDIA_TYPE)
        assert (await client.get_manifest("s/r", "t")).body == body
        async with client.open_blob("s/r", digest) as found:  # the fast path
            assert b"".join([piece async for piece in found]) == data
        # a streamed body carries Basic (it could not be sent again after a 401): refused
        big, big_digest = blob("streamed")
        with pytest.raises(RegistryRejected) as refused:
            await client.push_blob(
                "s/r", stream(big), None, digest=big_digest, final_digest=lambda: big_digest
            )
        assert refused.value.status == 401
        assert session.logins == 1
        assert len(sessions(tmp_path / "zot")) == 1
    finally:
        await client.aclose()


async def test_after_a_restart_the_old_cookie_is_refused_and_a_new_login_follows(
    zot: RunningRegistry, tmp_path: Path
) -> None:
    assert zot.auth is not None
    session = ZotSession(*zot.auth)
    client = RegistryClient(zot.url, auth=zot.auth, session=session, whole_body=0)
    try:
        data, digest = blob("before")
        await client.push_small_blob("s/r", data, digest)
        before = session.current()
        zot = restart(zot, tmp_path / "zot")
        # bytes in hand: the refused cookie is followed by Basic, which logs in again
        body = manifest(digest, len(data))
        await client.push_manifest("s/r", "t", body, MANIFEST_MEDIA_TYPE)
        assert session.logins == 2
        assert session.current() not in (None, before)
        # the fast path too: a GET with a cookie from before the restart goes to httpx
        zot = restart(zot, tmp_path / "zot")
        async with client.open_blob("s/r", digest) as found:
            assert b"".join([piece async for piece in found]) == data
        assert session.logins == 3
        # a streamed body after a restart (whole_body 0: any size streams): Basic, no 401
        zot = restart(zot, tmp_path / "zot")
        big, big_digest = blob("after")
        size = len(big)
        pushed = await client.push_blob(
            "s/r", stream(big), size, digest=big_digest, final_digest=lambda: big_digest
        )
        assert pushed == big_digest
        assert await client.blob_exists("s/r", big_digest)
    finally:
        await client.aclose()
        zot.stop()
