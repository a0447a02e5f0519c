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
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.exceptions
import jwt
import pytest
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "integrations" / "github" / "scripts" / "sts.py"
ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "artifact-store"
REPOSITORY = "acme/app"
REQUEST_TOKEN = "runner-request-token"  # what the runner gives the job to ask for ID tokens
KID = "test-key-1"


@dataclass
class FakeGithubIssuer:
    """GitHub's token service in miniature: the key, the JWKS, the ID-token endpoint."""

    url: str
    repository: str = REPOSITORY
    audiences: list[str] = field(default_factory=list)


def github_claims(repository: str, audience: str) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": audience,
        "sub": f"repo:{repository}:ref:refs/heads/main",
        "repository": repository,
        "repository_owner": repository.split("/")[0],
        "ref": "refs/heads/main",
        "sha": "0" * 40,
        "workflow": "build",
        "job_workflow_ref": f"{repository}/.github/workflows/build.yml@refs/heads/main",
        "run_id": "4242",
        "run_attempt": "1",
        "actor": "octocat",
        "event_name": "push",
        "runner_environment": "github-hosted",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }


@pytest.fixture(scope="module")
def issuer() -> Iterator[FakeGithubIssuer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}
    state: dict[str, FakeGithubIssuer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/jwks":
                self._json(200, jwks)
            elif url.path == "/token":
                if self.headers.get("Authorization") != f"bearer {REQUEST_TOKEN}":
                    self._json(401, {"message": "bad request token"})
                    return
                audience = parse_qs(url.query).get("audience", [""])[0]
                issued = state["issuer"]
                issued.audiences.append(audience)
                claims = github_claims(issued.repository, audience)
                value = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
                self._json(200, {"count": 1, "value": value})
            else:
                self._json(404, {})

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["issuer"] = FakeGithubIssuer(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["issuer"]
    server.shutdown()


@pytest.fixture(scope="module")
def ci_gateway(
    registry: RunningRegistry,
    keycloak: RunningKeycloak,
    issuer: FakeGithubIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningGateway]:
    extra = [
        {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_url": f"{issuer.url}/jwks",
            "username_claim": "repository",
        }
    ]
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("ci-gateway"),
        repository_prefix="ci",
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        sts_extra_issuers=json.dumps(extra),
    )
    with serve(settings) as running:
        yield running


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
