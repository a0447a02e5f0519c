"""The GitHub Action's login (integrations/github/scripts/sts.py) against a real gateway.

A test issuer stands in for GitHub: it serves a JWKS and the runner's ID-token request endpoint
(`ACTIONS_ID_TOKEN_REQUEST_URL`, answering `{"value": <JWT>}` with GitHub's claims, RS256, a
`kid`), and the gateway trusts it through `sts_extra_issuers`, as a deployment trusts
https://token.actions.githubusercontent.com. The script runs as the action runs it (python3, the
step's env, a $GITHUB_ENV file); the credentials it exports must then work, within the bucket
policy that names the repository, and nowhere else."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from tests.conftest import s3_client
from tests.fixtures.servers import RunningGateway
from tests.integration.ci.conftest import AUDIENCE, REPOSITORY, REQUEST_TOKEN, FakeGithubIssuer

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "integrations" / "github" / "scripts" / "sts.py"


@pytest.fixture
def releases(ci_gateway: RunningGateway) -> str:
    """A bucket whose policy lets the repository acme/app write and read, and nobody else."""
    name = f"rel-{uuid.uuid4().hex[:10]}"
    root = s3_client(ci_gateway.url)
    root.create_bucket(Bucket=name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam:::user/{REPOSITORY}"},
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    root.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return name


def run_login(
    gateway: RunningGateway, issuer: FakeGithubIssuer, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    base = {
        "PATH": "/usr/bin:/bin",
        "ARTIFACT_STORE_ENDPOINT": gateway.url,
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{issuer.url}/token?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        "GITHUB_ENV": str(github_env),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_RUN_ATTEMPT": "1",
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    exported = dict(
        line.split("=", 1) for line in github_env.read_text().splitlines() if "=" in line
    )
    return done, exported


def session_client(gateway: RunningGateway, exported: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id=exported["ARTIFACT_STORE_ACCESS_KEY_ID"],
        aws_secret_access_key=exported["ARTIFACT_STORE_SECRET_ACCESS_KEY"],
        aws_session_token=exported["ARTIFACT_STORE_SESSION_TOKEN"],
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_the_job_token_becomes_credentials_the_bucket_policy_governs(
    ci_gateway: RunningGateway, issuer: FakeGithubIssuer, releases: str, tmp_path: Path
) -> None:
    done, exported = run_login(ci_gateway, issuer, tmp_path)
    assert done.returncode == 0, done.stderr
    assert issuer.audiences[-1] == AUDIENCE
    assert set(exported) == {
        "ARTIFACT_STORE_ACCESS_KEY_ID",
        "ARTIFACT_STORE_SECRET_ACCESS_KEY",
        "ARTIFACT_STORE_SESSION_TOKEN",
    }
    for value in exported.values():  # masked before anything could print them
        assert f"::add-mask::{value}" in done.stdout
    s3 = session_client(ci_gateway, exported)
    s3.put_object(Bucket=releases, Key="app-1.0.tar.gz", Body=b"release bytes")
    assert s3.get_object(Bucket=releases, Key="app-1.0.tar.gz")["Body"].read() == b"release bytes"
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        s3.create_bucket(Bucket=f"x-{uuid.uuid4().hex[:10]}")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_another_repository_gets_credentials_but_not_the_bucket(
    ci_gateway: RunningGateway, issuer: FakeGithubIssuer, releases: str, tmp_path: Path
) -> None:
    issuer.repository = "mallory/fork"
    try:
        done, exported = run_login(ci_gateway, issuer, tmp_path)
    finally:
        issuer.repository = REPOSITORY
    assert done.returncode == 0, done.stderr
    s3 = session_client(ci_gateway, exported)
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        s3.put_object(Bucket=releases, Key="app-1.0.tar.gz", Body=b"forged")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_token_for_another_audience_is_refused(
    ci_gateway: RunningGateway, issuer: FakeGithubIssuer, tmp_path: Path
) -> None:
    done, exported = run_login(
        ci_gateway, issuer, tmp_path, ARTIFACT_STORE_AUDIENCE="sts.amazonaws.com"
    )
    assert done.returncode == 1
    assert (
        "::error title=Artifact Store login::the gateway's STS refused the token: 400"
        in done.stderr
    )
    assert exported == {}


def test_without_id_token_permission_it_says_what_to_add(
    ci_gateway: RunningGateway, issuer: FakeGithubIssuer, tmp_path: Path
) -> None:
    done, exported = run_login(ci_gateway, issuer, tmp_path, ACTIONS_ID_TOKEN_REQUEST_URL="")
    assert done.returncode == 1
    assert "permissions: id-token: write" in done.stderr
    assert exported == {}
