"""The authorization matrix with real Keycloak tokens: every kind of caller x the S3 and
/_artifacts operations x four bucket policies, each cell with its exact expected decision;
then the clients people use with those identities (boto3 with STS web identity, aws-cli with
an access key, curl on a public bucket, a presigned URL for a Bearer user) and the audit log.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import boto3
import httpx
import pytest
from botocore.config import Config
from cryptography.fernet import Fernet

from gateway.auth.sealing import Sealer
from tests.conftest import ACCESS_KEY, SECRET_KEY, gateway_settings, s3_client
from tests.fixtures import supply_chain
from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import RunningGateway, serve
from tests.fixtures.signing import sign

BUCKET = "team-a"
CREDENTIALS_KEY = Fernet.generate_key()
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Caller:
    name: str
    bearer: str | None = None
    access_key: str | None = None
    secret: str | None = None
    session_token: str | None = None

    def headers(
        self, method: str, url: str, body: bytes, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        extra = dict(extra or {})
        if self.bearer:
            return {**extra, "Authorization": f"Bearer {self.bearer}"}
        if self.access_key and self.secret:
            if self.session_token:
                extra["X-Amz-Security-Token"] = self.session_token
            return sign(method, url, body, extra, access_key=self.access_key, secret=self.secret)
        return extra

    def call(
        self, method: str, url: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        headers = self.headers(method, url, body, extra)
        if body.startswith(b"{"):
            headers["Content-Type"] = "application/json"
        return httpx.request(method, url, content=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def idp_gateway(
    registry: RunningRegistry, keycloak: RunningKeycloak, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningGateway]:
    settings = gateway_settings(
        registry,
        tmp_path_factory.mktemp("idp-gateway"),
        repository_prefix="idp",
        oidc_issuer=keycloak.issuer(),
        oidc_jwks_url=keycloak.jwks_url(),
        credentials_key=CREDENTIALS_KEY.decode(),
    )
    with serve(settings) as running:
        root = s3_client(running.url)
        root.create_bucket(Bucket=BUCKET)
        root.put_object(Bucket=BUCKET, Key="reports/r.txt", Body=b"report")
        yield running


def sts_session(url: str, token: str, role: str, **extra: str) -> dict[str, str]:
    response = httpx.post(
        f"{url}/",
        data={
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "WebIdentityToken": token,
            "RoleArn": f"arn:aws:iam::000000000000:role/{role}",
            "RoleSessionName": "matrix",
            **extra,
        },
    )
    assert response.status_code == 200, response.text
    ns = "{https://sts.amazonaws.com/doc/2011-06-15/}"
    found = ElementTree.fromstring(response.content).find(f".//{ns}Credentials")
    assert found is not None
    return {child.tag.removeprefix(ns): child.text or "" for child in found}


@pytest.fixture(scope="module")
def callers(idp_gateway: RunningGateway, keycloak: RunningKeycloak) -> dict[str, Caller]:
    tokens = {
        user: keycloak.password_token(user) for user in ("alice", "bob", "carol", "dave", "erin")
    }
    narrow_policy = {
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
    made = httpx.post(
        f"{idp_gateway.url}/_artifacts/keys",
        json={"description": "narrow", "policy": json.dumps(narrow_policy)},
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


POLICIES: dict[str, dict | None] = {
    "none": None,
    "public-read": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            }
        ],
    },
    "deny-by-ip": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoLoopback",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
                "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
            }
        ],
    },
    "prefix-scoped": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ErinReadsReports",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam:::user/erin"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/reports/*",
            }
        ],
    },
}
OPERATIONS = (
    "list_buckets",
    "head_bucket",
    "list_objects",
    "get_object",
    "put_object",
    "delete_object",
    "create_bucket",
    "get_policy",
    "copy_object",
    "create_upload",
)
READ = {"list_buckets", "head_bucket", "list_objects", "get_object"}
WRITE = READ | {"put_object", "delete_object", "create_bucket"}
PUT = {"put_object", "copy_object", "create_upload"}
BASE = {
    "reader": READ,
    "writer": WRITE | PUT,
    "admin": WRITE | PUT | {"get_policy"},
    "group": READ | PUT | {"delete_object"},  # writers of team-a only
    "nobody": {"list_buckets"},
    "key": {"list_buckets", "get_object"},  # bob's key, narrowed to reports/ reads
    "sts": READ,  # bob's session narrowed to artifact-reader by its RoleArn
    "anonymous": set(),
}
BUCKET_OPERATIONS = {
    "head_bucket",
    "list_objects",
    "get_object",
    "put_object",
    "delete_object",
    "get_policy",
    "copy_object",
    "create_upload",
}


def expected(caller: str, operation: str, policy: str) -> bool:
    allowed = operation in BASE[caller]
    if policy == "public-read" and operation in {"head_bucket", "list_objects", "get_object"}:
        # Everyone may read, unless a narrowing policy of the caller's own says otherwise.
        allowed = allowed or caller != "key"
    if policy == "deny-by-ip" and operation in BUCKET_OPERATIONS:
        allowed = False
    if policy == "prefix-scoped" and caller == "nobody" and operation == "get_object":
        allowed = True
    return allowed


def perform(caller: Caller, label: str, operation: str, url: str) -> httpx.Response:
    bucket_url = f"{url}/{BUCKET}"
    mine = f"{bucket_url}/reports/by-{label}"
    if operation == "list_buckets":
        return caller.call("GET", f"{url}/")
    if operation == "head_bucket":
        return caller.call("HEAD", bucket_url)
    if operation == "list_objects":
        return caller.call("GET", f"{bucket_url}?list-type=2")
    if operation == "get_object":
        return caller.call("GET", f"{bucket_url}/reports/r.txt")
    if operation == "put_object":
        return caller.call("PUT", mine, b"x")
    if operation == "delete_object":
        return caller.call("DELETE", mine)
    if operation == "create_bucket":
        return caller.call("PUT", f"{url}/made-by-{label}")
    if operation == "copy_object":
        source = {"x-amz-copy-source": f"/{BUCKET}/reports/r.txt"}
        return caller.call("PUT", f"{mine}-copy", extra=source)
    if operation == "create_upload":
        return caller.call("POST", f"{mine}-mp?uploads")
    return caller.call("GET", f"{bucket_url}?policy")


@pytest.mark.parametrize("policy", list(POLICIES))
def test_the_authorization_matrix(idp_gateway, callers, policy):
    root = s3_client(idp_gateway.url)
    document = POLICIES[policy]
    if document is None:
        root.delete_bucket_policy(Bucket=BUCKET)
    else:
        root.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(document))
    time.sleep(0.05)
    wrong: list[str] = []
    for label, caller in callers.items():
        for operation in OPERATIONS:
            response = perform(caller, label, operation, idp_gateway.url)
            allowed = response.status_code != 403
            if response.status_code >= 500:
                wrong.append(f"{label} {operation}: HTTP {response.status_code}")
            elif allowed != expected(label, operation, policy):
                wrong.append(
                    f"{label} {operation}: HTTP {response.status_code}, expected "
                    f"{'allow' if expected(label, operation, policy) else 'deny'}"
                )
    for bucket in root.list_buckets()["Buckets"]:
        if bucket["Name"].startswith("made-by-"):
            root.delete_bucket(Bucket=bucket["Name"])
    root.delete_bucket_policy(Bucket=BUCKET)
    assert not wrong, "\n".join(wrong)


def test_listing_buckets_shows_only_what_the_caller_may_list(idp_gateway, callers):
    root = s3_client(idp_gateway.url)
    root.create_bucket(Bucket="team-b")
    try:
        for label, visible in (
            ("admin", {"team-a", "team-b"}),
            ("group", {"team-a"}),
            ("nobody", set()),
        ):
            listed = callers[label].call("GET", f"{idp_gateway.url}/")
            assert listed.status_code == 200
            names = {n for n in ("team-a", "team-b") if f"<Name>{n}</Name>" in listed.text}
            assert names == visible, label
    finally:
        root.delete_bucket(Bucket="team-b")


def test_the_json_api_by_identity(idp_gateway, callers):
    keys = f"{idp_gateway.url}/_artifacts/keys"
    presign = f"{idp_gateway.url}/_artifacts/presign"
    body = {"bucket": BUCKET, "key": "reports/r.txt"}
    for label in ("reader", "writer", "admin", "group", "nobody"):
        caller = callers[label]
        assert caller.call("GET", keys).status_code == 200, label
        assert caller.call("POST", presign, json.dumps(body).encode()).status_code == 200, label
    for label in ("key", "sts"):
        made = httpx.post(keys, json={}, headers=callers[label].headers("POST", keys, b"{}"))
        assert made.status_code == 401, label  # SigV4 is for S3; the JSON API takes Bearer/Basic
    assert httpx.post(keys, json={}).status_code == 401
    assert httpx.post(presign, json=body).status_code == 401


def test_bad_tokens_are_refused_and_never_anonymous(idp_gateway, keycloak, callers):
    url = f"{idp_gateway.url}/{BUCKET}/reports/r.txt"
    root = s3_client(idp_gateway.url)
    root.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(POLICIES["public-read"]))
    try:
        assert httpx.get(url).status_code == 200  # public: anonymous may read
        mallory = keycloak.password_token("mallory", realm="other-realm")
        for token in (mallory, "not.a.token", callers["reader"].bearer + "x"):
            refused = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403
            assert b"<Code>AccessDenied</Code>" in refused.content
    finally:
        root.delete_bucket_policy(Bucket=BUCKET)


def test_expired_sts_credentials_are_refused(idp_gateway):
    sealer = Sealer([CREDENTIALS_KEY])
    token = sealer.seal(
        {
            "ak": "ASIAEXPIREDXXXXXXXXX",
            "sk": "s",
            "exp": time.time() - 5,
            "name": "bob",
            "roles": ["artifact-admin"],
        }
    )
    caller = Caller("bob", access_key="ASIAEXPIREDXXXXXXXXX", secret="s", session_token=token)
    response = caller.call("GET", f"{idp_gateway.url}/{BUCKET}/reports/r.txt")
    assert response.status_code == 400
    assert b"<Code>ExpiredToken</Code>" in response.content


def test_boto3_with_sts_web_identity(idp_gateway, keycloak, tmp_path, monkeypatch):
    token_file = tmp_path / "token"
    token_file.write_text(keycloak.password_token("bob") + "\n")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::000000000000:role/ci-deployer")
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "boto3-test")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", idp_gateway.url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    session = boto3.Session(region_name="us-east-1")
    s3 = session.client(
        "s3", endpoint_url=idp_gateway.url, config=Config(s3={"addressing_style": "path"})
    )
    s3.put_object(Bucket=BUCKET, Key="reports/from-sts", Body=b"sts")
    assert s3.get_object(Bucket=BUCKET, Key="reports/from-sts")["Body"].read() == b"sts"
    credentials = session.get_credentials().get_frozen_credentials()
    assert credentials.access_key.startswith("ASIA")
    assert credentials.token
    s3.delete_object(Bucket=BUCKET, Key="reports/from-sts")


def test_aws_cli_with_an_access_key_of_a_reader(idp_gateway, keycloak, tmp_path):
    token = keycloak.password_token("alice")
    made = httpx.post(
        f"{idp_gateway.url}/_artifacts/keys",
        json={"description": "alice's laptop"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": made["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": made["secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    aws = [str(ROOT / ".venv" / "bin" / "aws"), "--endpoint-url", idp_gateway.url, "s3"]
    listed = subprocess.run(
        [*aws, "ls", f"s3://{BUCKET}/reports/"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "r.txt" in listed.stdout
    (tmp_path / "f").write_text("x")
    refused = subprocess.run(
        [*aws, "cp", str(tmp_path / "f"), f"s3://{BUCKET}/reports/f"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "AccessDenied" in refused.stderr


def test_presigned_urls_for_bearer_users(idp_gateway, callers):
    url = f"{idp_gateway.url}/_artifacts/presign"
    writer = callers["writer"]
    put = writer.call(
        "POST",
        url,
        json.dumps(
            {"method": "PUT", "bucket": BUCKET, "key": "reports/presigned", "expires": 300}
        ).encode(),
    )
    assert put.status_code == 200, put.text
    assert httpx.put(put.json()["url"], content=b"via presign").status_code == 200
    get = writer.call(
        "POST", url, json.dumps({"bucket": BUCKET, "key": "reports/presigned"}).encode()
    )
    assert httpx.get(get.json()["url"]).content == b"via presign"
    # A reader's PUT URL carries only the reader's rights.
    reader_put = callers["reader"].call(
        "POST", url, json.dumps({"method": "PUT", "bucket": BUCKET, "key": "reports/nope"}).encode()
    )
    assert httpx.put(reader_put.json()["url"], content=b"x").status_code == 403
    too_long = writer.call(
        "POST", url, json.dumps({"bucket": BUCKET, "key": "k", "expires": 8 * 24 * 3600}).encode()
    )
    assert too_long.status_code == 422
    s3_client(idp_gateway.url).delete_object(Bucket=BUCKET, Key="reports/presigned")


def test_audit_lines_for_allowed_and_denied_cells(idp_gateway, callers):
    callers["reader"].call("GET", f"{idp_gateway.url}/{BUCKET}/reports/r.txt")
    callers["reader"].call("PUT", f"{idp_gateway.url}/{BUCKET}/reports/denied", b"x")
    log = Path(idp_gateway.settings.audit_sink() or "")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    alice = [line for line in lines if line["principal"] == "alice"]
    allowed = [
        line for line in alice if line["action"] == "s3:GetObject" and line["decision"] == "allow"
    ]
    assert allowed
    assert allowed[-1]["rule"] == "role:artifact-reader"
    assert allowed[-1]["auth"] == "bearer"
    assert allowed[-1]["bytes_out"] == len(b"report")
    denied = [
        line for line in alice if line["action"] == "s3:PutObject" and line["decision"] == "deny"
    ]
    assert denied
    assert denied[-1]["rule"] == "default-deny"
    assert denied[-1]["status"] == 403
    text = log.read_text()
    assert callers["reader"].bearer not in text
    assert SECRET_KEY not in text
    assert ACCESS_KEY in text  # an id is fine; secrets and tokens never are


def test_referrers_by_role(idp_gateway, callers):
    """Writers attach, readers list and fetch, admins remove: the JSON API with Keycloak
    tokens, decided like S3 requests (roles, bucket groups)."""
    root = s3_client(idp_gateway.url)
    root.delete_bucket_policy(Bucket=BUCKET)
    key = "signed/app.bin"
    root.put_object(Bucket=BUCKET, Key=key, Body=b"app")
    base = f"{idp_gateway.url}/_artifacts/referrers/{BUCKET}"
    sbom = supply_chain.dump(supply_chain.spdx())

    def bearer(label: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {callers[label].bearer}"}

    def attach(label: str) -> httpx.Response:
        return httpx.post(
            base,
            params={"key": key, "kind": "sbom"},
            content=sbom,
            headers={**bearer(label), "Content-Type": "application/spdx+json"},
        )

    def listing(label: str) -> httpx.Response:
        return httpx.get(base, params={"key": key}, headers=bearer(label))

    assert attach("reader").status_code == 403
    assert attach("nobody").status_code == 403
    by_writer = attach("writer")
    assert by_writer.status_code == 201, by_writer.text
    by_group = attach("group")  # dave: /buckets/team-a/writers
    assert by_group.status_code == 201, by_group.text
    for label in ("reader", "writer", "group", "admin"):
        assert listing(label).status_code == 200, label
        assert len(listing(label).json()) == 2, label
    assert listing("nobody").status_code == 403
    assert httpx.get(base, params={"key": key}).status_code == 401
    digest = by_writer.json()["digest"]
    document = f"{base}/{digest}"
    fetched = httpx.get(document, params={"key": key}, headers=bearer("reader"))
    assert fetched.status_code == 200
    assert fetched.content == sbom
    for label in ("reader", "writer", "group", "nobody"):
        removal = httpx.delete(document, params={"key": key}, headers=bearer(label))
        assert removal.status_code == 403, label
    removed = httpx.delete(document, params={"key": key}, headers=bearer("admin"))
    assert removed.status_code == 204
    headers = root.head_object(Bucket=BUCKET, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-artifact-store-sboms"] == "1"
    log = Path(idp_gateway.settings.audit_sink() or "").read_text().splitlines()
    lines = [json.loads(line) for line in log]
    assert any(
        line["principal"] == "alice"
        and line["action"] == "s3:PutObjectReferrer"
        and line["rule"] == "default-deny"
        and line["status"] == 403
        for line in lines
    )
    assert any(
        line["principal"] == "dave"
        and line["action"] == "s3:PutObjectReferrer"
        and line["rule"] == "group:/buckets/team-a/writers"
        and line["status"] == 201
        for line in lines
    )
    root.delete_object(Bucket=BUCKET, Key=key)
