"""No secret in any log line, audit line or span: a gateway whose every secret holds a unique
canary (root secret, sealing key, an access key's secret, the registry password, a Keycloak
password) serves signed, presigned, Bearer, STS, JSON API and ``/v2/`` requests, good and bad,
at ``debug`` with tracing on; the service log (as deployed: JSON, uvicorn's lines included),
the audit log and every span are then searched for each secret, each signature and each token
the run used."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.config import Settings
from tests.conftest import ACCESS_KEY, gateway_settings
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.fixtures.telemetry import captured_logs, span_exporter

CANARY = f"canary{uuid.uuid4().hex}"
ROOT_SECRET = f"{CANARY}-root-secret"
KEYCLOAK_PASSWORD = f"{CANARY}-keycloak-password"
AUDIENCE = "artifact-store"
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())
KID = "canary-key"


class FakeKeycloak(BaseHTTPRequestHandler):
    """A realm's JWKS and its token endpoint (password grant) in one tiny server."""

    issuer = ""

    def log_message(self, *_args: Any) -> None:  # not the service log's business
        pass

    def do_GET(self) -> None:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(SIGNING_KEY.public_key()))
        self._answer(200, {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "ES256"}]})

    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
        if form.get("password") == [KEYCLOAK_PASSWORD]:
            self._answer(200, {"access_token": token(self.issuer, form["username"][0])})
        else:
            self._answer(401, {"error": "invalid_grant"})

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def token(issuer: str, user: str = "carol") -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": f"sub-{user}",
        "preferred_username": user,
        "realm_access": {"roles": ["artifact-admin"]},
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, SIGNING_KEY, algorithm="ES256", headers={"kid": KID})


@pytest.fixture(scope="module")
def keycloak_issuer() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKeycloak)
    FakeKeycloak.issuer = f"http://127.0.0.1:{server.server_port}/realms/canary"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield FakeKeycloak.issuer
    server.shutdown()


class Seen:
    """Every secret, signature and token the run used: none may be in the output."""

    def __init__(self) -> None:
        self.values: set[str] = set()

    def add(self, *values: str) -> None:
        for value in values:
            assert len(value) >= 16, value  # long enough to be found only where it leaked
            self.values.add(value)

    def url(self, url: str) -> str:
        """A presigned URL's signature and session token (as sent and as decoded)."""
        raw = urlsplit(url).query
        for pair in raw.split("&"):
            name, _, value = pair.partition("=")
            if re.search("signature|token", name, re.IGNORECASE):
                self.add(value, httpx.QueryParams(pair)[name])
        return url

    def boto(self, client: Any) -> Any:
        """The signatures of every request the client sends (the Authorization header's)."""

        def grab(request: Any, **_kwargs: Any) -> None:
            header = request.headers.get("Authorization")
            if header:
                text = header.decode() if isinstance(header, bytes) else header
                self.add(text)
                self.add(*re.findall(r"Signature=([0-9a-f]{64})", text))
                self.add(*re.findall(r"^AWS \S+:(\S{20,})$", text))
            session = request.headers.get("X-Amz-Security-Token")
            if session:
                self.add(session.decode() if isinstance(session, bytes) else session)

        client.meta.events.register("before-send", grab)
        return client


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def s3_as(url: str, key: str, secret: str, token: str | None = None, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            **{"signature_version": "s3v4", **config},
        ),
    )


def exercise(gateway: RunningGateway, issuer: str, seen: Seen) -> None:
    url = gateway.url
    root = seen.boto(s3_as(url, ACCESS_KEY, ROOT_SECRET))
    bucket = f"canary-{uuid.uuid4().hex[:10]}"
    # S3 with SigV4: writes, reads, listings, multipart, errors.
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="a.txt", Body=b"canary run")
    assert root.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"canary run"
    root.list_objects_v2(Bucket=bucket)
    upload = root.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    etag = root.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, Body=b"p")
    root.complete_multipart_upload(
        Bucket=bucket,
        Key="parts",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": etag["ETag"], "PartNumber": 1}]},
    )
    with pytest.raises(ClientError):
        root.get_object(Bucket=bucket, Key="missing")
    with pytest.raises(ClientError):
        root.head_bucket(Bucket="no-such-bucket-canary")
    wrong = seen.boto(s3_as(url, ACCESS_KEY, f"{CANARY}-wrong-secret"))
    with pytest.raises(ClientError) as refused:
        wrong.list_objects_v2(Bucket=bucket)
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    # Presigned URLs (SigV4 and SigV2), used, tampered with.
    presigned = seen.url(
        root.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.txt"})
    )
    assert httpx.get(presigned).content == b"canary run"
    tampered = re.sub(r"X-Amz-Signature=[0-9a-f]{8}", "X-Amz-Signature=00000000", presigned)
    assert tampered != presigned
    assert httpx.get(tampered).status_code == 403
    v2 = s3_as(url, ACCESS_KEY, ROOT_SECRET, signature_version="s3")
    old = seen.url(
        v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a.txt"})
    )
    assert httpx.get(old).status_code == 200
    # The JSON API: an access key made and used, Basic and Bearer, refusals.
    made = httpx.post(f"{url}/_artifacts/keys", json={}, headers=basic(ACCESS_KEY, ROOT_SECRET))
    assert made.status_code == 201, made.text
    key_id, key_secret = made.json()["access_key_id"], made.json()["secret_access_key"]
    seen.add(key_secret)
    by_key = seen.boto(s3_as(url, key_id, key_secret))
    by_key.put_object(Bucket=bucket, Key="b.txt", Body=b"by key")
    bearer = token(issuer)
    seen.add(bearer, bearer.rsplit(".", 1)[1])
    listed = httpx.get(f"{url}/_artifacts/keys", headers={"Authorization": f"Bearer {bearer}"})
    assert listed.status_code == 200, listed.text
    refused_api = httpx.get(f"{url}/_artifacts/keys", headers=basic(key_id, f"{CANARY}-bad"))
    assert refused_api.status_code == 403
    assert refused_api.json()["request_id"] == refused_api.headers["x-request-id"]
    assert (
        httpx.get(f"{url}/_artifacts/keys", headers={"Authorization": "Bearer x.y.z"}).status_code
        == 401
    )
    made_url = httpx.post(
        f"{url}/_artifacts/presign",
        json={"bucket": bucket, "key": "a.txt"},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert made_url.status_code == 200, made_url.text
    assert httpx.get(seen.url(made_url.json()["url"])).content == b"canary run"
    # Bearer on S3; STS: a web identity session, used signed and presigned; GetCallerIdentity.
    assert (
        httpx.get(f"{url}/{bucket}", headers={"Authorization": f"Bearer {bearer}"}).status_code
        == 200
    )
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
    credentials = sts.assume_role_with_web_identity(
        RoleArn="arn:aws:iam::000000000000:role/artifact-writer",
        RoleSessionName="canary",
        WebIdentityToken=bearer,
    )["Credentials"]
    seen.add(credentials["SecretAccessKey"], credentials["SessionToken"])
    session = seen.boto(
        s3_as(
            url,
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )
    )
    session.put_object(Bucket=bucket, Key="c.txt", Body=b"by session")
    by_session = seen.url(
        session.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "c.txt"})
    )
    assert httpx.get(by_session).content == b"by session"
    with pytest.raises(ClientError):
        sts.assume_role_with_web_identity(
            RoleArn="arn:aws:iam::000000000000:role/x",
            RoleSessionName="canary",
            WebIdentityToken=bearer[:-8] + "AAAAAAAA",
        )
    identity = seen.boto(
        boto3.client(
            "sts",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=ROOT_SECRET,
        )
    )
    assert identity.get_caller_identity()["Account"]
    # /v2/: the token endpoint (Basic with an access key, Keycloak's password grant), the
    # registry token used, refusals.
    repository = f"s3/{bucket}"
    granted = httpx.get(
        f"{url}/v2/token",
        params={
            "service": "artifact-store",
            "scope": [f"repository:{repository}:pull", "registry:catalog:*"],
        },
        headers=basic(key_id, key_secret),
    )
    assert granted.status_code == 200, granted.text
    registry_token = granted.json()["token"]
    seen.add(registry_token)
    as_token = {"Authorization": f"Bearer {registry_token}"}
    assert httpx.get(f"{url}/v2/", headers=as_token).status_code == 200
    assert httpx.get(f"{url}/v2/_catalog", headers=as_token).status_code == 200
    assert httpx.get(f"{url}/v2/token", headers=basic(key_id, f"{CANARY}-nope")).status_code == 401
    form = {"grant_type": "password", "username": "carol", "password": KEYCLOAK_PASSWORD}
    assert httpx.post(f"{url}/v2/token", data=form).status_code == 200
    assert (
        httpx.post(f"{url}/v2/token", data={**form, "password": f"{CANARY}-x"}).status_code == 401
    )
    assert httpx.get(f"{url}/v2/", headers=basic("carol", KEYCLOAK_PASSWORD)).status_code == 200


def test_no_secret_reaches_a_log_line_an_audit_line_or_a_span(
    registry: RunningRegistry, keycloak_issuer: str, tmp_path: Path
) -> None:
    assert registry.auth is not None, "the canary needs a registry with a password"
    sealing = Fernet.generate_key().decode()
    audit = tmp_path / "audit.log"
    base = gateway_settings(registry, tmp_path / "data", audit_log=str(audit))
    settings = Settings(
        **{
            **base.model_dump(),
            "root_secret_key": ROOT_SECRET,
            "credentials_key": sealing,
            "oidc_issuer": keycloak_issuer,
            "log_level": "debug",
            "tracing": True,
        }
    )
    seen = Seen()
    user, password = registry.auth
    seen.add(ROOT_SECRET, sealing, password, KEYCLOAK_PASSWORD)
    seen.add(base64.b64encode(f"{user}:{password}".encode()).decode())
    seen.add(base64.b64encode(f"{ACCESS_KEY}:{ROOT_SECRET}".encode()).decode())
    spans = span_exporter()
    spans.clear()
    with captured_logs() as out, serve(settings, as_deployed=True) as gateway:
        exercise(gateway, keycloak_issuer, seen)
        time.sleep(0.5)  # the last requests' access lines and spans
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    audited = audit.read_text()
    exported = "\n".join(span.to_json() for span in spans.get_finished_spans())
    # The output is there to be searched: access lines with their fields, registry calls at
    # debug, every protocol's requests audited and traced.
    access = [line for line in lines if line["logger"] == "gateway.request"]
    assert {"request_id", "status", "duration_ms", "timestamp", "level"} <= set(access[0])
    assert {line.get("operation") for line in access} >= {
        "PutObject",
        "AssumeRoleWithWebIdentity",
        "GetRegistryToken",
        "create_key",
    }
    assert any(line["logger"] == "httpx" for line in lines)
    assert "GetRegistryToken" in audited
    assert "X-Amz-Signature=REDACTED" in exported
    text = out.getvalue()
    for secret in sorted(seen.values):
        for where, output in (("service log", text), ("audit log", audited), ("spans", exported)):
            assert secret not in output, f"a secret ({secret[:6]}...) is in the {where}"
    assert CANARY not in text + audited + exported
