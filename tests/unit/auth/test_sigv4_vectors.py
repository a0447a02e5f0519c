"""AWS's published S3 SigV4 examples, checked step by step.

Header examples: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
Presigned example: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
All use AKIAIOSFODNN7EXAMPLE, 20130524T000000Z, us-east-1 and examplebucket (virtual-hosted).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from gateway.auth import canonical
from gateway.auth.errors import AuthError
from gateway.auth.sigv4 import SignedRequest, is_sigv4, signing_key
from tests.unit.auth.sigv4_support import (
    ACCESS_KEY,
    EMPTY_SHA256,
    SECRET,
    check,
    refused,
    with_header,
)

NOW = datetime(2013, 5, 24, tzinfo=UTC)
HOST = "examplebucket.s3.amazonaws.com"
SCOPE = "20130524/us-east-1/s3/aws4_request"
PUT_BODY_SHA256 = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"


@dataclass(frozen=True)
class Vector:
    name: str
    method: str
    raw_path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    signed_headers: str
    canonical_request: str
    string_to_sign_hash: str
    signature: str

    def request(self, signature: str | None = None) -> SignedRequest:
        sig = self.signature if signature is None else signature
        auth = (
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{SCOPE},"
            f"SignedHeaders={self.signed_headers},Signature={sig}"
        )
        return SignedRequest(
            self.method, self.raw_path, self.query, (*self.headers, ("Authorization", auth))
        )

    @property
    def string_to_sign(self) -> str:
        return f"AWS4-HMAC-SHA256\n20130524T000000Z\n{SCOPE}\n{self.string_to_sign_hash}"


GET_OBJECT = Vector(
    name="get-object-range",
    method="GET",
    raw_path="/test.txt",
    query="",
    headers=(
        ("Host", HOST),
        ("Range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("x-amz-date", "20130524T000000Z"),
    ),
    signed_headers="host;range;x-amz-content-sha256;x-amz-date",
    canonical_request=(
        "GET\n/test.txt\n\n"
        f"host:{HOST}\nrange:bytes=0-9\nx-amz-content-sha256:{EMPTY_SHA256}\n"
        "x-amz-date:20130524T000000Z\n\n"
        f"host;range;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}"
    ),
    string_to_sign_hash="7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
    signature="f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
)

PUT_OBJECT = Vector(
    name="put-object",
    method="PUT",
    # The page shows the key unencoded ("test$file.text"); its canonical URI is /test%24file.text.
    raw_path="/test$file.text",
    query="",
    headers=(
        ("Host", HOST),
        ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("x-amz-content-sha256", PUT_BODY_SHA256),
    ),
    signed_headers="date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
    canonical_request=(
        "PUT\n/test%24file.text\n\n"
        f"date:Fri, 24 May 2013 00:00:00 GMT\nhost:{HOST}\n"
        f"x-amz-content-sha256:{PUT_BODY_SHA256}\nx-amz-date:20130524T000000Z\n"
        "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
        f"date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n{PUT_BODY_SHA256}"
    ),
    string_to_sign_hash="9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
    signature="98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
)

_BUCKET_HEADERS = (
    ("Host", HOST),
    ("x-amz-date", "20130524T000000Z"),
    ("x-amz-content-sha256", EMPTY_SHA256),
)
_BUCKET_CANONICAL_TAIL = (
    f"host:{HOST}\nx-amz-content-sha256:{EMPTY_SHA256}\nx-amz-date:20130524T000000Z\n\n"
    f"host;x-amz-content-sha256;x-amz-date\n{EMPTY_SHA256}"
)

GET_LIFECYCLE = Vector(
    name="get-bucket-lifecycle",
    method="GET",
    raw_path="/",
    query="lifecycle",
    headers=_BUCKET_HEADERS,
    signed_headers="host;x-amz-content-sha256;x-amz-date",
    canonical_request="GET\n/\nlifecycle=\n" + _BUCKET_CANONICAL_TAIL,
    string_to_sign_hash="9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
    signature="fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
)

LIST_OBJECTS = Vector(
    name="get-bucket-list-objects",
    method="GET",
    raw_path="/",
    query="max-keys=2&prefix=J",
    headers=_BUCKET_HEADERS,
    signed_headers="host;x-amz-content-sha256;x-amz-date",
    canonical_request="GET\n/\nmax-keys=2&prefix=J\n" + _BUCKET_CANONICAL_TAIL,
    string_to_sign_hash="df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
    signature="34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
)

HEADER_VECTORS = [GET_OBJECT, PUT_OBJECT, GET_LIFECYCLE, LIST_OBJECTS]
_ids = [v.name for v in HEADER_VECTORS]

PRESIGN_QUERY_UNSIGNED = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={ACCESS_KEY}%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
)
PRESIGN_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
PRESIGN_CANONICAL = (
    f"GET\n/test.txt\n{PRESIGN_QUERY_UNSIGNED}\nhost:{HOST}\n\nhost\nUNSIGNED-PAYLOAD"
)
PRESIGN_STS_HASH = "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"


def presigned(query: str = PRESIGN_QUERY_UNSIGNED, signature: str = PRESIGN_SIGNATURE):
    return SignedRequest(
        "GET", "/test.txt", f"{query}&X-Amz-Signature={signature}", (("Host", HOST),)
    )


def _flip_hex(sig: str) -> str:
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


def test_put_example_payload_hash_is_the_body_hash():
    assert hashlib.sha256(b"Welcome to Amazon S3.").hexdigest() == PUT_BODY_SHA256


@pytest.mark.parametrize("vector", HEADER_VECTORS, ids=_ids)
def test_canonical_request_and_string_to_sign_match_published(vector: Vector):
    creq = canonical.canonical_request(
        method=vector.method,
        raw_path=vector.raw_path,
        query_string=vector.query,
        headers=vector.headers,
        signed_headers=vector.signed_headers.split(";"),
        payload_hash=dict((k.lower(), v) for k, v in vector.headers)["x-amz-content-sha256"],
        presigned=False,
    )
    assert creq == vector.canonical_request
    assert hashlib.sha256(creq.encode()).hexdigest() == vector.string_to_sign_hash
    sts = canonical.string_to_sign("20130524T000000Z", SCOPE, creq)
    assert sts == vector.string_to_sign


@pytest.mark.parametrize("vector", HEADER_VECTORS, ids=_ids)
def test_server_reports_published_intermediates_on_mismatch(vector: Vector):
    err = refused(vector.request(signature="0" * 64), NOW, "SignatureDoesNotMatch")
    assert err.details["CanonicalRequest"] == vector.canonical_request
    assert err.details["StringToSign"] == vector.string_to_sign
    assert err.details["SignatureProvided"] == "0" * 64
    assert err.details["AWSAccessKeyId"] == ACCESS_KEY


@pytest.mark.parametrize("vector", HEADER_VECTORS, ids=_ids)
def test_published_request_is_accepted(vector: Vector):
    req = vector.request()
    assert is_sigv4(req)
    cred = check(req, NOW)
    assert cred.access_key == ACCESS_KEY
    assert cred.signature == vector.signature
    assert (cred.date, cred.region, cred.service) == ("20130524", "us-east-1", "s3")
    assert cred.amz_date == NOW
    assert cred.signed_headers == tuple(vector.signed_headers.split(";"))
    assert cred.presigned is False
    assert cred.signing_key == signing_key(SECRET, "20130524", "us-east-1", "s3")
    # The key is the published signature's key: re-sign the string to sign with it.
    resigned = hmac.new(cred.signing_key, vector.string_to_sign.encode(), hashlib.sha256)
    assert resigned.hexdigest() == vector.signature


def _one_char_changes(vector: Vector) -> list[tuple[str, SignedRequest]]:
    base = vector.request()
    changes = [
        ("signature", vector.request(signature=_flip_hex(vector.signature))),
        ("host", with_header(base, "Host", HOST.replace("examplebucket", "examplebucker"))),
        ("method", replace(base, method="PUT" if vector.method == "GET" else "GET")),
    ]
    path = vector.raw_path
    changes.append(("path", replace(base, raw_path=path[:-1] + "x" if path != "/" else "/x")))
    if vector.query:
        changes.append(("query", replace(base, query_string=vector.query[:-1] + "K")))
    else:
        changes.append(("query", replace(base, query_string="a")))
    if vector is GET_OBJECT:
        changes.append(("range", with_header(base, "Range", "bytes=0-8")))
    if vector is PUT_OBJECT:
        changes.append(("storage", with_header(base, "x-amz-storage-class", "REDUCED_REDUNDANCZ")))
        changes.append(("date", with_header(base, "Date", "Fri, 24 May 2013 00:00:01 GMT")))
        changes.append(
            ("payload", with_header(base, "x-amz-content-sha256", "5" + PUT_BODY_SHA256[1:]))
        )
    return changes


@pytest.mark.parametrize("vector", HEADER_VECTORS, ids=_ids)
def test_one_character_change_is_refused(vector: Vector):
    changes = _one_char_changes(vector)
    assert len(changes) >= 5
    for what, req in changes:
        with pytest.raises(AuthError) as caught:
            check(req, NOW)
        assert caught.value.code == "SignatureDoesNotMatch", what


def test_put_example_verifies_with_the_key_encoded_on_the_wire():
    req = replace(PUT_OBJECT.request(), raw_path="/test%24file.text")
    assert check(req, NOW).signature == PUT_OBJECT.signature


# --- presigned URL example ---------------------------------------------------------------


def test_presigned_canonical_request_matches_published():
    creq = canonical.canonical_request(
        method="GET",
        raw_path="/test.txt",
        query_string=presigned().query_string,
        headers=(("Host", HOST),),
        signed_headers=["host"],
        payload_hash="UNSIGNED-PAYLOAD",
        presigned=True,
    )
    assert creq == PRESIGN_CANONICAL
    assert hashlib.sha256(creq.encode()).hexdigest() == PRESIGN_STS_HASH


def test_presigned_server_reports_published_intermediates():
    err = refused(presigned(signature="0" * 64), NOW, "SignatureDoesNotMatch")
    assert err.details["CanonicalRequest"] == PRESIGN_CANONICAL
    assert err.details["StringToSign"] == (
        f"AWS4-HMAC-SHA256\n20130524T000000Z\n{SCOPE}\n{PRESIGN_STS_HASH}"
    )


def test_presigned_example_is_accepted_until_it_expires():
    req = presigned()
    assert is_sigv4(req)
    for offset in (0, 1, 3600, 86400):
        cred = check(req, NOW + timedelta(seconds=offset))
        assert cred.presigned is True
        assert cred.payload_hash == "UNSIGNED-PAYLOAD"
        assert cred.signature == PRESIGN_SIGNATURE
        assert cred.signed_headers == ("host",)
    err = refused(req, NOW + timedelta(seconds=86401), "AccessDenied")
    assert err.message == "Request has expired"


@pytest.mark.parametrize(
    "change",
    [
        lambda q, s: (q, _flip_hex(s)),
        lambda q, s: (q.replace("86400", "86401"), s),
        lambda q, s: (q.replace("T000000Z", "T000001Z"), s),
        lambda q, s: (q.replace("us-east-1", "us-east-2"), s),
        lambda q, s: (q + "&x", s),
    ],
    ids=["signature", "expires", "date", "region", "extra-param"],
)
def test_presigned_one_character_change_is_refused(change):
    query, signature = change(PRESIGN_QUERY_UNSIGNED, PRESIGN_SIGNATURE)
    refused(presigned(query, signature), NOW + timedelta(seconds=5), "SignatureDoesNotMatch")


def test_presigned_path_or_host_change_is_refused():
    base = presigned()
    refused(replace(base, raw_path="/test.txu"), NOW, "SignatureDoesNotMatch")
    refused(
        with_header(base, "Host", "examplebucket.s3.amazonaws.con"), NOW, "SignatureDoesNotMatch"
    )
