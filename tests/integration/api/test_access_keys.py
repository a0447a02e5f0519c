"""Access keys under /_artifacts/keys: made (secret shown once), used by boto3 for SigV4,
listed without secrets, revoked (then refused)."""

from __future__ import annotations

import base64

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY


def basic(access_key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{access_key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


BASIC = basic(ACCESS_KEY, SECRET_KEY)


def client_with(url: str, access_key: str, secret: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def test_make_use_list_and_revoke_a_key(gateway, bucket):
    url = f"{gateway.url}/_artifacts/keys"
    made = httpx.post(url, json={"description": "ci deployer"}, headers=BASIC)
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["access_key_id"].startswith("AKIA")
    assert len(key["secret_access_key"]) >= 40
    assert key["owner"] == "root"
    assert key["roles"] == ["artifact-admin"]

    client = client_with(gateway.url, key["access_key_id"], key["secret_access_key"])
    client.put_object(Bucket=bucket, Key="by-key", Body=b"x")
    assert client.get_object(Bucket=bucket, Key="by-key")["Body"].read() == b"x"

    listed = httpx.get(url, headers=BASIC).json()
    assert key["access_key_id"] in [k["access_key_id"] for k in listed]
    assert all("secret_access_key" not in k for k in listed)

    # The key itself may use the JSON API with Basic, but may not make further keys,
    refused = httpx.post(
        url, json={}, headers=basic(key["access_key_id"], key["secret_access_key"])
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    # Nor list or revoke its owner's keys (itself included): keys are managed by their owner.
    own = basic(key["access_key_id"], key["secret_access_key"])
    assert httpx.get(url, headers=own).status_code == 403
    assert httpx.delete(f"{url}/{key['access_key_id']}", headers=own).status_code == 403

    assert httpx.delete(f"{url}/{key['access_key_id']}", headers=BASIC).status_code == 204
    assert httpx.delete(f"{url}/{key['access_key_id']}", headers=BASIC).status_code == 404
    with pytest.raises(ClientError) as revoked:
        client.get_object(Bucket=bucket, Key="by-key")
    assert revoked.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_key_requests_are_checked(gateway):
    url = f"{gateway.url}/_artifacts/keys"
    assert httpx.get(url).status_code == 401
    too_long = httpx.post(url, json={"description": "x" * 300}, headers=BASIC)
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == "application/problem+json"
    assert "body.description" in too_long.json()["detail"]
    assert httpx.get(url, headers=basic(ACCESS_KEY, "nope")).status_code == 403
    assert httpx.get(url, headers={"Authorization": "Bearer x.y.z"}).status_code == 401
