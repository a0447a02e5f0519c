"""Bucket CORS: Put/Get/DeleteBucketCors (boto3, aws-cli v1), preflights and the headers of
actual requests (raw httpx, as a browser sends them: no signature on a preflight)."""

from __future__ import annotations

import json

import httpx
import pytest
from botocore.exceptions import ClientError

from gateway.__main__ import main
from tests.conftest import gateway_settings, s3_client
from tests.fixtures.registries import RunningRegistry
from tests.fixtures.servers import serve
from tests.fixtures.signing import send
from tests.integration.s3.test_awscli import aws

APP = "https://app.example.com"
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = "CORSResponse: This CORS request is not allowed."
RULES = [
    {
        "ID": "app",
        "AllowedOrigins": [APP, "http://*.example.org"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["x-amz-*", "Content-Type"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 3000,
    },
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


def error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = excinfo.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def cors_of(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-")}


def preflight(url: str, origin: str | None, method: str | None, headers: str | None = None):  # type: ignore[no-untyped-def]
    sent = {}
    if origin is not None:
        sent["Origin"] = origin
    if method is not None:
        sent["Access-Control-Request-Method"] = method
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return httpx.options(url, headers=sent)


@pytest.fixture
def configured(s3, bucket) -> str:  # type: ignore[no-untyped-def]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    return bucket


def test_put_get_delete(s3, bucket):
    with pytest.raises(ClientError) as none:
        s3.get_bucket_cors(Bucket=bucket)
    assert error(none) == (404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
    assert none.value.response["Error"]["BucketName"] == bucket
    put = s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES
    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_cors(Bucket=bucket)
    assert error(gone)[:2] == (404, "NoSuchCORSConfiguration")
    # Deleting what is not there is a 204 too.
    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_no_such_bucket(s3):
    with pytest.raises(ClientError) as excinfo:
        s3.get_bucket_cors(Bucket="no-such-bucket-cors")
    assert error(excinfo)[:2] == (404, "NoSuchBucket")


@pytest.mark.parametrize(
    ("rules", "code", "message"),
    [
        (
            [{"AllowedOrigins": ["*"], "AllowedMethods": ["MYMETHOD"]}],
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD",
        ),
        (
            [{"AllowedOrigins": ["*"], "AllowedMethods": ["OPTIONS"]}],
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is OPTIONS",
        ),
        (
            [{"AllowedOrigins": ["*example*.com"], "AllowedMethods": ["GET"]}],
            "InvalidRequest",
            'AllowedOrigin "*example*.com" can not have more than one wildcard.',
        ),
        (
            [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["a*b*"]}],
            "InvalidRequest",
            'AllowedHeader "a*b*" can not have more than one wildcard.',
        ),
        (
            [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["*"]}],
            "InvalidRequest",
            'ExposeHeader "*" contains wildcard. We currently do not support wildcard for '
            "ExposeHeader.",
        ),
        (
            [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101,
            "InvalidRequest",
            "The number of CORS rules should not exceed allowed limit of 100 rules.",
        ),
        (
            [],
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema",
        ),
    ],
    ids=[
        "unknown-method",
        "options",
        "two-wildcards",
        "header-wildcards",
        "expose-star",
        "101",
        "none",
    ],
)
def test_refused_configurations(s3, bucket, rules, code, message):
    with pytest.raises(ClientError) as excinfo:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert error(excinfo) == (400, code, message)
    with pytest.raises(ClientError) as none:
        s3.get_bucket_cors(Bucket=bucket)
    assert error(none)[:2] == (404, "NoSuchCORSConfiguration")


@pytest.mark.parametrize(
    "body",
    [
        b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule>",
        b"<Other/>",
    ],
    ids=["no-origin", "no-method", "not-xml", "wrong-root"],
)
def test_malformed_xml(gateway, bucket, body):
    answer = send("PUT", f"{gateway.url}/{bucket}?cors", body)
    assert answer.status_code == 400
    assert "<Code>MalformedXML</Code>" in answer.text


def test_allowed_preflight(gateway, configured):
    url = f"{gateway.url}/{configured}/k"
    answer = preflight(url, APP, "PUT", "X-Amz-Date, content-type")
    assert answer.status_code == 200
    assert answer.content == b""
    assert cors_of(answer) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-allow-headers": "x-amz-date, content-type",
        "access-control-expose-headers": "ETag, x-amz-request-id",
        "access-control-max-age": "3000",
    }
    assert answer.headers["vary"] == VARY
    # One wildcard in an origin matches any run of characters; the second rule is "*".
    sub = preflight(url, "http://a.b.example.org", "GET")
    assert cors_of(sub)["access-control-allow-origin"] == "http://a.b.example.org"
    anyone = preflight(url, "https://elsewhere.test", "HEAD")
    assert anyone.status_code == 200
    assert cors_of(anyone) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, HEAD",
    }
    # The bucket's URL is answered by the same rules.
    assert preflight(f"{gateway.url}/{configured}", APP, "GET").status_code == 200


@pytest.mark.parametrize(
    ("origin", "method", "headers", "status", "code", "fields"),
    [
        (None, "GET", None, 400, "BadRequest", []),
        (APP, None, None, 400, "BadRequest", []),
        (APP, "DELETE", None, 403, "AccessForbidden", ["<Method>DELETE</Method>", "OBJECT"]),
        (APP, "PUT", "x-custom", 403, "AccessForbidden", ["<Method>PUT</Method>", "OBJECT"]),
        ("http://app.example.com", "PUT", None, 403, "AccessForbidden", ["OBJECT"]),
        ("https://elsewhere.test", "GET", "x-amz-date", 403, "AccessForbidden", ["OBJECT"]),
    ],
    ids=["no-origin", "no-method", "method", "header", "scheme", "headers-need-a-rule"],
)
def test_refused_preflights(gateway, configured, origin, method, headers, status, code, fields):
    answer = preflight(f"{gateway.url}/{configured}/k", origin, method, headers)
    assert answer.status_code == status
    assert f"<Code>{code}</Code>" in answer.text
    for field in fields:
        assert field in answer.text
    if code == "AccessForbidden":
        assert NOT_ALLOWED in answer.text
    assert not cors_of(answer)


def test_preflight_without_configuration_or_bucket(gateway, bucket):
    answer = preflight(f"{gateway.url}/{bucket}/k", APP, "PUT")
    assert answer.status_code == 403
    assert "<Code>AccessForbidden</Code>" in answer.text
    assert "CORSResponse: CORS is not enabled for this bucket." in answer.text
    assert "<Method>PUT</Method>" in answer.text
    assert "<ResourceType>BUCKET</ResourceType>" in answer.text
    missing = preflight(f"{gateway.url}/no-such-bucket-cors/k", APP, "GET")
    assert missing.status_code == 403
    assert "CORSResponse: Bucket not found" in missing.text


def test_preflight_ignores_credentials(gateway, configured):
    """A preflight is never authenticated: even a forged signature is not looked at."""
    url = f"{gateway.url}/{configured}/k"
    forged = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=nobody/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=00"
    }
    answer = httpx.options(
        url, headers={**forged, "Origin": APP, "Access-Control-Request-Method": "GET"}
    )
    assert answer.status_code == 200


def test_actual_requests_carry_the_matching_rules_headers(gateway, s3, configured):
    url = f"{gateway.url}/{configured}/k"
    signed = send("GET", url, headers={"Origin": APP})
    assert signed.status_code == 200
    assert cors_of(signed) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-expose-headers": "ETag, x-amz-request-id",
        "access-control-max-age": "3000",
    }
    assert signed.headers["vary"] == VARY
    # A refused request (anonymous, private bucket) and a missing key carry them too.
    refused = httpx.get(url, headers={"Origin": APP})
    assert refused.status_code == 403
    assert cors_of(refused)["access-control-allow-origin"] == APP
    missing = send("GET", f"{url}-missing", headers={"Origin": APP})
    assert missing.status_code == 404
    assert cors_of(missing)["access-control-allow-origin"] == APP
    # No rule for the origin and method: the answer as always, without CORS headers.
    put = send("PUT", url, b"w", headers={"Origin": "https://elsewhere.test"})
    assert put.status_code == 200
    assert not cors_of(put)
    assert "vary" not in put.headers
    # The method a client announces decides, as on S3.
    announced = send(
        "GET", url, headers={"Origin": "https://x.test", "Access-Control-Request-Method": "PUT"}
    )
    assert announced.status_code == 200
    assert not cors_of(announced)
    # Without an Origin nothing changes.
    assert not cors_of(send("GET", url))


def test_aws_cli(aws_env, s3, bucket, tmp_path):
    document = tmp_path / "cors.json"
    document.write_text(json.dumps({"CORSRules": RULES[1:]}))
    aws(
        aws_env,
        "s3api",
        "put-bucket-cors",
        "--bucket",
        bucket,
        "--cors-configuration",
        f"file://{document}",
    )
    got = json.loads(aws(aws_env, "s3api", "get-bucket-cors", "--bucket", bucket))
    assert got["CORSRules"] == RULES[1:]
    aws(aws_env, "s3api", "delete-bucket-cors", "--bucket", bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_cors(Bucket=bucket)
    assert error(gone)[:2] == (404, "NoSuchCORSConfiguration")


def test_configuration_survives_reindex(registry: RunningRegistry, tmp_path, monkeypatch) -> None:
    for name, value in registry.env().items():
        monkeypatch.setenv(name, value)
    data = tmp_path / "data"
    settings = gateway_settings(registry, data, repository_prefix="rxcors")
    with serve(settings) as running:
        client = s3_client(running.url)
        client.create_bucket(Bucket="with-cors")
        client.put_bucket_cors(Bucket="with-cors", CORSConfiguration={"CORSRules": RULES})
    (data / "index.db").unlink()
    for leftover in data.glob("index.db-*"):
        leftover.unlink()
    monkeypatch.setenv("ARTIFACT_STORE_REPOSITORY_PREFIX", "rxcors")
    assert main(["--data-dir", str(data), "reindex"]) == 0
    with serve(settings) as running:
        assert s3_client(running.url).get_bucket_cors(Bucket="with-cors")["CORSRules"] == RULES
        assert preflight(f"{running.url}/with-cors/k", APP, "GET").status_code == 200
