"""Identities beyond the matrices (test_s3_matrix.py, test_api_matrix.py, test_curl.py):
bucket listings filtered per caller, bad tokens never anonymous, expired sessions, the clients
people use with these identities (boto3 with STS web identity, aws-cli with an access key, a
presigned URL for a Bearer user), referrers by role and the audit log.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

from gateway.auth.sealing import Sealer
from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures import supply_chain
from tests.integration.identity.identities import (
    BUCKET,
    CREDENTIALS_KEY,
    Caller,
    bucket_policy,
    settled_audit,
)

ROOT = Path(__file__).resolve().parents[3]


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


def test_bad_tokens_are_refused_and_never_anonymous(idp_gateway, keycloak, callers):
    url = f"{idp_gateway.url}/{BUCKET}/reports/r.txt"
    root = s3_client(idp_gateway.url)
    root.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(bucket_policy("public-read")))
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
    got = callers["reader"].call("GET", f"{idp_gateway.url}/{BUCKET}/reports/r.txt")
    put = callers["reader"].call("PUT", f"{idp_gateway.url}/{BUCKET}/reports/denied", b"x")
    log = Path(idp_gateway.settings.audit_sink() or "")
    lines = settled_audit(idp_gateway, [got, put])
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

    def attach(
        label: str, body: bytes = sbom, media_type: str = "application/spdx+json"
    ) -> httpx.Response:
        return httpx.post(
            base,
            params={"key": key, "kind": "sbom"},
            content=body,
            headers={**bearer(label), "Content-Type": media_type},
        )

    def listing(label: str) -> httpx.Response:
        return httpx.get(base, params={"key": key}, headers=bearer(label))

    assert attach("reader").status_code == 403
    assert attach("nobody").status_code == 403
    by_writer = attach("writer")
    assert by_writer.status_code == 201, by_writer.text
    # dave (/buckets/team-a/writers) attaches another document; the same one again would be
    # the one attached before (attaching is idempotent).
    again = attach("group")
    assert again.status_code == 201, again.text
    assert again.json()["digest"] == by_writer.json()["digest"]
    cyclonedx = supply_chain.dump(supply_chain.cyclonedx())
    by_group = attach("group", cyclonedx, "application/vnd.cyclonedx+json")
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


def test_sts_exchanges_and_identity_checks_are_audited(idp_gateway, keycloak):
    def assume(token: str) -> httpx.Response:
        return httpx.post(
            idp_gateway.url,
            data={
                "Action": "AssumeRoleWithWebIdentity",
                "Version": "2011-06-15",
                "RoleArn": "arn:aws:iam::000000000000:role/artifact-reader",
                "RoleSessionName": "audited",
                "WebIdentityToken": token,
            },
        )

    token = keycloak.password_token("bob")
    granted = assume(token)
    refused = assume(token[:-4] + "AAAA")
    assert (granted.status_code, refused.status_code) == (200, 400)
    log = Path(idp_gateway.settings.audit_sink() or "")
    lines = {line["request_id"]: line for line in map(json.loads, log.read_text().splitlines())}
    allowed = lines[granted.headers["x-amzn-requestid"]]
    assert (allowed["action"], allowed["decision"], allowed["principal"]) == (
        "sts:AssumeRoleWithWebIdentity",
        "allow",
        "bob",
    )
    assert allowed["status"] == 200
    denied = lines[refused.headers["x-amzn-requestid"]]
    assert (denied["decision"], denied["rule"], denied["status"]) == (
        "deny",
        "InvalidIdentityToken",
        400,
    )
    text = log.read_text()
    assert token not in text
    assert "SecretAccessKey" not in text
