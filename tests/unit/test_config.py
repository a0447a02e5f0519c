"""Settings precedence: defaults < YAML file < environment < command-line overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import (
    DEFAULT_ROOT_ACCESS_KEY,
    DEFAULT_ROOT_SECRET_KEY,
    Settings,
    load_settings,
)

PREFIX = "ARTIFACT_STORE_"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ARTIFACT_STORE_* variable from the outside; load_settings' own writes are undone."""
    monkeypatch.setenv(PREFIX + "CONFIG", "placeholder")  # recorded, so restored afterwards
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 9000
    assert settings.region == "us-east-1"
    assert settings.repository_prefix == "s3"
    assert settings.registry_url == "http://127.0.0.1:5000"
    assert settings.root_access_key == DEFAULT_ROOT_ACCESS_KEY
    assert settings.root_secret() == DEFAULT_ROOT_SECRET_KEY
    assert settings.max_object_size == 5 * 1024**3
    assert settings.index_url == f"sqlite+aiosqlite:///{Path('.data') / 'index.db'}"


def test_yaml_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "port: 9100\nregion: eu-west-3\ndata_dir: /srv/store\n")
    monkeypatch.setenv(PREFIX + "CONFIG", str(path))
    settings = load_settings()
    assert settings.port == 9100
    assert settings.region == "eu-west-3"
    assert settings.index_url == "sqlite+aiosqlite:////srv/store/index.db"
    assert settings.host == "127.0.0.1"  # not in the file: the default


def test_environment_overrides_yaml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "port: 9100\nregion: eu-west-3\n")
    monkeypatch.setenv(PREFIX + "CONFIG", str(path))
    monkeypatch.setenv(PREFIX + "PORT", "9200")
    settings = load_settings()
    assert settings.port == 9200
    assert settings.region == "eu-west-3"


def test_overrides_beat_environment_and_none_means_not_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write_yaml(tmp_path, "port: 9100\nregion: eu-west-3\nhost: 0.0.0.0\n")
    monkeypatch.setenv(PREFIX + "PORT", "9200")
    monkeypatch.setenv(PREFIX + "REGION", "ap-south-1")
    settings = load_settings(str(path), port=9300, region=None, log_level="debug")
    assert settings.port == 9300  # flag > env > file
    assert settings.region == "ap-south-1"  # None flag: env > file
    assert settings.host == "0.0.0.0"  # file > default
    assert settings.log_level == "debug"


def test_load_settings_names_the_config_file(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "repository_prefix: artifacts\n")
    assert load_settings(str(path)).repository_prefix == "artifacts"
    assert os.environ[PREFIX + "CONFIG"] == str(path)


def test_unknown_yaml_keys_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "port: 9100\nprot: 1\n")
    monkeypatch.setenv(PREFIX + "CONFIG", str(path))
    with pytest.raises(ValidationError, match="prot"):
        load_settings()


def test_invalid_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PREFIX + "PORT", "not-a-port")
    with pytest.raises(ValidationError, match="port"):
        load_settings()


def test_root_secret_key_file_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("  from-the-file\n")
    monkeypatch.setenv(PREFIX + "ROOT_SECRET_KEY", "from-the-env")
    assert load_settings().root_secret() == "from-the-env"
    monkeypatch.setenv(PREFIX + "ROOT_SECRET_KEY_FILE", str(secret_file))
    settings = load_settings()
    assert settings.root_secret() == "from-the-file"
    assert load_settings(root_secret_key="from-a-flag").root_secret() == "from-the-file"


def test_the_password_client_secret_is_read_from_its_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().oidc_password_client_secret() is None
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("from-the-file\n")
    monkeypatch.setenv(PREFIX + "OIDC_PASSWORD_CLIENT_SECRET_FILE", str(secret_file))
    assert load_settings().oidc_password_client_secret() == "from-the-file"


def test_secrets_are_not_shown() -> None:
    settings = Settings(root_secret_key="s3cr3t-value", registry_password="p4ss")
    assert "s3cr3t-value" not in repr(settings)
    assert "p4ss" not in repr(settings)
    assert settings.root_secret() == "s3cr3t-value"


def test_database_url_replaces_the_sqlite_default() -> None:
    url = "postgresql+asyncpg://gw@db/index"
    assert load_settings(database_url=url).index_url == url


def test_the_management_port_is_on_by_default_and_zero_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.management_listener() == ("127.0.0.1", 9100)
    assert settings.metrics_directory() == Path(".data") / "metrics"
    monkeypatch.setenv(PREFIX + "MANAGEMENT_PORT", "0")
    assert load_settings().management_listener() is None
    monkeypatch.setenv(PREFIX + "MANAGEMENT_HOST", "0.0.0.0")
    monkeypatch.setenv(PREFIX + "MANAGEMENT_PORT", "9191")
    assert load_settings().management_listener() == ("0.0.0.0", 9191)


def test_log_level_and_format_are_checked() -> None:
    assert Settings(log_level="INFO").log_level == "info"
    with pytest.raises(ValidationError):
        Settings(log_level="trace")  # uvicorn's trace level would log whole requests
    with pytest.raises(ValidationError):
        Settings(log_format="yaml")
    assert Settings().log_format == "auto"
    assert Settings().tracing is False


def test_the_zot_session_needs_registry_credentials_and_a_lifetime() -> None:
    from gateway.app import registry_session

    assert registry_session(Settings()) is None  # no registry user: nothing to log in as
    with_user = {"registry_username": "gw", "registry_password": "pw"}
    assert registry_session(Settings(**with_user, registry_session_seconds=0)) is None
    session = registry_session(Settings(**with_user))
    assert session is not None
    assert session.refresh == 1800
    with pytest.raises(ValidationError):
        Settings(registry_session_seconds=7200)  # Zot's own sessions end at 2 h
