"""What the contract does not reach in the Python SDK, against the same live stack: the async
client, configuration from env and profile, progress events, streams both ways, a changed
file starting its upload over, the device login, and an unreachable endpoint."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from artifactstore import AsyncClient, Client, NotFound, Progress, Unavailable

from tests.integration.sdk.device_login import approve_device

KEYS = (
    "ARTIFACT_STORE_ENDPOINT",
    "ARTIFACT_STORE_ACCESS_KEY_ID",
    "ARTIFACT_STORE_SECRET_ACCESS_KEY",
)


@pytest.fixture
def root(contract_env: dict[str, str], tmp_path: Path) -> Iterator[Client]:
    env = {k: contract_env[k] for k in KEYS}
    env["ARTIFACT_STORE_STATE_DIR"] = str(tmp_path / "state")
    with Client(env=env) as client:
        yield client


@pytest.fixture
def sdk_bucket(root: Client) -> Iterator[str]:
    name = "p-" + secrets.token_hex(5)
    root.create_bucket(name)
    yield name
    root.delete_bucket(name, recursive=True)


def test_the_async_client_does_what_the_sync_one_does(
    contract_env: dict[str, str], sdk_bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "a.bin"
    source.write_bytes(os.urandom(6 * 2**20))

    async def scenario() -> list[str]:
        env = {k: contract_env[k] for k in KEYS}
        async with AsyncClient(env=env, state_dir=tmp_path / "state") as store:
            result = await store.upload(
                sdk_bucket, "x/a.bin", source, part_size="5MiB", threshold="5MiB"
            )
            assert result.parts == 2
            await store.put_object(sdk_bucket, "x/b.txt", b"b")
            keys = [o.key async for o in store.list_objects(sdk_bucket, "x/", page_size=1)]
            got = await store.download(sdk_bucket, "x/a.bin", tmp_path / "out.bin")
            assert got.checksum_verified == "CRC64NVME"
            await store.delete(sdk_bucket, ["x/a.bin", "x/b.txt"])
            with pytest.raises(NotFound):
                await store.head(sdk_bucket, "x/a.bin")
            return keys

    assert asyncio.run(scenario()) == ["x/a.bin", "x/b.txt"]
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()


def test_configuration_from_a_profile(contract_env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile store]\n"
        f"endpoint = {contract_env['ARTIFACT_STORE_ENDPOINT']}\n"
        f"access_key_id = {contract_env['ARTIFACT_STORE_ACCESS_KEY_ID']}\n"
        f"secret_access_key = {contract_env['ARTIFACT_STORE_SECRET_ACCESS_KEY']}\n"
    )
    env = {"ARTIFACT_STORE_CONFIG_FILE": str(config), "ARTIFACT_STORE_PROFILE": "store"}
    with Client(env=env) as client:
        assert client.mode == "keys"
        name = "p-" + secrets.token_hex(5)
        client.create_bucket(name)
        assert list(client.list_objects(name)) == []
        client.delete_bucket(name)


def test_progress_streams_and_a_changed_file(root: Client, sdk_bucket: str, tmp_path: Path) -> None:
    events: list[Progress] = []
    body = os.urandom(11 * 2**20)
    result = root.upload(
        sdk_bucket, "s.bin", io.BytesIO(body), part_size="5MiB", threshold="5MiB",
        checksum="SHA256", progress=events.append,
    )  # fmt: skip
    assert result.parts == 3
    assert events[-1].parts_done == 3
    assert events[-1].bytes_done == len(body)
    sink = io.BytesIO()
    got = root.download(sdk_bucket, "s.bin", sink, part_size="4MiB")
    assert sink.getvalue() == body
    assert got.sha256 == hashlib.sha256(body).hexdigest()
    # A state file for another version of the same path is not reused.
    path = tmp_path / "f.bin"
    path.write_bytes(body)
    first = root.upload(sdk_bucket, "f.bin", path, part_size="5MiB", threshold="5MiB")
    path.write_bytes(body[::-1])
    again = root.upload(sdk_bucket, "f.bin", path, part_size="5MiB", threshold="5MiB")
    assert (first.resumed_parts, again.resumed_parts) == (0, 0)
    root.download(sdk_bucket, "f.bin", tmp_path / "f.out")
    assert (tmp_path / "f.out").read_bytes() == body[::-1]
    assert not list((tmp_path / "state" / "uploads").glob("*.json"))  # finished: cleaned up


def test_the_verdict_and_trust_round_trip(root: Client, sdk_bucket: str) -> None:
    root.put_object(sdk_bucket, "v.txt", b"v")
    assert not root.get_trust(sdk_bucket).keys
    verdict = root.verify(sdk_bucket, "v.txt", fresh=True)
    assert verdict.signed is False
    assert json.loads(verdict.model_dump_json())["key"] == "v.txt"


def test_an_unreachable_endpoint_is_unavailable(tmp_path: Path) -> None:
    client = Client(
        "http://127.0.0.1:9", access_key_id="a", secret_access_key="b", env={}, max_attempts=1
    )
    with pytest.raises(Unavailable):
        client.head("b", "k")
    with pytest.raises(Unavailable):
        client.verify("b", "k")


def test_device_login_against_keycloak(contract_env: dict[str, str], tmp_path: Path) -> None:
    """The device flow as a person completes it: the SDK shows the URL, someone logs in and
    grants it in Keycloak's pages, the SDK's polling gets the token; then S3 calls with it."""
    approved: list[str] = []

    def prompt(url: str, code: str) -> None:
        assert code in url
        worker = threading.Thread(
            target=lambda: approved.append(approve_device(url, "carol", carol_password)),
            daemon=True,
        )
        worker.start()

    carol_password = json.loads(contract_env["CONTRACT_USERS"])["carol"]
    with Client.login_device(
        prompt=prompt,
        issuer=contract_env["ARTIFACT_STORE_OIDC_ISSUER"],
        endpoint=contract_env["ARTIFACT_STORE_ENDPOINT"],
        state_dir=tmp_path,
        env={},
    ) as client:
        assert client.mode == "bearer"
        name = "p-" + secrets.token_hex(5)
        client.create_bucket(name)
        client.put_object(name, "k", b"device")
        assert [o.key for o in client.list_objects(name)] == ["k"]
        client.delete_bucket(name, recursive=True)
    assert "go back to your device" in approved[0]
