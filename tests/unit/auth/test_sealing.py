"""Sealed session tokens and secrets: only our keys open them, rotation keeps old ones valid."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.sealing import Sealer, key_from_file


def test_seal_and_open_round_trip() -> None:
    sealer = Sealer([Fernet.generate_key()])
    token = sealer.seal({"ak": "ASIA1", "roles": ["r"]})
    assert sealer.open(token) == {"ak": "ASIA1", "roles": ["r"]}
    assert sealer.decrypt(sealer.encrypt("s3cr3t")) == "s3cr3t"


def test_other_keys_and_tampering_do_not_open() -> None:
    ours, theirs = Sealer([Fernet.generate_key()]), Sealer([Fernet.generate_key()])
    token = theirs.seal({"ak": "x"})
    assert ours.open(token) is None
    mine = ours.seal({"ak": "x"})
    assert ours.open(mine[:-4] + ("AAAA" if not mine.endswith("AAAA") else "BBBB")) is None
    assert ours.open("not a token at all ☃") is None
    key = Fernet.generate_key()
    not_a_map = Fernet(key).encrypt(b"[1]").decode()
    assert Sealer([key]).open(not_a_map) is None


def test_a_rotated_key_still_opens() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = Sealer([old]).seal({"n": 1})
    assert Sealer([new, old]).open(token) == {"n": 1}
    assert Sealer([new]).open(token) is None


def test_no_key_is_an_error() -> None:
    with pytest.raises(ValueError, match="key"):
        Sealer([])


def test_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "credentials.key"
    first = key_from_file(path)
    assert key_from_file(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Sealer([first])  # a valid Fernet key


@pytest.mark.parametrize("where", [("credentials.key",), ("a", "b", "credentials.key")])
def test_key_file_is_made_in_an_existing_or_missing_directory(
    tmp_path: Path, where: tuple[str, ...]
) -> None:
    path = tmp_path.joinpath(*where)
    Sealer([key_from_file(path)])
    assert path.is_file()


@given(st.text(max_size=300))
def test_random_text_never_opens(text: str) -> None:
    assert Sealer([b"0" * 43 + b"="]).open(text) is None
