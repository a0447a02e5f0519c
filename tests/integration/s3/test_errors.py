"""Errors in S3's own form: authentication, unknown operations, a registry that is down."""

import dataclasses
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import gateway_settings, s3_client
from tests.fixtures.servers import serve
from tests.fixtures.signing import send, sign


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
    "query",
    ["ownershipControls", "publicAccessBlock", "torrent", "replication", "website", "encryption"],
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


def raw_request(url: str, method: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """Send exactly these headers (no Content-Length unless given) and read the answer."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("operation", ["put_object", "upload_part"])
def test_missing_content_length_is_411(gateway, s3, bucket, operation):
    """No Content-Length and no Transfer-Encoding: S3 wants the length (411)."""
    url = f"{gateway.url}/{bucket}/k"
    if operation == "upload_part":
        upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        url += f"?partNumber=1&uploadId={upload}"
    headers = sign("PUT", url, b"", unsigned_payload=True)
    headers.pop("Content-Length", None)
    answer = raw_request(url, "PUT", headers)
    assert answer.startswith(b"HTTP/1.1 411 "), answer
    assert b"<Code>MissingContentLength</Code>" in answer
    assert b"<Message>You must provide the Content-Length HTTP header.</Message>" in answer
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("authorization", [None, ""], ids=["missing", "empty"])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/{bucket}/k", b"data"),
        ("DELETE", "/{bucket}/k", b""),
        ("PUT", "/{bucket}-new", b""),
        ("DELETE", "/{bucket}", b""),
    ],
    ids=["put-object", "delete-object", "create-bucket", "delete-bucket"],
)
def test_write_without_credentials_is_anonymous_access_denied(
    gateway, s3, bucket, authorization, method, path, body
):
    """An empty Authorization header claims nothing: the request is anonymous, and anonymous
    writes are refused with 403 AccessDenied (no 400 for a malformed header)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
    headers = {} if authorization is None else {"Authorization": authorization}
    url = gateway.url + path.format(bucket=bucket)
    response = httpx.request(method, url, content=body, headers=headers)
    assert response.status_code == 403, response.text
    error = ElementTree.fromstring(response.content)
    assert (error.findtext("Code"), error.findtext("Message")) == ("AccessDenied", "Access Denied")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    assert f"{bucket}-new" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_empty_authorization_reads_a_public_bucket_as_anonymous(gateway, s3):
    """What a bucket policy grants to everyone, an empty Authorization header gets too."""
    name = "public-empty-auth"
    s3.create_bucket(Bucket=name, ACL="public-read")
    try:
        s3.put_object(Bucket=name, Key="k", Body=b"for all")
        response = httpx.get(f"{gateway.url}/{name}/k", headers={"Authorization": ""})
        assert response.status_code == 200, response.text
        assert response.content == b"for all"
        denied = httpx.put(f"{gateway.url}/{name}/k", content=b"x", headers={"Authorization": ""})
        assert denied.status_code == 403
        assert ElementTree.fromstring(denied.content).findtext("Code") == "AccessDenied"
    finally:
        s3.delete_object(Bucket=name, Key="k")
        s3.delete_bucket(Bucket=name)


def test_registry_unreachable_is_503_with_retry_after(registry, tmp_path):
    down = dataclasses.replace(registry, url="http://127.0.0.1:9")
    with serve(gateway_settings(down, tmp_path)) as running:
        client = s3_client(running.url)
        with pytest.raises(ClientError) as exc:
            client.create_bucket(Bucket="never-made")
        assert exc.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        # 5 s; or, once repeated failures opened the registry circuit, the cool-down left.
        retry_after = int(exc.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"])
        assert 1 <= retry_after <= running.settings.registry_circuit_cooldown_seconds
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


@pytest.mark.parametrize(
    ("method", "path", "headers", "code"),
    [
        ("GET", "/{bucket}/missing", {}, "AccessDenied"),  # anonymous
        ("GET", "/no-such-bucket-rid/k", None, "NoSuchBucket"),
        ("PUT", "/{bucket}/k?torrent", None, "NotImplemented"),
        ("OPTIONS", "/{bucket}/k", {"Origin": "https://a.example"}, "AccessForbidden"),
    ],
    ids=["refused", "no-bucket", "not-implemented", "preflight"],
)
def test_an_error_names_the_request_id_of_its_header(gateway, bucket, method, path, headers, code):
    """Every S3 answer carries x-amz-request-id; an error document's RequestId is that id (the
    one its log and audit lines name)."""
    url = gateway.url + path.format(bucket=bucket)
    signed = headers is None
    response = send(method, url) if signed else httpx.request(method, url, headers=headers)
    document = ElementTree.fromstring(response.content)
    assert document.findtext("Code") == code
    rid = response.headers["x-amz-request-id"]
    assert len(rid) == 16
    assert document.findtext("RequestId") == rid
    assert response.headers["x-amz-id-2"] == rid


def test_success_and_head_errors_carry_the_request_id(gateway, s3, bucket):
    ok = s3.list_objects_v2(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]
    with pytest.raises(ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="missing")
    head = missing.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert len({ok["x-amz-request-id"], head["x-amz-request-id"]}) == 2  # one per request


def test_an_sts_error_names_the_request_id_of_its_header(gateway):
    response = httpx.post(f"{gateway.url}/", data={"Action": "ListUsers"}, timeout=5)
    assert response.status_code == 400
    namespace = "{https://sts.amazonaws.com/doc/2011-06-15/}"
    document = ElementTree.fromstring(response.content)
    assert document.findtext(f"{namespace}RequestId") == response.headers["x-amzn-requestid"]
