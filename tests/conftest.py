"""Session fixtures: one real registry and one gateway for the whole run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from hypothesis import settings as hypothesis_settings

from gateway.config import Settings
from tests.fixtures.keycloak import KeycloakUnavailable, RunningKeycloak
from tests.fixtures.keycloak import start as start_keycloak
from tests.fixtures.postgres import postgres_server
from tests.fixtures.registries import ZOT_TAGS, ZOT_VERSION, RunningRegistry, find_zot, start
from tests.fixtures.servers import RunningGateway, serve

ACCESS_KEY = "test-root"
SECRET_KEY = "test-root-secret"
# Gateways the tests start as processes inherit this: no management listener on the fixed
# default port 9100, which concurrent test runs on one machine would fight over. Tests of
# the management port give theirs a free port.
os.environ["ARTIFACT_STORE_MANAGEMENT_PORT"] = "0"
# No per-example deadline: hypothesis's default 200 ms is a timing assertion, and on a 2-core
# machine shared with servers and other runs an example can take longer without anything being
# wrong (tests/unit/sdk/test_resume.py failed so under load). Loaded before any test module
# imports, so every @settings(...) derives from it.
hypothesis_settings.register_profile("artifact-store", deadline=None)
hypothesis_settings.load_profile("artifact-store")


def pytest_report_header(config: pytest.Config) -> str:
    """Which registry this run is against, in the log's header (CI must say Zot)."""
    kind = os.environ.get("ARTIFACT_STORE_REGISTRY", "auto")
    if kind == "distribution":
        return "registry: distribution (docker-registry), chosen by ARTIFACT_STORE_REGISTRY"
    zot = find_zot()
    if zot:
        return f"registry: zot {ZOT_VERSION} (tags {ZOT_TAGS}) from {zot}"
    return "registry: zot not available" + ("" if kind == "auto" else " (the run will fail)")


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    running = start(tmp_path_factory.mktemp("registry"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningKeycloak]:
    try:
        running = start_keycloak(tmp_path_factory.mktemp("keycloak"))
    except KeycloakUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"Keycloak is required in CI: {error}")
        pytest.skip(f"Keycloak unavailable: {error}")
    yield running
    running.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One throwaway PostgreSQL for the run (the index tests, the replicas'): each user makes
    its own names (buckets, prefixes) in it."""
    with postgres_server() as url:
        yield url


def gateway_settings(registry: RunningRegistry, data_dir: Path, **extra: object) -> Settings:
    username, password = registry.auth or (None, None)
    return Settings(
        registry_url=registry.url,
        registry_username=username,
        registry_password=password,
        data_dir=data_dir,
        root_access_key=ACCESS_KEY,
        root_secret_key=SECRET_KEY,
        **extra,
    )


def keycloak_gateway_settings(
    registry: RunningRegistry, keycloak: RunningKeycloak, data_dir: Path, prefix: str,
    **extra: object,
) -> Settings:  # fmt: skip
    """A gateway that trusts the session's Keycloak (Bearer tokens, STS web identity), with a
    repository prefix of its own so that its buckets are its own."""
    return gateway_settings(
        registry,
        data_dir,
        repository_prefix=prefix,
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        **extra,
    )


@pytest.fixture(scope="session")
def gateway(
    registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = gateway_settings(registry, tmp_path_factory.mktemp("gateway"))
    with serve(settings, tls_dir=tmp_path_factory.mktemp("tls")) as running:
        yield running


def s3_client(url: str, verify: str | bool | None = None, **config: object):  # type: ignore[no-untyped-def]
    """boto3 as root, path-style, one retry; ``config`` adds or replaces botocore options."""
    options: dict[str, object] = {
        "s3": {"addressing_style": "path"},
        "retries": {"max_attempts": 1},
        **config,
    }
    return boto3.client(
        "s3",
        endpoint_url=url,
        verify=verify,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(**options),
    )


def sts_client(  # type: ignore[no-untyped-def]
    url: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY, token: str | None = None
):
    return boto3.client(
        "sts",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


@pytest.fixture(scope="session")
def s3(gateway: RunningGateway):  # type: ignore[no-untyped-def]
    return s3_client(gateway.url)


@pytest.fixture(scope="session")
def s3_tls(gateway: RunningGateway):  # type: ignore[no-untyped-def]
    """boto3 over HTTPS: the only way it sends aws-chunked bodies with trailing checksums."""
    return s3_client(gateway.tls_url, verify=str(gateway.ca_file))


@pytest.fixture
def bucket(s3) -> Iterator[str]:  # type: ignore[no-untyped-def]
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture(scope="session")
def aws_env(gateway: RunningGateway, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("awshome")
    return {
        **os.environ,
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ENDPOINT_URL": gateway.url,
    }
