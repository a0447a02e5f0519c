"""Configuration: arguments over environment over profile, as the AWS SDKs read theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
from artifactstore.config import ENV_VARS, resolve_config


def write_profiles(path: Path) -> None:
    path.write_text(
        "[default]\nendpoint = http://default:9000\naccess_key_id = AKDEFAULT\n\n"
        "[profile ci]\nendpoint = http://ci:9000\ntoken = from-file\n"
        "oidc_issuer = http://kc/realms/r\nstate_dir = ~/state\n"
    )


def test_precedence_is_argument_then_env_then_profile(tmp_path: Path) -> None:
    config_file = tmp_path / "config"
    write_profiles(config_file)
    env = {"ARTIFACT_STORE_CONFIG_FILE": str(config_file)}
    assert resolve_config(env=env).endpoint == "http://default:9000"
    assert resolve_config(env=env).access_key_id == "AKDEFAULT"
    env["ARTIFACT_STORE_ENDPOINT"] = "http://env:9000"
    assert resolve_config(env=env).endpoint == "http://env:9000"
    assert resolve_config(env=env, endpoint="http://arg:9000").endpoint == "http://arg:9000"


def test_a_named_profile_by_argument_or_env(tmp_path: Path) -> None:
    config_file = tmp_path / "config"
    write_profiles(config_file)
    env = {"ARTIFACT_STORE_CONFIG_FILE": str(config_file), "ARTIFACT_STORE_PROFILE": "ci"}
    config = resolve_config(env=env)
    assert (config.profile, config.token, config.endpoint) == ("ci", "from-file", "http://ci:9000")
    assert config.access_key_id is None  # profiles do not inherit from default
    assert config.resolved_state_dir() == Path("~/state").expanduser()
    with pytest.raises(ValueError, match="no profile 'nope'"):
        resolve_config("nope", env=env)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    config_file = tmp_path / "config"
    config_file.write_text("[default]\nendpiont = typo\n")
    with pytest.raises(ValueError, match="endpiont"):
        resolve_config(env={"ARTIFACT_STORE_CONFIG_FILE": str(config_file)})
    with pytest.raises(TypeError, match="colour"):
        resolve_config(env={}, colour="blue")


def test_every_variable_is_read(tmp_path: Path) -> None:
    env = {var: f"value-{name}" for name, var in ENV_VARS.items()}
    env["ARTIFACT_STORE_CONFIG_FILE"] = str(tmp_path / "absent")
    config = resolve_config(env=env)
    for name in ENV_VARS:
        assert getattr(config, name) == f"value-{name}"


def test_the_default_state_dir_is_the_xdg_state_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    config = resolve_config(env={"ARTIFACT_STORE_CONFIG_FILE": str(tmp_path / "none")})
    assert config.resolved_state_dir() == tmp_path / "artifact-store" / "transfers"
