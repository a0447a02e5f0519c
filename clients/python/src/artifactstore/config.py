"""Where the SDK finds its endpoint and credentials, read the way the AWS SDKs read theirs.

Precedence: explicit arguments, then ``ARTIFACT_STORE_*`` environment variables, then the
profile (``ARTIFACT_STORE_PROFILE`` or ``default``) of the INI file
``ARTIFACT_STORE_CONFIG_FILE`` (default ``~/.artifact-store/config``). The variables and keys
are listed once, in docs/sdk.md; the Go and JS SDKs read the same ones."""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs

#: field name -> environment variable; the profile file uses the field names as keys.
ENV_VARS: dict[str, str] = {
    "endpoint": "ARTIFACT_STORE_ENDPOINT",
    "region": "ARTIFACT_STORE_REGION",
    "access_key_id": "ARTIFACT_STORE_ACCESS_KEY_ID",
    "secret_access_key": "ARTIFACT_STORE_SECRET_ACCESS_KEY",
    "session_token": "ARTIFACT_STORE_SESSION_TOKEN",
    "token": "ARTIFACT_STORE_TOKEN",
    "oidc_issuer": "ARTIFACT_STORE_OIDC_ISSUER",
    "oidc_client": "ARTIFACT_STORE_OIDC_CLIENT",
    "role_arn": "ARTIFACT_STORE_ROLE_ARN",
    "state_dir": "ARTIFACT_STORE_STATE_DIR",
}
DEFAULT_CONFIG_FILE = "~/.artifact-store/config"
DEFAULT_OIDC_CLIENT = "artifactctl"


@dataclass(frozen=True)
class Config:
    endpoint: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    token: str | None = None  # a Keycloak access token, sent as Bearer
    oidc_issuer: str | None = None  # https://keycloak/realms/<realm>
    oidc_client: str = DEFAULT_OIDC_CLIENT
    role_arn: str | None = None  # set: exchange the token for STS session credentials
    state_dir: str | None = None  # resume state; default: the XDG state dir
    profile: str = field(default="default", compare=False)

    def resolved_state_dir(self) -> Path:
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        return Path(platformdirs.user_state_dir("artifact-store")) / "transfers"


def _profile_values(path: Path, profile: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    if not path.is_file():
        return {}
    parser.read(path, encoding="utf-8")
    section = profile if profile == "default" else f"profile {profile}"
    if not parser.has_section(section):
        if profile != "default":
            raise ValueError(f"no profile {profile!r} in {path}")
        return {}
    return dict(parser.items(section))


def resolve_config(
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
    **explicit: str | None,
) -> Config:
    """The configuration from arguments, environment and profile, in that order."""
    env = os.environ if env is None else env
    names = {f.name for f in fields(Config)} - {"profile"}
    unknown = set(explicit) - names
    if unknown:
        raise TypeError(f"unknown configuration: {', '.join(sorted(unknown))}")
    profile = profile or env.get("ARTIFACT_STORE_PROFILE") or "default"
    path = Path(env.get("ARTIFACT_STORE_CONFIG_FILE") or DEFAULT_CONFIG_FILE).expanduser()
    file_values = _profile_values(path, profile)
    extra = set(file_values) - names
    if extra:
        raise ValueError(f"{path} [{profile}]: unknown keys {', '.join(sorted(extra))}")
    values: dict[str, str] = {}
    for name in names:
        value = explicit.get(name)
        if value is None:
            value = env.get(ENV_VARS[name]) or None
        if value is None:
            value = file_values.get(name) or None
        if value is not None:
            values[name] = value
    return replace(Config(profile=profile), **values)
