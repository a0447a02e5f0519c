"""A real Keycloak for the identity tests, once per session (about a minute or two to start on
two cores). Where Java is missing it skips, except under CI, where it fails.

One gateway for the whole directory (``idp_gateway``, its bucket ``team-a`` holding
``reports/r.txt``), and per module the callers of the matrix with fresh tokens (Keycloak's
live five minutes)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import keycloak_gateway_settings, s3_client
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.integration.identity.identities import (
    BUCKET,
    CREDENTIALS_KEY,
    Caller,
    sts_session,
)


@pytest.fixture(scope="package")
def idp_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = keycloak_gateway_settings(
        registry,
        keycloak,
        tmp_path_factory.mktemp("idp-gateway"),
        "idp",
        credentials_key=CREDENTIALS_KEY.decode(),
    )
    with serve(settings) as running:
        root = s3_client(running.url)
        root.create_bucket(Bucket=BUCKET)
        root.put_object(Bucket=BUCKET, Key="reports/r.txt", Body=b"report")
        yield running


NARROW_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/reports/*",
        },
    ],
}


@pytest.fixture(scope="module")
def callers(idp_gateway: RunningGateway, keycloak: RunningKeycloak) -> dict[str, Caller]:
    """reader (alice, artifact-reader), writer (bob, artifact-writer), admin (carol,
    artifact-admin), group (dave, /buckets/team-a/writers), nobody (erin: no role, no group),
    key (bob's access key narrowed to listing buckets and reading team-a/reports/*), sts (bob's
    session narrowed to artifact-reader by its RoleArn), anonymous."""
    tokens = {
        user: keycloak.password_token(user) for user in ("alice", "bob", "carol", "dave", "erin")
    }
    made = httpx.post(
        f"{idp_gateway.url}/_artifacts/keys",
        json={"description": "narrow", "policy": json.dumps(NARROW_POLICY)},
        headers={"Authorization": f"Bearer {tokens['bob']}"},
    )
    assert made.status_code == 201, made.text
    key = made.json()
    session = sts_session(idp_gateway.url, tokens["bob"], "artifact-reader")
    return {
        "reader": Caller("alice", bearer=tokens["alice"]),
        "writer": Caller("bob", bearer=tokens["bob"]),
        "admin": Caller("carol", bearer=tokens["carol"]),
        "group": Caller("dave", bearer=tokens["dave"]),
        "nobody": Caller("erin", bearer=tokens["erin"]),
        "key": Caller("bob", access_key=key["access_key_id"], secret=key["secret_access_key"]),
        "sts": Caller(
            "bob",
            access_key=session["AccessKeyId"],
            secret=session["SecretAccessKey"],
            session_token=session["SessionToken"],
        ),
        "anonymous": Caller("anonymous"),
    }
