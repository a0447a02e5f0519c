import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.fixtures.signing import send

BODY = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def obj(s3, bucket):
    s3.put_object(Bucket=bucket, Key="data.bin", Body=BODY, ContentType="application/x-bin")
    return bucket, "data.bin"


def status(exc):
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, len(BODY) - 1),
        ("bytes=-10", len(BODY) - 10, len(BODY) - 1),
        ("bytes=10000-99999", 10000, len(BODY) - 1),
        ("bytes=-99999", 0, len(BODY) - 1),
    ],
)
def test_ranges(s3, obj, header, first, last):
    got = s3.get_object(Bucket=obj[0], Key=obj[1], Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {first}-{last}/{len(BODY)}"
    assert got["ContentLength"] == last - first + 1
    assert got["Body"].read() == BODY[first : last + 1]


def test_unsatisfiable_range(s3, obj):
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=obj[0], Key=obj[1], Range=f"bytes={len(BODY)}-")
    assert exc.value.response["Error"]["Code"] == "InvalidRange"
    assert status(exc) == 416


def test_unparseable_range_serves_everything(s3, obj):
    got = s3.get_object(Bucket=obj[0], Key=obj[1], Range="bytes=5-2")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert got["Body"].read() == BODY


def test_head_with_range(s3, obj):
    head = s3.head_object(Bucket=obj[0], Key=obj[1], Range="bytes=0-9")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert head["ContentLength"] == 10


def test_conditionals(s3, obj):
    bucket, key = obj
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)["Body"].read() == BODY
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfMatch='"nope"')
    assert status(exc) == 412
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert status(exc) == 304
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfModifiedSince=future)
    assert status(exc) == 304
    assert s3.get_object(Bucket=bucket, Key=key, IfModifiedSince=past)["Body"].read() == BODY
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfUnmodifiedSince=past)
    assert status(exc) == 412
    # If-Match true wins over If-Unmodified-Since false (S3 documents this).
    got = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag, IfUnmodifiedSince=past)
    assert got["Body"].read() == BODY
    # If-None-Match false and If-Modified-Since true: 200.
    got = s3.get_object(Bucket=bucket, Key=key, IfNoneMatch='"other"', IfModifiedSince=future)
    assert got["Body"].read() == BODY
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key=key, IfNoneMatch=etag)
    assert status(exc) == 304


def test_resume_with_range_and_if_match(s3, obj):
    bucket, key = obj
    etag = s3.head_object(Bucket=bucket, Key=key)["ETag"]
    part = s3.get_object(Bucket=bucket, Key=key, Range="bytes=5000-", IfMatch=etag)
    assert part["Body"].read() == BODY[5000:]
    s3.put_object(Bucket=bucket, Key=key, Body=b"changed")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, Range="bytes=5000-", IfMatch=etag)
    assert status(exc) == 412


def test_response_overrides(s3, obj):
    got = s3.get_object(
        Bucket=obj[0],
        Key=obj[1],
        ResponseContentType="text/csv",
        ResponseContentDisposition="attachment; filename=x.csv",
        ResponseCacheControl="no-cache",
        ResponseContentLanguage="de",
        ResponseContentEncoding="identity",
        ResponseExpires=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert got["ContentType"] == "text/csv"
    assert got["ContentDisposition"] == "attachment; filename=x.csv"
    assert got["CacheControl"] == "no-cache"
    assert got["ContentLanguage"] == "de"
    assert got["ContentEncoding"] == "identity"
    assert got["Body"].read() == BODY


def test_presigned_style_override_via_http(gateway, obj):
    url = f"{gateway.url}/{obj[0]}/{obj[1]}?response-content-type=image%2Fpng"
    response = send("GET", url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(BODY).digest()


def test_missing_key(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="absent")
    assert exc.value.response["Error"]["Code"] == "NoSuchKey"
    assert exc.value.response["Error"]["Key"] == "absent"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="absent")
    assert status(exc) == 404


def test_large_object_streams(s3, bucket):
    size = 24 * 1024 * 1024 + 17
    chunk = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    body = (chunk * (size // len(chunk) + 1))[:size]
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    got = s3.get_object(Bucket=bucket, Key="big")
    digest = hashlib.sha256()
    for piece in got["Body"].iter_chunks(1 << 20):
        digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(body).hexdigest()
    middle = s3.get_object(Bucket=bucket, Key="big", Range="bytes=10000000-10000099")
    assert middle["Body"].read() == body[10000000:10000100]


def test_request_id_headers(gateway, obj):
    response = send("HEAD", f"{gateway.url}/{obj[0]}/{obj[1]}")
    assert len(response.headers["x-amz-request-id"]) == 16
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["accept-ranges"] == "bytes"
    missing = httpx.get(f"{gateway.url}/{obj[0]}/{obj[1]}")
    assert missing.status_code == 403
    assert b"<Code>AccessDenied</Code>" in missing.content


def test_object_tagging_is_an_empty_set(s3, bucket):
    s3.put_object(Bucket=bucket, Key="tagged", Body=b"x")
    assert s3.get_object_tagging(Bucket=bucket, Key="tagged")["TagSet"] == []
    with pytest.raises(ClientError) as missing:
        s3.get_object_tagging(Bucket=bucket, Key="nope")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


# -- conditional requests on the wire (RFC 9110 §13.2.2, the GetObject page's exceptions) ----


def _url(gateway, obj) -> str:
    return f"{gateway.url}/{obj[0]}/{obj[1]}"


def _error(response: httpx.Response) -> dict[str, str]:
    from xml.etree import ElementTree

    return {child.tag: child.text or "" for child in ElementTree.fromstring(response.content)}


@pytest.mark.parametrize(
    ("headers", "condition"),
    [
        pytest.param({"If-Match": '"nope"'}, "If-Match", id="if-match"),
        pytest.param(
            {"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
            "If-Unmodified-Since",
            id="if-unmodified-since",
        ),
        # 412 wins over 304 whatever the order of the headers.
        pytest.param({"If-None-Match": "*", "If-Match": '"nope"'}, "If-Match", id="412-before-304"),
    ],
)
def test_412_names_the_condition(gateway, obj, headers, condition):
    got = send("GET", _url(gateway, obj), headers=headers)
    assert got.status_code == 412
    error = _error(got)
    assert error["Code"] == "PreconditionFailed"
    assert error["Message"] == "At least one of the pre-conditions you specified did not hold"
    assert error["Condition"] == condition
    head = send("HEAD", _url(gateway, obj), headers=headers)
    assert head.status_code == 412
    assert head.content == b""


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"If-None-Match": "ETAG"}, id="if-none-match"),
        pytest.param({"If-None-Match": "*"}, id="if-none-match-star"),
        pytest.param({"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}, id="ims"),
        # If-None-Match false and If-Modified-Since true: 304 (the GetObject page).
        pytest.param(
            {"If-None-Match": "ETAG", "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
            id="inm-false-ims-true",
        ),
    ],
)
def test_304_carries_the_validators_and_no_body(s3, gateway, obj, method, headers):
    head = s3.head_object(Bucket=obj[0], Key=obj[1])
    headers = {k: v.replace("ETAG", head["ETag"]) for k, v in headers.items()}
    got = send(method, _url(gateway, obj), headers=headers)
    assert got.status_code == 304
    assert got.content == b""
    assert got.headers["ETag"] == head["ETag"]
    assert got.headers["Last-Modified"] == head["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    assert "Content-Type" not in got.headers
    assert got.headers.get("Content-Length", "0") == "0"  # never the object's length


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_304_carries_cache_control_and_expires(s3, gateway, bucket, method):
    """RFC 9110 §15.4.5: the Cache-Control and Expires a 200 would carry (the stored ones, or
    the response-* overrides of the same request); no other representation metadata."""
    expires = "Thu, 01 Jan 2099 00:00:00 GMT"
    s3.put_object(
        Bucket=bucket,
        Key="cached",
        Body=b"x",
        CacheControl="max-age=3600, public",
        Expires=datetime(2099, 1, 1, tzinfo=UTC),
        ContentType="text/plain",
        ContentLanguage="en",
    )
    url = _url(gateway, (bucket, "cached"))
    etag = s3.head_object(Bucket=bucket, Key="cached")["ETag"]
    got = send(method, url, headers={"If-None-Match": etag})
    assert got.status_code == 304
    assert got.headers["Cache-Control"] == "max-age=3600, public"
    assert got.headers["Expires"] == expires
    assert got.headers["ETag"] == etag
    assert "Content-Type" not in got.headers
    assert "Content-Language" not in got.headers
    overridden = send(
        method,
        url + "?response-cache-control=no-cache&response-expires=0",
        headers={"If-None-Match": etag},
    )
    assert overridden.status_code == 304
    assert (overridden.headers["Cache-Control"], overridden.headers["Expires"]) == (
        "no-cache",
        "0",
    )


def test_304_of_an_object_without_caching_headers_has_none(gateway, obj):
    got = send(
        "GET", _url(gateway, obj), headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}
    )
    assert got.status_code == 304
    assert "Cache-Control" not in got.headers
    assert "Expires" not in got.headers


def test_boto3_sees_the_304_validators(s3, obj):
    etag = s3.head_object(Bucket=obj[0], Key=obj[1])["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=obj[0], Key=obj[1], IfNoneMatch=etag)
    assert status(exc) == 304
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["etag"] == etag


@pytest.mark.parametrize(
    "header", ["If-Modified-Since", "If-Unmodified-Since"], ids=lambda header: header
)
@pytest.mark.parametrize("value", ["yesterday", "2001-01-01", "Mon, 99 Foo 2001 00:00:00 GMT"])
def test_an_invalid_date_is_ignored(gateway, obj, header, value):
    """RFC 9110 §13.1.3 / §13.1.4: a value that is no HTTP-date is ignored."""
    got = send("GET", _url(gateway, obj), headers={header: value})
    assert got.status_code == 200
    assert got.content == BODY


def test_if_match_true_and_unmodified_since_false_serves_the_range(gateway, s3, obj):
    etag = s3.head_object(Bucket=obj[0], Key=obj[1])["ETag"]
    got = send(
        "GET",
        _url(gateway, obj),
        headers={
            "If-Match": etag,
            "If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT",
            "Range": "bytes=0-9",
        },
    )
    assert got.status_code == 206
    assert got.content == BODY[:10]


def test_a_failed_condition_wins_over_an_unsatisfiable_range(gateway, obj):
    got = send("GET", _url(gateway, obj), headers={"If-Match": '"nope"', "Range": "bytes=99999-"})
    assert got.status_code == 412
    assert _error(got)["Code"] == "PreconditionFailed"


def test_conditions_with_aws_cli(aws_env, s3, obj, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    etag = s3.head_object(Bucket=obj[0], Key=obj[1])["ETag"]
    out = tmp_path / "out.bin"
    aws = str(Path(sys.executable).with_name("aws"))
    base = [aws, "s3api", "get-object", "--bucket", obj[0], "--key", obj[1]]
    ok = subprocess.run([*base, "--if-match", etag, str(out)], env=aws_env, capture_output=True)
    assert ok.returncode == 0, ok.stderr
    assert out.read_bytes() == BODY
    failed = subprocess.run(
        [*base, "--if-match", '"nope"', str(out)], env=aws_env, capture_output=True, text=True
    )
    assert failed.returncode != 0
    assert "PreconditionFailed" in failed.stderr
