"""Errors in S3's own form: authentication, unknown operations, a registry that is down."""

import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.servers import serve
from tests.fixtures.signing import send


def test_unknown_access_key(gateway, bucket):
    response = send("GET", f"{gateway.url}/{bucket}", access_key="nobody")
    assert response.status_code == 403
    assert b"<Code>InvalidAccessKeyId</Code>" in response.content


def test_wrong_secret(gateway, bucket):
    response = send("GET", f"{gateway.url}/{bucket}", secret="wrong")
    assert response.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content
    assert b"<StringToSign>" in response.content


def test_clock_skew(gateway, bucket):
    response = send(
        "GET", f"{gateway.url}/{bucket}", when=datetime.now(UTC) - timedelta(minutes=16)
    )
    assert response.status_code == 403
    assert b"<Code>RequestTimeTooSkewed</Code>" in response.content
    ok = send("GET", f"{gateway.url}/{bucket}", when=datetime.now(UTC) - timedelta(minutes=14))
    assert ok.status_code == 200


def test_anonymous_is_denied(gateway, bucket):
    for method in ("GET", "PUT", "DELETE", "HEAD"):
        response = httpx.request(method, f"{gateway.url}/{bucket}/k")
        assert response.status_code == 403
    listing = httpx.get(f"{gateway.url}/")
    assert b"<Code>AccessDenied</Code>" in listing.content
    assert listing.headers["content-type"] == "application/xml"


def test_unsupported_signature_version_is_refused(gateway, bucket):
    response = httpx.get(
        f"{gateway.url}/{bucket}", headers={"Authorization": "AWS key:c2lnbmF0dXJl"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "query", ["tagging", "lifecycle", "torrent", "replication", "website", "encryption"]
)
def test_unknown_operations_are_not_implemented(gateway, bucket, query):
    response = send("GET", f"{gateway.url}/{bucket}?{query}")
    assert response.status_code == 501
    assert b"<Code>NotImplemented</Code>" in response.content
    response = send("PUT", f"{gateway.url}/{bucket}/key?{query}", b"<x/>")
    assert response.status_code == 501


def test_unknown_method(gateway, bucket):
    response = send("PATCH", f"{gateway.url}/{bucket}/key", b"x")
    assert response.status_code == 405
    assert b"<Code>MethodNotAllowed</Code>" in response.content


def test_missing_content_length(gateway, bucket):
    def body():
        yield b"chunked bytes"

    from tests.fixtures.signing import sign

    headers = sign("PUT", f"{gateway.url}/{bucket}/k", b"", unsigned_payload=True)
    response = httpx.put(f"{gateway.url}/{bucket}/k", content=body(), headers=headers)
    assert response.status_code == 411
    assert b"<Code>MissingContentLength</Code>" in response.content


def test_registry_unreachable_is_503_with_retry_after(registry, tmp_path):
    down = dataclasses.replace(registry, url="http://127.0.0.1:9")
    with serve(gateway_settings(down, tmp_path)) as running:
        client = s3_client(running.url)
        with pytest.raises(ClientError) as exc:
            client.create_bucket(Bucket="never-made")
        assert exc.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "5"
        assert client.list_buckets()["Buckets"] == []


def test_registry_down_mid_life_leaves_no_partial_object(registry, tmp_path):
    """Stop the registry after a bucket exists: PUT answers 503, the old object stays."""
    from tests.fixtures.registries import start

    own = start(tmp_path / "registry")
    port = int(own.url.rsplit(":", 1)[1])
    try:
        with serve(gateway_settings(own, tmp_path / "gw")) as running:
            client = s3_client(running.url)
            client.create_bucket(Bucket="fragile")
            client.put_object(Bucket="fragile", Key="k", Body=b"old")
            own.stop()
            with pytest.raises(ClientError) as exc:
                client.put_object(Bucket="fragile", Key="k", Body=b"new")
            assert exc.value.response["Error"]["Code"] == "ServiceUnavailable"
            own = start(tmp_path / "registry", port=port, kind=own.kind)
            assert client.get_object(Bucket="fragile", Key="k")["Body"].read() == b"old"
    finally:
        own.stop()


def test_key_that_is_not_utf8(gateway, bucket):
    response = send("PUT", f"{gateway.url}/{bucket}/bad%FFkey", b"x")
    assert response.status_code == 400
    assert b"<Code>InvalidArgument</Code>" in response.content


def test_small_xml_body_must_match_signed_hash(gateway, s3, bucket):
    from tests.fixtures.signing import sign

    s3.put_object(Bucket=bucket, Key="keep", Body=b"1")
    url = f"{gateway.url}/{bucket}?delete"
    signed = sign("POST", url, b"<Delete><Object><Key>other</Key></Object></Delete>")
    body = b"<Delete><Object><Key>keep</Key></Object></Delete>"
    response = httpx.post(url, content=body, headers={**signed, "Content-Length": str(len(body))})
    assert response.status_code == 400
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in response.content
    assert s3.head_object(Bucket=bucket, Key="keep")["ContentLength"] == 1
