"""Session fixtures: one real registry and one gateway for the whole run.

``ARTIFACT_STORE_TEST_STACK=scale-out`` puts the scale-out profile behind them instead
(``tests/fixtures/scale_out.py``: two gateway processes on PostgreSQL behind HAProxy, three
Zot members in a cluster on S3 storage, Redis): ``registry`` is HAProxy's frontend over the Zot
members, ``gateway`` (and so ``s3``, ``s3_tls``, ``aws_env``, ``bucket``) HAProxy's S3
frontends over the two gateways, HTTP and HTTPS. Tests that need what only the single
in-process gateway has (its own log or audit file, a patch of its module state) are marked
``single_stack`` and skipped there, each with its reason.
"""

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
from tests.fixtures.postgres import create_database, postgres_server
from tests.fixtures.registries import (
    ZOT_TAGS,
    ZOT_VERSION,
    RunningRegistry,
    find_zot,
    free_port,
    start,
)
from tests.fixtures.scale_out import ScaleOut, scale_out
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

STACK = os.environ.get("ARTIFACT_STORE_TEST_STACK", "single")
if STACK not in ("single", "scale-out"):
    raise ValueError(f"ARTIFACT_STORE_TEST_STACK={STACK!r}: single or scale-out")
SCALE_OUT = STACK == "scale-out"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "single_stack(reason): needs the single in-process gateway; skipped when "
        "ARTIFACT_STORE_TEST_STACK=scale-out",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SCALE_OUT:
        return
    for item in items:
        marker = item.get_closest_marker("single_stack")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"single stack only: {reason}"))


def pytest_report_header(config: pytest.Config) -> str:
    """Which registry this run is against, in the log's header (CI must say Zot)."""
    if SCALE_OUT:
        return "stack: scale-out (2 gateways behind HAProxy, 3 Zot members; TEST_STACK)"
    kind = os.environ.get("ARTIFACT_STORE_REGISTRY", "auto")
    if kind == "distribution":
        return "registry: distribution (docker-registry), chosen by ARTIFACT_STORE_REGISTRY"
    zot = find_zot()
    if zot:
        return f"registry: zot {ZOT_VERSION} (tags {ZOT_TAGS}) from {zot}"
    return "registry: zot not available" + ("" if kind == "auto" else " (the run will fail)")


@pytest.fixture(scope="session")
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningRegistry]:
    if SCALE_OUT:
        stack: ScaleOut = request.getfixturevalue("scale_out_stack")
        yield stack.registry
        return
    running = start(tmp_path_factory.mktemp("registry"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def scale_out_stack(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScaleOut]:
    """The scale-out profile behind the session fixtures (ARTIFACT_STORE_TEST_STACK), with an
    HTTPS frontend; its gateways log each request (the client matrix reads the lines) and
    keep no bucket records between requests."""
    database_url = create_database(postgres_url, "test_stack")
    root = tmp_path_factory.mktemp("scale-out-stack")
    with scale_out(
        root,
        free_port(),
        (ACCESS_KEY, SECRET_KEY),
        database_url,
        tls=True,
        # bucket settings read from the index on every request: the suites expect a change
        # made through one gateway (a deleted bucket, its CORS, lifecycle) at once through the
        # other; with the default 2 s cache 16 of their tests fail (docs/scale-out.md)
        gateway_env={
            "ARTIFACT_STORE_LOG_LEVEL": "info",
            "ARTIFACT_STORE_BUCKET_CACHE_SECONDS": "0",
        },
    ) as running:
        yield running


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
    request: pytest.FixtureRequest,
    registry: RunningRegistry,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningGateway]:
    if SCALE_OUT:
        stack: ScaleOut = request.getfixturevalue("scale_out_stack")
        # the settings both gateways were given (the first's data directory: each has its own)
        settings = gateway_settings(
            stack.registry,
            stack.root / "gateway0",
            database_url=stack.database_url,
            receipt_key_file=stack.root / "receipt.key",
        )
        dirs = tuple(stack.root / f"gateway{n}" for n in range(len(stack.gateways)))
        yield RunningGateway(
            stack.url, settings, stack.tls_url, stack.ca_file, replica_data_dirs=dirs
        )
        return
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
