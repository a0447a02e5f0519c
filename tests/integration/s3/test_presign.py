"""Presigned URLs: made by boto3 and aws-cli, fetched with curl and httpx."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client


def curl(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", *args, url],
        capture_output=True,
        timeout=30,
        check=False,
    )


VERSIONS = pytest.mark.parametrize("version", ["s3", "s3v4"])  # SigV2 is boto3's default here
MARKER = {"s3": "Signature=", "s3v4": "X-Amz-Signature="}


@VERSIONS
def test_presigned_get_with_curl(gateway, bucket, version):
    s3 = s3_client(gateway.url, signature_version=version)
    body = b"presigned body " * 1000
    s3.put_object(Bucket=bucket, Key="dir/file name+x.txt", Body=body)
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "dir/file name+x.txt",
            "ResponseContentDisposition": "attachment; filename=y.txt",
        },
        ExpiresIn=300,
    )
    assert MARKER[version] in url
    result = curl(url, "-D", "-")
    text, status = result.stdout.rsplit(b"\n", 1)
    assert status == b"200"
    assert b"content-disposition: attachment; filename=y.txt" in text.lower()
    assert hashlib.sha256(text.split(b"\r\n\r\n", 1)[1]).digest() == hashlib.sha256(body).digest()


@VERSIONS
def test_presigned_put(gateway, bucket, version):
    s3 = s3_client(gateway.url, signature_version=version)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60
    )
    response = httpx.put(url, content=b"uploaded through a link")
    assert response.status_code == 200, response.text
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded through a link"


@VERSIONS
def test_presigned_url_tampered_or_expired(gateway, bucket, version):
    s3 = s3_client(gateway.url, signature_version=version)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    params = {"Bucket": bucket, "Key": "k"}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
    short = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    assert httpx.get(url).status_code == 200
    forged = httpx.get(url.replace("/k?", "/j?"))
    assert forged.status_code == 403
    assert b"SignatureDoesNotMatch" in forged.content
    time.sleep(2.1)
    expired = httpx.get(short)
    assert expired.status_code == 403
    assert b"expired" in expired.content


def botocore_presigned(url: str, expires: int | str) -> str:
    """A SigV4 presigned GET with any ``X-Amz-Expires``, signed by botocore's own query signer
    (the CRT signer boto3 picks refuses 0 and negative values before signing)."""
    signer = S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1")
    signer._expires = expires  # type: ignore[assignment]  # written into the URL as given
    request = AWSRequest(method="GET", url=url)
    signer.add_auth(request)
    assert f"X-Amz-Expires={expires}&" in str(request.url)
    return str(request.url)


NOT_A_NUMBER = "X-Amz-Expires should be a number"
NEGATIVE = "X-Amz-Expires must be non-negative"
OVER_A_WEEK = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given "
    "X-Amz-Expires must be less than 604800 seconds"
)


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        pytest.param(-1, NEGATIVE, id="negative"),
        pytest.param(-604800, NEGATIVE, id="minus-a-week"),
        pytest.param(604801, OVER_A_WEEK, id="a-week-and-a-second"),
        pytest.param("abc", NOT_A_NUMBER, id="letters"),
        pytest.param("60s", NOT_A_NUMBER, id="with-a-unit"),
        pytest.param("", NOT_A_NUMBER, id="empty"),
    ],
)
def test_presign_expires_out_of_bounds_is_400(gateway, bucket, expires, message):
    """Well signed (by botocore), but S3 refuses the value before it looks at the signature."""
    response = httpx.get(botocore_presigned(f"{gateway.url}/{bucket}/k", expires))
    assert response.status_code == 400, response.text
    error = ET.fromstring(response.content)
    assert error.findtext("Code") == "AuthorizationQueryParametersError"
    assert error.findtext("Message") == message


def test_presign_expires_over_a_week_from_boto3(gateway, bucket):
    client = s3_client(gateway.url, signature_version="s3v4")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604801
    )
    response = httpx.get(url)
    assert response.status_code == 400
    assert ET.fromstring(response.content).findtext("Message") == OVER_A_WEEK


def test_presign_expires_a_week_is_accepted(gateway, bucket, s3):
    s3.put_object(Bucket=bucket, Key="k", Body=b"week")
    response = httpx.get(botocore_presigned(f"{gateway.url}/{bucket}/k", 604800))
    assert response.status_code == 200, response.text
    assert response.content == b"week"


def test_presign_expires_zero_has_expired(gateway, bucket, s3):
    """Zero is in range: the URL is valid for no time, so it has expired (403), not a 400."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    response = httpx.get(botocore_presigned(f"{gateway.url}/{bucket}/k", 0))
    assert response.status_code == 403, response.text
    error = ET.fromstring(response.content)
    assert error.findtext("Code") == "AccessDenied"
    assert error.findtext("Message") == "Request has expired"
    assert error.findtext("X-Amz-Expires") == "0"
    assert error.findtext("Expires") is not None
    assert error.findtext("ServerTime") is not None


@VERSIONS
def test_presigned_url_expired_answers_as_s3(gateway, bucket, version):
    """boto3's own URLs, SigV4 and SigV2: 403 AccessDenied "Request has expired" with the
    expiry and the server's time (SigV4 also echoes X-Amz-Expires)."""
    s3 = s3_client(gateway.url, signature_version=version)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1
    )
    time.sleep(2.1)
    response = httpx.get(url)
    assert response.status_code == 403
    error = ET.fromstring(response.content)
    assert (error.findtext("Code"), error.findtext("Message")) == (
        "AccessDenied",
        "Request has expired",
    )
    assert error.findtext("Expires") < error.findtext("ServerTime")
    assert error.findtext("X-Amz-Expires") == ("1" if version == "s3v4" else None)


def test_aws_cli_presign(aws_env, s3, bucket):
    """aws-cli v1 presigns with SigV2 in us-east-1 by default."""
    aws = str(Path(sys.executable).with_name("aws"))
    s3.put_object(Bucket=bucket, Key="cli", Body=b"from the cli")
    result = subprocess.run(
        [
            aws,
            "--endpoint-url",
            aws_env["AWS_ENDPOINT_URL"],
            "s3",
            "presign",
            f"s3://{bucket}/cli",
            "--expires-in",
            "120",
        ],
        env=aws_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    url = result.stdout.strip()
    assert "Signature=" in url
    fetched = curl(url)
    body, status = fetched.stdout.rsplit(b"\n", 1)
    assert status == b"200", (url, body)
    assert body == b"from the cli"


@pytest.mark.parametrize("header", ["x-amz-meta-extra", "x-amz-acl"])
@pytest.mark.parametrize(
    ("version", "code"), [("s3v4", b"AccessDenied"), ("s3", b"SignatureDoesNotMatch")]
)
def test_presigned_rejects_unsigned_amz_headers(gateway, bucket, header, version, code):
    s3 = s3_client(gateway.url, signature_version=version)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    response = httpx.get(url, headers={header: "sneaky"})
    assert response.status_code == 403
    assert code in response.content
