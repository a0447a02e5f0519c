"""SigV4 verification: every error code, the parsing AWS tolerates, and the canonical forms."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth import canonical
from gateway.auth.errors import AuthError
from gateway.auth.sigv4 import SignedRequest, is_sigv4, parse_expires, signing_key, verify
from tests.unit.auth.sigv4_support import (
    ACCESS_KEY,
    EMPTY_SHA256,
    SECRET,
    botocore_signed,
    check,
    refused,
    run,
    with_header,
)
from tests.unit.auth.test_sigv4_vectors import GET_OBJECT, NOW, PUT_OBJECT, presigned

WHEN = datetime(2024, 3, 5, 12, 34, 56, tzinfo=UTC)
URL = "http://localhost:9000/bucket/some%20key"


def header_auth(**parts: str) -> str:
    """A GET_OBJECT Authorization header with some components replaced or dropped ("")."""
    fields = {
        "Credential": f"{ACCESS_KEY}/20130524/us-east-1/s3/aws4_request",
        "SignedHeaders": GET_OBJECT.signed_headers,
        "Signature": GET_OBJECT.signature,
    } | parts
    return "AWS4-HMAC-SHA256 " + ", ".join(f"{k}={v}" for k, v in fields.items() if v)


def get_object(authorization: str) -> SignedRequest:
    return with_header(GET_OBJECT.request(), "Authorization", authorization)


# --- is_sigv4 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ((("Authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request"),), "", True),
        ((("authorization", "AWS4-HMAC-SHA256 x"),), "", True),
        ((("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:c2lnbmF0dXJl"),), "", False),
        ((("Authorization", "AWS4-HMAC-SHA2567 x"),), "", False),
        ((), "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a", True),
        ((), "X-Amz-Algorithm=AWS4-HMAC-SHA1", False),
        ((), "AWSAccessKeyId=a&Signature=b&Expires=1", False),
        ((), "", False),
    ],
)
def test_is_sigv4(headers, query, expected):
    assert is_sigv4(SignedRequest("GET", "/", query, headers)) is expected


# --- one test per error code -----------------------------------------------------------------


def test_unknown_access_key_is_invalid_access_key_id():
    req = get_object(header_auth(Credential="AKIDNOBODY/20130524/us-east-1/s3/aws4_request"))
    err = refused(req, NOW, "InvalidAccessKeyId")
    assert err.details["AWSAccessKeyId"] == "AKIDNOBODY"


def test_wrong_secret_is_signature_does_not_match():
    async def other_secret(access_key: str) -> str | None:
        return SECRET[:-1] + "x"

    req = botocore_signed("GET", URL, [], when=WHEN)
    with pytest.raises(AuthError) as caught:
        run(verify(req, other_secret, WHEN))
    err = caught.value
    assert err.code == "SignatureDoesNotMatch"
    assert set(err.details) >= {
        "StringToSign",
        "CanonicalRequest",
        "SignatureProvided",
        "AWSAccessKeyId",
    }


def test_bad_signature_is_signature_does_not_match():
    req = get_object(header_auth(Signature="f" * 64))
    err = refused(req, NOW, "SignatureDoesNotMatch")
    assert err.details["SignatureProvided"] == "f" * 64
    assert err.details["CanonicalRequest"] == GET_OBJECT.canonical_request


@pytest.mark.parametrize(
    # "abc=": a component splits at its first "=" (a SigV2-style base64 value is a mismatch).
    "signature",
    ["F0E8" + GET_OBJECT.signature[4:], "é" * 64, "abc", "ab" * 64, "abc=", "\udc80" * 64],
)
def test_signature_of_wrong_form_is_a_mismatch_not_a_crash(signature):
    refused(get_object(header_auth(Signature=signature)), NOW, "SignatureDoesNotMatch")


@pytest.mark.parametrize("seconds", [901, -901, 86400])
def test_clock_skew_beyond_limit_is_request_time_too_skewed(seconds):
    err = refused(GET_OBJECT.request(), NOW + timedelta(seconds=seconds), "RequestTimeTooSkewed")
    assert err.details["MaxAllowedSkewMilliseconds"] == "900000"
    assert err.details["RequestTime"] == "2013-05-24T00:00:00Z"
    assert err.details["ServerTime"] == (NOW + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.mark.parametrize("seconds", [900, -900])
def test_clock_skew_at_limit_is_accepted(seconds):
    assert check(GET_OBJECT.request(), NOW + timedelta(seconds=seconds))


def test_skew_limit_is_configurable():
    refused(
        GET_OBJECT.request(),
        NOW + timedelta(seconds=61),
        "RequestTimeTooSkewed",
        max_skew_seconds=60,
    )
    assert check(GET_OBJECT.request(), NOW + timedelta(seconds=60), max_skew_seconds=60)


def test_naive_now_is_taken_as_utc():
    assert check(GET_OBJECT.request(), datetime(2013, 5, 24, 0, 5))


def test_expired_presigned_url_is_access_denied():
    err = refused(presigned(), NOW + timedelta(days=1, seconds=1), "AccessDenied")
    assert err.message == "Request has expired"
    assert err.details["X-Amz-Expires"] == "86400"
    assert err.details["Expires"] == "2013-05-25T00:00:00Z"
    assert err.details["ServerTime"] == "2013-05-25T00:00:01Z"


def test_presigned_url_from_the_future_is_request_time_too_skewed():
    refused(presigned(), NOW - timedelta(seconds=901), "RequestTimeTooSkewed")
    assert check(presigned(), NOW - timedelta(seconds=900))


NOT_A_NUMBER = "X-Amz-Expires should be a number"
NEGATIVE = "X-Amz-Expires must be non-negative"
OVER_A_WEEK = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given "
    "X-Amz-Expires must be less than 604800 seconds"
)


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        pytest.param("abc", NOT_A_NUMBER, id="letters"),
        pytest.param("", NOT_A_NUMBER, id="empty"),
        pytest.param("1e3", NOT_A_NUMBER, id="exponent"),
        pytest.param("1.5", NOT_A_NUMBER, id="fraction"),
        pytest.param(" 60", NOT_A_NUMBER, id="space"),
        pytest.param("9" * 20, NOT_A_NUMBER, id="past-64-bits"),
        pytest.param("-1", NEGATIVE, id="minus-one"),
        pytest.param("-604801", NEGATIVE, id="minus-a-week"),
        pytest.param("604801", OVER_A_WEEK, id="a-week-and-a-second"),
        pytest.param("99999999999999", OVER_A_WEEK, id="fourteen-digits"),
    ],
)
def test_presign_expires_out_of_range_is_query_parameters_error(expires, message):
    query = presigned().query_string.replace("X-Amz-Expires=86400", f"X-Amz-Expires={expires}")
    err = refused(
        replace(presigned(), query_string=query), NOW, "AuthorizationQueryParametersError"
    )
    assert err.message == message


@pytest.mark.parametrize("expires", ["0", "-0", "%2B0", "000"])
def test_presign_expires_zero_has_expired_at_once(expires):
    """Zero is a number in range: the URL is valid for no time at all."""
    query = presigned().query_string.replace("X-Amz-Expires=86400", f"X-Amz-Expires={expires}")
    err = refused(
        replace(presigned(), query_string=query), NOW + timedelta(seconds=1), "AccessDenied"
    )
    assert err.message == "Request has expired"
    assert err.details["X-Amz-Expires"] == "0"
    assert err.details["Expires"] == "2013-05-24T00:00:00Z"


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1), st.sampled_from(["", "+", "0"]))
def test_parse_expires_reads_every_64_bit_number(number, lead):
    text = str(number) if number < 0 or lead == "" else lead + str(number)
    assert parse_expires(text) == number


@given(st.text())
def test_parse_expires_is_a_number_or_none(text):
    parsed = parse_expires(text)
    if parsed is not None:
        assert int(text) == parsed
        assert re.fullmatch(r"[+-]?[0-9]+", text)


@pytest.mark.parametrize("expires", [1, 604800])
def test_presign_expires_bounds_are_accepted(expires):
    req = botocore_signed("GET", URL, [], when=WHEN, presign_expires=expires)
    assert check(req, WHEN + timedelta(seconds=expires)).presigned
    refused(req, WHEN + timedelta(seconds=expires + 1), "AccessDenied")


def test_unsigned_amz_header_is_access_denied():
    req = with_header(GET_OBJECT.request(), "X-Amz-Meta-Owner", "mallory")
    err = refused(req, NOW, "AccessDenied")
    assert err.message == "There were headers present in the request which were not signed"
    assert err.details["HeadersNotSigned"] == "x-amz-meta-owner"


def test_every_unsigned_amz_header_is_named_in_order():
    req = with_header(GET_OBJECT.request(), "X-Amz-Meta-Owner", "mallory")
    req = with_header(req, "x-amz-acl", "public-read")
    err = refused(req, NOW, "AccessDenied")
    assert err.details["HeadersNotSigned"] == "x-amz-acl, x-amz-meta-owner"


def test_unsigned_amz_header_on_presigned_url_is_access_denied():
    req = with_header(presigned(), "x-amz-acl", "public-read")
    err = refused(req, NOW, "AccessDenied")
    assert err.details["HeadersNotSigned"] == "x-amz-acl"


def test_host_must_be_signed():
    auth = header_auth(SignedHeaders="range;x-amz-content-sha256;x-amz-date")
    err = refused(get_object(auth), NOW, "AccessDenied")
    assert err.details["HeadersNotSigned"] == "host"


def test_unsigned_non_amz_header_is_allowed():
    req = with_header(GET_OBJECT.request(), "User-Agent", "curl/8")
    assert check(req, NOW)


def test_missing_content_sha256_is_invalid_request():
    req = with_header(GET_OBJECT.request(), "x-amz-content-sha256", None)
    err = refused(req, NOW, "InvalidRequest")
    assert err.message == "Missing required header for this request: x-amz-content-sha256"


@pytest.mark.parametrize("value", ["abc", "e3b0" * 15, "UNSIGNED", EMPTY_SHA256 + "0"])
def test_content_sha256_of_unknown_form_is_invalid_argument(value):
    req = with_header(GET_OBJECT.request(), "x-amz-content-sha256", value)
    err = refused(req, NOW, "InvalidArgument")
    assert err.details == {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value}


@pytest.mark.parametrize(
    "authorization",
    [
        header_auth(Signature=""),
        header_auth(Credential=""),
        header_auth(SignedHeaders=""),
        header_auth() + ", Foo=bar",
        header_auth(Signature="") + ", Foo=bar",  # three components, one of them unknown
        header_auth(Signature="") + ", Signature=",  # present but empty
        header_auth() + ", Signature=" + GET_OBJECT.signature,
        header_auth() + ", Credential",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        header_auth(Credential=f"{ACCESS_KEY}/20130524/us-east-1/s3"),
        header_auth(Credential=f"{ACCESS_KEY}/20130524/us-east-1/s3/aws4_request/x"),
        header_auth(Credential=f"{ACCESS_KEY}//us-east-1/s3/aws4_request"),
        header_auth(Credential=f"{ACCESS_KEY}/2013-05-24/us-east-1/s3/aws4_request"),
        header_auth(Credential=f"{ACCESS_KEY}/20130525/us-east-1/s3/aws4_request"),
        header_auth(Credential=f"{ACCESS_KEY}/20130524/us-east-1/ec2/aws4_request"),
        header_auth(Credential=f"{ACCESS_KEY}/20130524/us-east-1/s3/aws4_reques"),
        header_auth(SignedHeaders="Host;range;x-amz-content-sha256;x-amz-date"),
        header_auth(SignedHeaders="host;;range;x-amz-content-sha256;x-amz-date"),
    ],
)
def test_malformed_authorization_is_authorization_header_malformed(authorization):
    refused(get_object(authorization), NOW, "AuthorizationHeaderMalformed")


def test_a_scope_date_not_of_eight_digits_is_a_malformed_credential():
    auth = header_auth(Credential=f"{ACCESS_KEY}/2013524/us-east-1/s3/aws4_request")
    err = refused(get_object(auth), NOW, "AuthorizationHeaderMalformed")
    assert "the Credential is mal-formed" in err.message


def test_other_authorization_scheme_is_invalid_argument():
    refused(
        get_object("AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="), NOW, "InvalidArgument"
    )
    err = refused(get_object("AWS4-HMAC-SHA512 Credential=x"), NOW, "InvalidArgument")
    assert (err.message, err.details) == (
        "Unsupported Authorization Type",
        {"ArgumentName": "Authorization"},
    )


@pytest.mark.parametrize(
    "date",
    [
        "Fri, 24 May 2013 00:00:00 GMT",
        "Fri, 24 May 2013 00:00:00 -0000",  # no zone: UTC
        "Fri, 24 May 2013 02:00:00 +0200",  # another zone: the same moment
        "Thu, 23 May 2013 19:00:00 EST",
    ],
)
def test_http_date_is_read_as_a_utc_moment(date):
    parsed = canonical.parse_http_date(date)
    assert parsed == NOW
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Signature={sig},Credential={cred},SignedHeaders={sh}",
        "AWS4-HMAC-SHA256 SignedHeaders={sh} , Signature={sig} , Credential={cred}",
        "AWS4-HMAC-SHA256  Credential={cred}  SignedHeaders={sh}  Signature={sig}",
        "AWS4-HMAC-SHA256 Credential={cred},\n SignedHeaders={sh},\n Signature={sig},",
    ],
)
def test_authorization_components_in_any_order_and_spacing(authorization):
    value = authorization.format(
        sig=GET_OBJECT.signature,
        cred=f"{ACCESS_KEY}/20130524/us-east-1/s3/aws4_request",
        sh=GET_OBJECT.signed_headers,
    )
    assert check(get_object(value), NOW).signature == GET_OBJECT.signature


def test_missing_or_invalid_date_is_access_denied():
    refused(with_header(GET_OBJECT.request(), "x-amz-date", None), NOW, "AccessDenied")
    for bad in ("2013-05-24T00:00:00Z", "20130524T000000", "20131324T000000Z", "20130524T250000Z"):
        refused(with_header(GET_OBJECT.request(), "x-amz-date", bad), NOW, "AccessDenied")


def test_date_header_alone_can_carry_the_time():
    """Signed by hand from the spec (no x-amz-date), independent of the code under test."""
    date = "Fri, 24 May 2013 00:00:00 GMT"
    creq = (
        f"GET\n/test.txt\n\ndate:{date}\nhost:{GET_OBJECT.headers[0][1]}\n"
        f"x-amz-content-sha256:{EMPTY_SHA256}\n\ndate;host;x-amz-content-sha256\n{EMPTY_SHA256}"
    )
    sts = (
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        + hashlib.sha256(creq.encode()).hexdigest()
    )
    key = ("AWS4" + SECRET).encode()
    for part in ("20130524", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    auth = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders=date;host;x-amz-content-sha256, Signature={sig}"
    )
    headers = (
        ("Host", GET_OBJECT.headers[0][1]),
        ("Date", date),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("Authorization", auth),
    )
    cred = check(SignedRequest("GET", "/test.txt", "", headers), NOW)
    assert cred.amz_date == NOW
    assert cred.signing_key == key


def test_both_header_and_query_auth_is_invalid_argument():
    req = with_header(presigned(), "Authorization", header_auth())
    err = refused(req, NOW, "InvalidArgument")
    assert err.details["ArgumentName"] == "Authorization"


def test_no_credentials_at_all_is_access_denied():
    refused(SignedRequest("GET", "/b/k", "", (("Host", "h"),)), NOW, "AccessDenied")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256&", ""),
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
        ("&X-Amz-SignedHeaders=host", ""),
        ("&X-Amz-Expires=86400", ""),
        ("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130524"),
        ("X-Amz-Date=20130524T000000Z", "X-Amz-Date=20130524T000000Z&X-Amz-Date=20130524T000000Z"),
        ("%2Fs3%2F", "%2Fec2%2F"),
        ("%2Faws4_request", "%2Faws4"),
        ("%2F20130524%2F", "%2F20130523%2F"),
        ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=Host"),
    ],
)
def test_bad_presign_parameters_are_query_parameters_error(old, new):
    query = presigned().query_string.replace(old, new, 1)
    assert query != presigned().query_string
    refused(replace(presigned(), query_string=query), NOW, "AuthorizationQueryParametersError")


def test_presign_missing_signature_is_query_parameters_error():
    query = presigned().query_string.split("&X-Amz-Signature=")[0]
    refused(replace(presigned(), query_string=query), NOW, "AuthorizationQueryParametersError")


def test_presign_repeated_signature_is_query_parameters_error():
    req = presigned()
    query = req.query_string + "&X-Amz-Signature=" + "0" * 64
    refused(replace(req, query_string=query), NOW, "AuthorizationQueryParametersError")


def test_presigned_payload_hash_comes_from_a_signed_header():
    body_hash = hashlib.sha256(b"data").hexdigest()
    req = botocore_signed(
        "PUT", URL, [("X-Amz-Content-SHA256", body_hash)], when=WHEN, presign_expires=60
    )
    assert "x-amz-content-sha256" in req.query_string
    cred = check(req, WHEN)
    assert cred.payload_hash == body_hash
    assert "x-amz-content-sha256" in cred.signed_headers
    refused(with_header(req, "X-Amz-Content-SHA256", EMPTY_SHA256), WHEN, "SignatureDoesNotMatch")


@pytest.mark.parametrize("service", ["s3", "sts"])
def test_s3_and_sts_scopes_are_accepted(service):
    # Generic SigV4 (not S3) double-encodes paths, so use "/" as STS requests do.
    url = "http://localhost:9000/"
    request = AWSRequest(method="GET", url=url, headers={"X-Amz-Content-SHA256": EMPTY_SHA256})
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET), service, "eu-west-1").add_auth(request)
    headers = (*request.headers.items(), ("Host", "localhost:9000"))
    cred = check(SignedRequest("GET", "/", "", headers), WHEN)
    assert (cred.service, cred.region) == (service, "eu-west-1")


def test_a_body_hash_given_by_the_caller_is_what_the_signature_covers():
    """The STS query API: botocore's generic signer sends no x-amz-content-sha256 and signs
    the body's hash, which the caller (having read the body) passes as ``body_sha256``."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method="POST", url="http://localhost:9000/", data=body)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        SigV4Auth(Credentials(ACCESS_KEY, SECRET), "sts", "us-east-1").add_auth(request)
    headers = (*request.headers.items(), ("Host", "localhost:9000"))
    req = SignedRequest("POST", "/", "", headers)
    digest = hashlib.sha256(body).hexdigest()
    assert check(req, WHEN, body_sha256=digest).payload_hash == digest
    refused(req, WHEN, "SignatureDoesNotMatch", body_sha256=hashlib.sha256(b"other").hexdigest())
    refused(req, WHEN, "InvalidRequest")  # without it, the payload hash is missing


def test_any_region_is_accepted():
    for region in ("us-east-1", "auto", "garage", "x"):
        req = botocore_signed("GET", URL, [], when=WHEN, region=region)
        assert check(req, WHEN).region == region


def test_signed_header_that_is_absent_is_a_mismatch():
    req = with_header(GET_OBJECT.request(), "Range", None)
    err = refused(req, NOW, "SignatureDoesNotMatch")
    assert "\nrange:\n" in err.details["CanonicalRequest"]


def test_repeated_headers_are_joined_with_commas():
    req = botocore_signed(
        "GET", URL, [("X-Amz-Meta-Tag", "a"), ("x-amz-meta-tag", "  b   c ")], when=WHEN
    )
    assert [v for n, v in req.headers if n.lower() == "x-amz-meta-tag"] == ["a", "b   c"]
    assert check(req, WHEN)
    swapped = [(n, {"a": "b   c", "b   c": "a"}.get(v, v)) for n, v in req.headers]
    refused(replace(req, headers=tuple(swapped)), WHEN, "SignatureDoesNotMatch")


def test_streaming_payload_marker_is_carried_through():
    req = with_header(
        botocore_signed("PUT", URL, [], when=WHEN, body=b"x"),
        "x-amz-content-sha256",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    )
    err = refused(req, WHEN, "SignatureDoesNotMatch")
    assert err.details["CanonicalRequest"].endswith("\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD")


def test_signing_key_is_cached_and_matches_spec():
    signing_key.cache_clear()
    first = signing_key(SECRET, "20130524", "us-east-1", "s3")
    second = signing_key(SECRET, "20130524", "us-east-1", "s3")
    assert first == second
    assert signing_key.cache_info().hits == 1
    assert signing_key(SECRET, "20130524", "us-east-1", "sts") != first


def test_credential_exposes_what_chunk_signing_needs():
    req = PUT_OBJECT.request()
    cred = check(req, NOW)
    assert cred.payload_hash == PUT_OBJECT.headers[-1][1]
    assert cred.signature == PUT_OBJECT.signature
    assert len(cred.signing_key) == 32


# --- canonical forms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/bucket/my%20key", "/bucket/my%20key"),
        ("/bucket/it's!", "/bucket/it%27s%21"),
        ("/bucket/a(b)*c", "/bucket/a%28b%29%2Ac"),
        ("/bucket/a%2fb", "/bucket/a/b"),  # S3 (like MinIO) does not keep an encoded slash
        ("/bucket/a+b", "/bucket/a%2Bb"),
        ("/bucket/a%2Bb", "/bucket/a%2Bb"),
        ("/bucket//./../k", "/bucket//./../k"),
        ("/bucket/~user-_.x", "/bucket/~user-_.x"),
        ("/bucket/%7Euser", "/bucket/~user"),
        ("/bucket/caf%c3%a9", "/bucket/caf%C3%A9"),
        ("/bucket/caf\xc3\xa9", "/bucket/caf%C3%A9"),  # raw UTF-8 bytes, latin-1 decoded
        ("/bucket/日本", "/bucket/%E6%97%A5%E6%9C%AC"),
        ("/bucket/100%", "/bucket/100%25"),
        ("/bucket/a=b&c", "/bucket/a%3Db%26c"),
    ],
)
def test_canonical_uri(raw, expected):
    assert canonical.canonical_uri(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1&a=10", "a=1&a=10&a=2"),
        ("acl", "acl="),
        ("uploads&prefix=", "prefix=&uploads="),
        ("prefix=a+b", "prefix=a%20b"),
        ("prefix=a%2Bb", "prefix=a%2Bb"),
        ("k=%2f", "k=%2F"),
        ("k=a/b", "k=a%2Fb"),
        ("k=~-_.", "k=~-_."),
        ("k=%7E", "k=~"),
        ("&&a=1&", "a=1"),
        ("a=b=c", "a=b%3Dc"),
        ("k=it's!", "k=it%27s%21"),
        ("B=1&a=1&_=1", "B=1&_=1&a=1"),
        ("k=%E6%97%A5", "k=%E6%97%A5"),
        ("a/b=1", "a%2Fb=1"),  # keys are encoded like values, "/" included
        ("%FF=1", "%FF=1"),  # a key that is not UTF-8 is kept, not an error
    ],
)
def test_canonical_query(raw, expected):
    assert canonical.canonical_query(raw) == expected


def test_canonical_query_excludes_only_the_named_key():
    raw = "X-Amz-Signature=abc&X-Amz-Date=1&x-amz-signature=keep"
    assert (
        canonical.canonical_query(raw, exclude=frozenset({"X-Amz-Signature"}))
        == "X-Amz-Date=1&x-amz-signature=keep"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  a   b  ", "a b"),
        ("a\t\tb", "a b"),
        ("\t", ""),
        ("a, b", "a, b"),
        ('"quoted  value"', '"quoted value"'),
    ],
)
def test_trim_value(value, expected):
    assert canonical.trim_value(value) == expected
