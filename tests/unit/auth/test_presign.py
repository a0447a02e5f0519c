"""The gateway's own presigned URLs verify with its SigV4 checker and equal botocore's."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.auth import sigv4
from gateway.auth.errors import AuthError
from gateway.auth.presign import presign

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
URL = "http://127.0.0.1:9000/my-bucket/dir/ünï code+x.bin"


def signed(url: str, method: str = "GET") -> sigv4.SignedRequest:
    parts = urlsplit(url)
    return sigv4.SignedRequest(
        method=method,
        raw_path=parts.path,
        query_string=parts.query,
        headers=[("host", parts.netloc)],
    )


async def lookup(access_key: str) -> str | None:
    return "s3cr3t" if access_key == "ASIAKEY" else None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make(method: str = "GET", token: str | None = "sealed-token") -> str:
    parts = urlsplit(URL)
    return presign(
        method,
        f"{parts.scheme}://{parts.netloc}{quote(parts.path)}",
        access_key="ASIAKEY",
        secret="s3cr3t",
        session_token=token,
        expires=600,
        now=NOW,
        region="us-east-1",
    )


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_presigned_urls_verify(method):
    url = make(method)
    credential = await sigv4.verify(signed(url, method), lookup, NOW)
    assert credential.presigned
    assert credential.access_key == "ASIAKEY"
    assert "X-Amz-Security-Token=sealed-token" in url


@pytest.mark.anyio
async def test_tampering_and_expiry_are_refused():
    url = make()
    with pytest.raises(AuthError):
        await sigv4.verify(signed(url.replace("my-bucket", "my-buckes")), lookup, NOW)
    with pytest.raises(AuthError):
        await sigv4.verify(signed(url, "PUT"), lookup, NOW)
    with pytest.raises(AuthError) as expired:
        await sigv4.verify(signed(url), lookup, datetime(2026, 11, 30, 12, 11, tzinfo=UTC))
    assert "expired" in expired.value.message


def test_equal_to_botocore():
    url = make(token=None)
    request = AWSRequest(method="GET", url=url.split("?")[0])
    auth = S3SigV4QueryAuth(Credentials("ASIAKEY", "s3cr3t"), "s3", "us-east-1", expires=600)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        auth.add_auth(request)
    ours = url.split("X-Amz-Signature=")[1]
    theirs = request.url.split("X-Amz-Signature=")[1].split("&")[0]
    assert ours == theirs


def test_query_values_are_fully_encoded():
    """As botocore writes them: the credential's slashes too (``/`` is not left as is)."""
    query = urlsplit(make(token="a/b+c=")).query
    assert "X-Amz-Credential=ASIAKEY%2F20261130%2Fus-east-1%2Fs3%2Faws4_request&" in query
    assert "X-Amz-Security-Token=a%2Fb%2Bc%3D&" in query


@pytest.mark.anyio
async def test_a_url_without_a_path_is_signed_for_the_root():
    url = presign(
        "GET",
        "http://127.0.0.1:9000",
        access_key="ASIAKEY",
        secret="s3cr3t",
        session_token=None,
        expires=600,
        now=NOW,
        region="us-east-1",
    )
    assert url.startswith("http://127.0.0.1:9000?X-Amz-Algorithm=")
    credential = await sigv4.verify(signed(url), lookup, NOW)
    assert credential.access_key == "ASIAKEY"
