"""login, whoami, logout and keys, against the real Keycloak and gateway: the device flow
approved on Keycloak's own pages, a token and an access key kept in the profile (checked
before they are saved), and access keys made, listed and revoked."""

from __future__ import annotations

import json
import stat
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fixtures.keycloak import RunningKeycloak
from tests.integration.cli.conftest import Cli, validate_output
from tests.integration.sdk.device_login import approve_device


def anonymous(cli: Cli) -> Cli:
    """The same CLI without the root key: only a login of its own, the issuer kept."""
    env = {k: v for k, v in cli.env.items() if "ACCESS_KEY" not in k}
    return Cli(cli.binary, env, cli.home)


def config_file(cli: Cli) -> Path:
    return cli.home / ".config" / "artifactctl" / "config.yaml"


def login_file(cli: Cli, profile: str = "default") -> Path:
    return cli.home / ".config" / "artifactctl" / "logins" / f"{profile}.json"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_device_login_whoami_reuse_and_logout(cli: Cli, keycloak: RunningKeycloak) -> None:
    user = anonymous(cli)
    assert user.doc("whoami", expect=3)["error"]["code"] == "NotLoggedIn"
    process = subprocess.Popen(
        [str(user.binary), "login", "-o", "json"],
        env=user.env,
        cwd=user.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        shown = [process.stderr.readline() for _ in range(2)]
        assert shown[0].startswith("To log in, open ")
        assert " and enter the code " in shown[0]
        link = shown[1].removeprefix("or open ").strip()
        assert link.startswith(keycloak.issuer())
        assert "user_code=" in link
        page = approve_device(link, "carol", keycloak.passwords["carol"])
        assert "success" in page.lower() or "signed in" in page.lower(), page[:500]
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    doc = json.loads(stdout)
    validate_output(doc)
    assert doc["result"]["method"] == "device"
    assert doc["result"]["user"] == "carol"
    assert mode(login_file(user)) == 0o600
    cached = json.loads(login_file(user).read_text())
    assert cached["issuer"] == keycloak.issuer()
    assert cached["clientId"] == "artifactctl"

    who = user.doc("whoami")["result"]
    assert who["user"] == "carol"
    assert who["credentials"] == "login"
    assert who["source"] == "login"
    assert "artifact-admin" in who["roles"]
    assert who["issuer"] == keycloak.issuer()
    # A later run reuses the cached login: carol (an admin) makes a bucket with it.
    bucket = f"cli-dev-{uuid.uuid4().hex[:8]}"
    user.ok("mb", f"s3://{bucket}")
    assert bucket in [b["name"] for b in user.doc("ls")["result"]["buckets"]]
    assert "carol" in user.ok("whoami").stdout

    dry = user.doc("logout", "--dry-run")
    assert dry["dryRun"] is True
    assert dry["result"]["removed"] == ["login"]
    assert login_file(user).exists()
    assert user.doc("logout")["result"] == {"profile": "default", "removed": ["login"]}
    assert not login_file(user).exists()
    assert user.doc("whoami", expect=3)["error"]["exitCode"] == 3


def test_login_token_is_checked_then_kept(cli: Cli, keycloak: RunningKeycloak) -> None:
    user = anonymous(cli)
    bad = user.doc("login", "--token", input=b"not-a-token\n", expect=3)
    assert bad["error"]["exitCode"] == 3
    assert not config_file(user).exists()  # nothing wrong is saved
    token = keycloak.password_token("bob")
    doc = user.doc("login", "--token", input=token.encode())
    assert doc["result"]["method"] == "token"
    assert doc["result"]["user"] == "bob"
    assert mode(config_file(user)) == 0o600
    assert token not in doc["result"].values()  # never printed back
    who = user.doc("whoami")["result"]
    assert (who["user"], who["credentials"], who["source"]) == ("bob", "token", "file")
    assert "artifact-writer" in who["roles"]
    # The environment wins over the file: with ARTIFACT_STORE_TOKEN set, that token is used.
    alice = keycloak.password_token("alice")
    env_who = user.doc("whoami", env={"ARTIFACT_STORE_TOKEN": alice})["result"]
    assert (env_who["user"], env_who["source"]) == ("alice", "env")
    assert user.doc("logout")["result"]["removed"] == ["token"]
    assert "token:" not in config_file(user).read_text()


def test_keys_create_login_access_key_list_revoke(cli: Cli) -> None:
    description = f"cli e2e {uuid.uuid4().hex[:6]}"
    dry = cli.doc("keys", "create", "--description", description, "--dry-run")
    assert dry["dryRun"] is True
    assert "secretAccessKey" not in dry["result"]
    assert description not in json.dumps(cli.doc("keys", "list")["result"])
    made = cli.doc("keys", "create", "--description", description)["result"]
    key_id, secret = made["accessKeyId"], made["secretAccessKey"]
    listed = {k["accessKeyId"]: k for k in cli.doc("keys", "list")["result"]["keys"]}
    assert listed[key_id]["description"] == description
    assert "secretAccessKey" not in listed[key_id]

    user = anonymous(cli)
    wrong = user.doc("login", "--access-key", key_id, input=b"wrong-secret\n", expect=3)
    assert wrong["error"]["exitCode"] == 3
    assert not config_file(user).exists()
    # login makes the profile it names; the key is then that profile's, not the default's.
    kept = user.doc(
        "login", "--profile", "ci", "--access-key", key_id, input=f"{secret}\n".encode()
    )["result"]
    assert kept == {
        "profile": "ci",
        "method": "access-key",
        "accessKeyId": key_id,
        "savedTo": str(config_file(user)),
    }
    assert mode(config_file(user)) == 0o600
    assert secret in config_file(user).read_text()
    who = user.doc("whoami", "--profile", "ci")["result"]
    assert who["credentials"] == "access-key"
    assert who["source"] == "file"
    assert who["accessKeyId"] == key_id
    assert who["arn"].startswith("arn:")
    assert who["account"]
    assert user.doc("whoami", expect=3)["error"]["code"] == "NotLoggedIn"  # default: none
    assert user.doc("whoami", "--profile", "nope", expect=1)["error"]["exitCode"] == 1

    assert cli.doc("keys", "revoke", key_id, "--dry-run")["dryRun"] is True
    assert key_id in [k["accessKeyId"] for k in cli.doc("keys", "list")["result"]["keys"]]
    assert cli.doc("keys", "revoke", key_id)["result"] == {"accessKeyId": key_id, "revoked": True}
    assert key_id not in [k["accessKeyId"] for k in cli.doc("keys", "list")["result"]["keys"]]
    assert cli.doc("keys", "revoke", key_id, expect=2)["error"]["family"] == "NotFound"
    revoked = user.doc("whoami", "--profile", "ci", expect=3)  # the kept key is revoked
    assert revoked["error"]["exitCode"] == 3


def test_an_expired_login_is_refreshed_and_kept(cli: Cli, keycloak: RunningKeycloak) -> None:
    """A login whose access token has expired (the realm's artifactctl-short client issues
    2-second tokens) is renewed with its refresh token, and the new tokens are saved back, so
    the next run starts from them rather than from the expired one."""
    user = anonymous(cli)
    answer = keycloak.token_response(
        {
            "grant_type": "password",
            "client_id": "artifactctl-short",
            "username": "bob",
            "password": keycloak.passwords["bob"],
            "scope": "openid",
        }
    )
    expiry = datetime.now(UTC) + timedelta(seconds=int(str(answer["expires_in"])))
    token = {
        "access_token": answer["access_token"],
        "token_type": "Bearer",
        "refresh_token": answer["refresh_token"],
        "expiry": expiry.isoformat(),
    }
    path = login_file(user)
    path.parent.mkdir(parents=True, exist_ok=True)
    login = {"issuer": keycloak.issuer(), "clientId": "artifactctl-short", "token": token}
    path.write_text(json.dumps(login))
    path.chmod(0o600)
    time.sleep(3)  # the access token has expired; the refresh token has not

    who = user.doc("whoami")["result"]
    assert who["user"] == "bob"
    assert who["source"] == "login"
    saved = json.loads(path.read_text())
    assert saved["token"]["access_token"] != answer["access_token"]
    assert saved["token"]["refresh_token"]
    assert mode(path) == 0o600
