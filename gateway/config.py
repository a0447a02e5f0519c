"""One settings model for every deployment: defaults < YAML file < environment < flags.

Environment variables are ``ARTIFACT_STORE_<FIELD>`` (e.g. ``ARTIFACT_STORE_PORT``); the YAML
file is named by ``ARTIFACT_STORE_CONFIG`` or ``--config``. docs/configuration.md lists all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from gateway.auth.sealing import key_from_file

DEFAULT_ROOT_ACCESS_KEY = "artifactstore"
DEFAULT_ROOT_SECRET_KEY = "artifactstore-secret"  # noqa: S105 - documented local default


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARTIFACT_STORE_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address the S3 port listens on.")
    port: int = Field(9000, description="The S3 (user) port.")
    data_dir: Path = Field(Path(".data"), description="Where the SQLite index lives.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the index; default: SQLite in data_dir."
    )
    database_pool_size: int = Field(
        5,
        ge=1,
        description="PostgreSQL: index connections each gateway process keeps open. Every "
        "domain write is one short transaction, so a few serve many requests; the server's "
        "max_connections must cover all processes' pool_size + max_overflow + lock_connections.",
    )
    database_max_overflow: int = Field(
        10, ge=0, description="PostgreSQL: connections opened beyond the pool under bursts."
    )
    database_pool_timeout_seconds: float = Field(
        30, gt=0, description="PostgreSQL: how long a request waits for a free connection."
    )
    database_lock_connections: int = Field(
        10,
        ge=1,
        description="PostgreSQL: connections (a pool of their own) holding the per-key write "
        "locks that replicas share (advisory locks): at most this many keys are being "
        "written at once per process; more writers wait for one.",
    )
    registry_url: str = Field("http://127.0.0.1:5000", description="The registry (Zot), internal.")
    registry_username: str | None = Field(
        None, description="The gateway's own user at the registry (Zot's htpasswd)."
    )
    registry_password: SecretStr | None = None
    registry_password_file: Path | None = Field(
        None, description="Read the registry password from this file instead."
    )
    blob_cache_mib: float = Field(
        32,
        description="Memory for small blobs (up to 256 KiB) kept by digest, so a small object "
        "read again costs no registry request; a digest names its bytes, so nothing kept can "
        "be stale. 0 turns it off. Per gateway process.",
    )
    repository_prefix: str = Field("s3", description="Bucket b lives under <prefix>/b/.")
    region: str = Field("us-east-1", description="The region S3 clients are told.")
    virtual_host_domain: str | None = Field(
        None, description="Base domain for virtual-hosted-style requests (bucket.domain)."
    )
    root_access_key: str = DEFAULT_ROOT_ACCESS_KEY
    root_secret_key: SecretStr = SecretStr(DEFAULT_ROOT_SECRET_KEY)
    root_secret_key_file: Path | None = Field(
        None, description="Read the root secret from this file instead."
    )
    credentials_key: SecretStr | None = Field(
        None,
        description="Fernet key(s) sealing STS session tokens and access-key secrets, "
        "comma-separated (the first seals, all open: rotation); default: a key made once in "
        "data_dir/credentials.key. Replicas must share it.",
    )
    oidc_issuer: str | None = Field(
        None,
        description="The Keycloak realm whose tokens are accepted (Bearer on every API, STS "
        "AssumeRoleWithWebIdentity); a token's iss must equal it exactly, e.g. "
        "http://127.0.0.1:8180/realms/artifact-store. None: no Bearer, no STS.",
    )
    oidc_audience: str = Field("artifact-store", description="Must be in the token's aud.")
    oidc_jwks_url: str | None = Field(
        None, description="The realm's keys; default <oidc_issuer>/protocol/openid-connect/certs."
    )
    oidc_leeway_seconds: float = Field(30, description="Clock leeway for exp/nbf/iat.")
    oidc_password_client: str = Field(
        "artifactctl",
        description="The realm's public client (direct access grants on) that the registry "
        "token endpoint logs Keycloak users in with, when podman, skopeo or oras send a "
        "username and password.",
    )
    oidc_password_client_secret_file: Path | None = Field(
        None,
        description="The secret of oidc_password_client, read from this file, when that "
        "client is confidential (sent as client_secret in the password grant).",
    )
    console_dir: Path | None = Field(
        None,
        description="The web console's built files (index.html, assets/), served at "
        "/_artifacts/ui/; default: gateway/console_assets in the package, where "
        "scripts/console/build.sh puts them. Not built: /_artifacts/ui/ answers 503.",
    )
    console_client_id: str = Field(
        "artifact-store-console",
        description="The realm's public client (authorization code + PKCE) the web console "
        "logs users in with; its redirect URIs must allow <gateway>/_artifacts/ui/*.",
    )
    registry_token_seconds: int = Field(
        300, description="How long a registry token (/v2/token) is valid, in seconds."
    )
    registry_service: str = Field(
        "artifact-store",
        description="The service name of /v2/'s Bearer challenge and its tokens' audience.",
    )
    oidc_jwks_cooldown_seconds: float = Field(
        30, description="At most one JWKS fetch per this many seconds for unknown key ids."
    )
    sts_extra_issuers: str | None = Field(
        None,
        description="JSON list of other OIDC issuers STS accepts (CI systems), each "
        '{"issuer", "audience", "jwks_url", "username_claim"}; never accepted as Bearer.',
    )
    sts_max_duration_seconds: int = Field(
        43200, description="The longest STS session (DurationSeconds upper bound)."
    )
    workers: int = Field(
        1,
        ge=1,
        description="Gateway processes on this host, sharing the ports (SO_REUSEPORT), the "
        "data directory and the index; give it the cores the gateway may use. Writers of one "
        "key in different processes take turns through file locks in data_dir/locks.",
    )
    tls_port: int | None = Field(None, description="Also serve S3 over HTTPS on this port.")
    tls_cert_file: Path | None = Field(None, description="PEM certificate of the HTTPS port.")
    tls_key_file: Path | None = Field(None, description="PEM private key of the HTTPS port.")
    max_skew_seconds: int = Field(900, description="Allowed clock skew of signed requests.")
    max_object_size: int = Field(5 * 1024**3, description="Largest single PUT (S3: 5 GiB).")
    min_part_size: int = Field(
        5 * 1024**2, description="Smallest multipart part but the last (S3: 5 MiB)."
    )
    upload_lifetime_hours: float = Field(
        24.0 * 7,
        description="Multipart uploads not completed within this time are aborted and their "
        "part blobs released.",
    )
    bucket_cache_seconds: float = Field(
        2.0,
        ge=0,
        description="How long a bucket's record (its settings) is kept in this process between "
        "index reads; a change made through another replica is seen within it. 0: read on every "
        "request (replicas that must read their own bucket changes at once).",
    )
    upload_sweep_seconds: float = Field(
        600.0, description="How often expired multipart uploads are looked for."
    )
    lifecycle_sweep_seconds: float = Field(
        600.0,
        gt=0,
        description="How often buckets' lifecycle rules are applied (expiring objects, "
        "aborting incomplete uploads); each pass does at most 1000 actions per bucket and "
        "resumes where the last stopped.",
    )
    lifecycle_day_seconds: float = Field(
        86400.0,
        gt=0,
        description="The length of a lifecycle 'day' (rule Days, rounded up to a day "
        "boundary as S3 rounds to midnight UTC). Only tests shorten it.",
    )
    receipt_key_file: Path | None = Field(
        None,
        description="PEM (PKCS#8) ECDSA private key the gateway signs receipts with (buckets "
        "whose trust has receipts on); default: a P-256 key made once in data_dir/receipt.key. "
        "Replicas must share it.",
    )
    trusted_root_file: Path | None = Field(
        None,
        description="A sigstore trusted_root.json: the Fulcio CAs, Rekor and CT log keys that "
        "keyless signatures are verified against, for buckets whose trust names keyless "
        "identities without a root of their own. Nothing is fetched from the network.",
    )
    # Observability: the management listener (/metrics, /livez, /readyz, /startupz).
    management_host: str = Field(
        "127.0.0.1",
        description="Address of the management port; keep it off the users' network (the "
        "chart exposes it in-cluster only).",
    )
    management_port: int | None = Field(
        9100,
        description="The management port: Prometheus /metrics and the /livez, /readyz and "
        "/startupz probes. 0 or None: no management listener.",
    )
    readiness_timeout_seconds: float = Field(
        2.0, gt=0, description="How long each /readyz check may take before it counts as failed."
    )
    # Recursive bucket deletion (DELETE /_artifacts/buckets/{bucket}?recursive=true).
    bucket_deletion_wait_seconds: float = Field(
        5.0,
        ge=0,
        description="How long a recursive bucket deletion is waited for before the answer: "
        "done within it, 200 with what was deleted; otherwise 202 and the job goes on in the "
        "background (its progress at /_artifacts/buckets/{bucket}/deletion). 0: always 202.",
    )
    # -- Load shedding, drain and registry faults (issue 15, items 4 and 5; docs/operations.md)
    max_inflight_requests: int = Field(
        128,
        ge=0,
        description="Data requests (object reads and writes, OCI blob and manifest transfers, "
        "tus appends) one gateway process serves at once; one more is refused at once with "
        "503 (S3 SlowDown) and Retry-After instead of waiting. 0: no cap.",
    )
    shed_retry_after_seconds: int = Field(
        1, ge=1, description="The Retry-After of a request refused by the cap."
    )
    drain_seconds: float = Field(
        20.0,
        ge=0,
        description="On SIGTERM: how long requests in flight may still run (new connections "
        "are refused at once); then uploads still receiving are cut (503, nothing of them "
        "stored) and downloads still sending are ended. Keep it under the orchestrator's "
        "grace period (Kubernetes: 30 s) minus drain_grace_seconds.",
    )
    drain_grace_seconds: float = Field(
        3.0,
        ge=0,
        description="After the cut, how long a request may take to finish what it was "
        "committing before it is cancelled and the process exits.",
    )
    registry_timeout_seconds: float = Field(
        300.0, gt=0, description="Longest wait for the registry's answer (or its next bytes)."
    )
    registry_connect_timeout_seconds: float = Field(
        5.0, gt=0, description="Longest wait for a connection to the registry."
    )
    registry_retry_attempts: int = Field(
        4,
        ge=1,
        description="Tries of a registry call that is safe to repeat (reads, manifest puts, "
        "deletes by digest; never a streamed body) after a transient failure, the first "
        "included; jittered exponential pauses between them.",
    )
    registry_retry_budget_ratio: float = Field(
        0.1,
        ge=0,
        description="Retries a process may add, as a fraction of its registry calls (plus one "
        "a second and a burst of 20), so that a registry outage is not multiplied by retries.",
    )
    registry_circuit_failures: int = Field(
        5,
        ge=1,
        description="Consecutive registry calls that found it unreachable (connection errors, "
        "timeouts, 502/503/504) that open the circuit: calls then fail at once with 503.",
    )
    registry_circuit_cooldown_seconds: float = Field(
        10.0,
        gt=0,
        description="How long the circuit stays open before one probe call may try the "
        "registry again (half-open); its success closes the circuit.",
    )
    registry_session_seconds: float = Field(
        1800.0,
        ge=0,
        lt=7200,
        description="How long the gateway sends Zot's session cookie before logging in "
        "again (Zot's sessions last 2 h); a cookie costs Zot a fraction of a Basic check "
        "(bcrypt). Streamed bodies always carry Basic. 0: Basic on every request.",
    )
    # Logs and traces (docs/operations.md, "Logs" and "Traces").
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        "info",
        description="Level of the service log; a registry call's own line shows at debug.",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="The service log's lines: JSON objects, or text; auto: text on a "
        "terminal (the local stack), JSON anywhere else (containers).",
    )
    tracing: bool = Field(
        False,
        description="Trace requests with OpenTelemetry even without OTEL_* variables (which "
        "turn tracing on by themselves: OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_EXPORTER).",
    )
    audit_log: str = Field(
        "",
        description="Where the audit log (one JSON line per access decision) goes: a file "
        "path, '-' for standard output, 'off' for nowhere; default: data_dir/audit.log.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = os.environ.get("ARTIFACT_STORE_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @property
    def index_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'index.db'}"

    def credentials_keys(self) -> list[bytes]:
        if self.credentials_key is not None:
            value = self.credentials_key.get_secret_value()
            return [part.strip().encode() for part in value.split(",") if part.strip()]
        return [key_from_file(self.data_dir / "credentials.key")]

    def audit_sink(self) -> str | None:
        if self.audit_log == "off":
            return None
        return self.audit_log or str(self.data_dir / "audit.log")

    def management_listener(self) -> tuple[str, int] | None:
        """Where the management port listens, or None when it is off."""
        if not self.management_port:
            return None
        return self.management_host, self.management_port

    def metrics_directory(self) -> Path:
        """Where worker processes keep their metrics for /metrics to add up (prometheus_client
        multiprocess mode; ``workers`` > 1 only)."""
        return self.data_dir / "metrics"

    def receipt_key_path(self) -> Path:
        return self.receipt_key_file or self.data_dir / "receipt.key"

    def trusted_root(self) -> str | None:
        if self.trusted_root_file is None:
            return None
        return self.trusted_root_file.read_text()

    def registry_auth(self) -> tuple[str, str] | None:
        """Basic credentials towards the registry, or None (an open registry)."""
        if not self.registry_username:
            return None
        if self.registry_password_file is not None:
            return self.registry_username, self.registry_password_file.read_text().strip()
        if self.registry_password is None:
            return None
        return self.registry_username, self.registry_password.get_secret_value()

    def oidc_password_client_secret(self) -> str | None:
        """The password client's secret, or None for a public client."""
        if self.oidc_password_client_secret_file is None:
            return None
        return self.oidc_password_client_secret_file.read_text().strip()

    def root_secret(self) -> str:
        if self.root_secret_key_file is not None:
            return self.root_secret_key_file.read_text().strip()
        return self.root_secret_key.get_secret_value()


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Build settings; ``overrides`` are command-line flags (None means not given)."""
    if config_file:
        os.environ["ARTIFACT_STORE_CONFIG"] = config_file
    return Settings(**{name: value for name, value in overrides.items() if value is not None})
