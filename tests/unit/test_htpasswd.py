"""``artifact-store registry-htpasswd``: the line Zot checks the gateway's password against,
at bcrypt's lowest cost, refusing passwords too short for it."""

from __future__ import annotations

import stat
from pathlib import Path

import bcrypt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.__main__ import main
from gateway.htpasswd import MIN_PASSWORD, WeakPassword, entry

PASSWORD = "p" * 43


def test_entry_is_a_cost_4_bcrypt_line_that_verifies() -> None:
    user, hashed = entry("artifact-store-gateway", PASSWORD).rstrip("\n").split(":", 1)
    assert user == "artifact-store-gateway"
    assert hashed.startswith("$2b$04$")
    assert bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    assert not bcrypt.checkpw(b"q" * 43, hashed.encode())


@given(st.text(min_size=0, max_size=MIN_PASSWORD - 1))
def test_short_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword):
        entry("gateway", password)


@pytest.mark.parametrize("username", ["", "a:b", "a\nb"])
def test_usernames_that_would_break_the_file_are_refused(username: str) -> None:
    with pytest.raises(ValueError, match="username"):
        entry(username, PASSWORD)


def test_the_command_writes_the_file_for_the_pod_only(tmp_path: Path) -> None:
    (tmp_path / "username").write_text("artifact-store-gateway\n")
    (tmp_path / "password").write_text(PASSWORD + "\n")  # a Secret's file may end in a newline
    out = tmp_path / "htpasswd"
    out.write_text("old:entry\n")
    arguments = ["--username-file", str(tmp_path / "username")]
    arguments += ["--password-file", str(tmp_path / "password"), "--out", str(out)]
    assert main(["registry-htpasswd", *arguments]) == 0
    user, hashed = out.read_text().rstrip("\n").split(":", 1)
    assert user == "artifact-store-gateway"
    assert bcrypt.checkpw(PASSWORD.encode(), hashed.encode())
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["htpasswd", "password", "username"]


def test_the_command_fails_with_a_message_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "username").write_text("gateway")
    (tmp_path / "password").write_text("short")
    out = tmp_path / "htpasswd"
    arguments = ["--username-file", str(tmp_path / "username")]
    arguments += ["--password-file", str(tmp_path / "password"), "--out", str(out)]
    assert main(["registry-htpasswd", *arguments]) == 2
    assert "at least 16" in capsys.readouterr().err
    assert not out.exists()
    missing = ["--password-file", str(tmp_path / "nope"), "--out", str(out)]
    assert main(["registry-htpasswd", "--username-file", str(tmp_path / "username"), *missing]) == 2
    assert not out.exists()
