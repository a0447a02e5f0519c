"""Cells of the matrix driven by real clients: the curl binary (anonymous, Bearer, and SigV4
with ``--aws-sigv4``, curl 7.75+) against public-read and no policy, with the exact status and
S3 error code (curl before 8.2 sends no ``x-amz-content-sha256``, which S3 requires with SigV4:
the cells add it, and one cell without it gets S3's 400 InvalidRequest); and STS
GetCallerIdentity with boto3 (root keys, an access key, STS session credentials from the real
Keycloak) and aws-cli.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client, sts_client
from tests.integration.identity.identities import BUCKET, apply_policy, sts_session

ROOT = Path(__file__).resolve().parents[3]
OBJECT = "reports/r.txt"
MARK = "\n--status:"


def curl(*arguments: str, body: bytes | None = None) -> tuple[int, str]:
    """Run /usr/bin/curl; answer the HTTP status and the body."""
    command = ["curl", "-sS", "-o", "-", "-w", MARK + "%{http_code}", *arguments]
    if body is not None:
        command += ["-X", "PUT", "--data-binary", "@-"]
    done = subprocess.run(command, input=body, capture_output=True, check=True, timeout=30)
    text, _, status = done.stdout.decode().rpartition(MARK)
    return int(status), text


def code_of(body: str) -> str | None:
    start = body.find("<Code>")
    return body[start + 6 : body.find("</Code>")] if start >= 0 else None


@pytest.fixture(scope="module")
def reader_key(idp_gateway, keycloak) -> dict[str, str]:
    """An access key of alice (artifact-reader), made with her Bearer token."""
    made = httpx.post(
        f"{idp_gateway.url}/_artifacts/keys",
        json={"description": "curl"},
        headers={"Authorization": f"Bearer {keycloak.password_token('alice')}"},
    )
    assert made.status_code == 201, made.text
    return made.json()


# (who, method, policy) -> (status, S3 error code or None)
CURL_CELLS = {
    ("anonymous", "GET", "none"): (403, "AccessDenied"),
    ("anonymous", "GET", "public-read"): (200, None),
    ("anonymous", "PUT", "none"): (403, "AccessDenied"),
    ("anonymous", "PUT", "public-read"): (403, "AccessDenied"),
    ("reader-bearer", "GET", "none"): (200, None),
    ("reader-bearer", "PUT", "none"): (403, "AccessDenied"),
    ("writer-bearer", "GET", "none"): (200, None),
    ("writer-bearer", "PUT", "none"): (200, None),
    ("nobody-bearer", "GET", "none"): (403, "AccessDenied"),
    ("nobody-bearer", "GET", "public-read"): (200, None),
    ("reader-sigv4", "GET", "none"): (200, None),
    ("reader-sigv4", "PUT", "none"): (403, "AccessDenied"),
    ("reader-sigv4", "PUT", "public-read"): (403, "AccessDenied"),
    ("wrong-secret-sigv4", "GET", "public-read"): (403, "SignatureDoesNotMatch"),
    ("bad-bearer", "GET", "public-read"): (403, "AccessDenied"),
    ("unhashed-sigv4", "GET", "none"): (400, "InvalidRequest"),
}


@pytest.mark.parametrize("policy", ["none", "public-read"])
def test_curl_cells(idp_gateway, keycloak, reader_key, policy):
    root = s3_client(idp_gateway.url)
    apply_policy(root, policy)
    tokens = {user: keycloak.password_token(user) for user in ("alice", "bob", "erin")}
    sigv4 = ["--aws-sigv4", "aws:amz:us-east-1:s3"]
    credentials = {
        "anonymous": [],
        "reader-bearer": ["-H", f"Authorization: Bearer {tokens['alice']}"],
        "writer-bearer": ["-H", f"Authorization: Bearer {tokens['bob']}"],
        "nobody-bearer": ["-H", f"Authorization: Bearer {tokens['erin']}"],
        "bad-bearer": ["-H", f"Authorization: Bearer {tokens['alice']}x"],
        "reader-sigv4": [
            *sigv4,
            "--user",
            f"{reader_key['access_key_id']}:{reader_key['secret_access_key']}",
        ],
        "wrong-secret-sigv4": [*sigv4, "--user", f"{reader_key['access_key_id']}:wrong"],
        "unhashed-sigv4": [
            *sigv4,
            "--user",
            f"{reader_key['access_key_id']}:{reader_key['secret_access_key']}",
        ],
    }
    wrong: list[str] = []
    try:
        for (who, method, cell_policy), (status, code) in CURL_CELLS.items():
            if cell_policy != policy:
                continue
            key = OBJECT if method == "GET" else f"reports/curl-{who}"
            url = f"{idp_gateway.url}/{BUCKET}/{key}"
            body = b"from curl" if method == "PUT" else None
            arguments = credentials[who]
            if "--aws-sigv4" in arguments and not who.startswith("unhashed"):
                # curl before 8.2 sends no x-amz-content-sha256, which S3 requires with SigV4.
                digest = hashlib.sha256(body or b"").hexdigest()
                arguments = [*arguments, "-H", f"x-amz-content-sha256: {digest}"]
            got_status, text = curl(*arguments, url, body=body)
            got = (got_status, code_of(text))
            if got != (status, code):
                wrong.append(f"{who} {method} on {policy}: {got}, expected {(status, code)}")
            elif method == "GET" and status == 200 and text != "report":
                wrong.append(f"{who} GET on {policy}: body {text!r}")
    finally:
        root.delete_bucket_policy(Bucket=BUCKET)
    assert not wrong, "\n".join(wrong)
    if policy == "none":  # the writer's PUT landed, byte for byte
        stored = root.get_object(Bucket=BUCKET, Key="reports/curl-writer-bearer")
        assert stored["Body"].read() == b"from curl"
        root.delete_object(Bucket=BUCKET, Key="reports/curl-writer-bearer")


def test_get_caller_identity_with_boto3(idp_gateway, keycloak, reader_key):
    url = idp_gateway.url
    root = sts_client(url, ACCESS_KEY, SECRET_KEY).get_caller_identity()
    assert (root["Arn"], root["UserId"], root["Account"]) == (
        "arn:aws:iam::000000000000:root",
        "000000000000",
        "000000000000",
    )
    key = sts_client(
        url, reader_key["access_key_id"], reader_key["secret_access_key"]
    ).get_caller_identity()
    assert key["Arn"] == "arn:aws:iam::000000000000:user/alice"
    assert key["Account"] == "000000000000"
    assert key["UserId"]  # alice's Keycloak subject
    assert key["UserId"] not in {"alice", reader_key["access_key_id"]}
    session = sts_session(url, keycloak.password_token("bob"), "artifact-reader")
    assumed = sts_client(
        url, session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"]
    ).get_caller_identity()
    assert assumed["Arn"] == "arn:aws:sts::000000000000:assumed-role/artifact-reader/matrix"
    assert assumed["UserId"] == "artifact-reader:matrix"
    assert assumed["Account"] == "000000000000"


def test_get_caller_identity_with_aws_cli(idp_gateway, reader_key, tmp_path):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": reader_key["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": reader_key["secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    env.pop("AWS_SESSION_TOKEN", None)
    aws = [str(ROOT / ".venv" / "bin" / "aws"), "--endpoint-url", idp_gateway.url]
    done = subprocess.run(
        [*aws, "sts", "get-caller-identity", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Arn"] == "arn:aws:iam::000000000000:user/alice"
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    refused = subprocess.run(
        [*aws, "sts", "get-caller-identity"], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "SignatureDoesNotMatch" in refused.stderr
