"""The CI integrations' harness: a stand-in for GitHub's OIDC token service (the JWKS and the
runner's ID-token request endpoint, GitHub's claims, RS256 with a `kid`) and a gateway that trusts
it through `sts_extra_issuers`, as a deployment trusts https://token.actions.githubusercontent.com."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import keycloak_gateway_settings
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve

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


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
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
    settings = keycloak_gateway_settings(
        registry,
        keycloak,
        tmp_path_factory.mktemp("ci-gateway"),
        "ci",
        sts_extra_issuers=json.dumps(extra),
    )
    with serve(settings) as running:
        yield running
