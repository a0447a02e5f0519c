"""GetCallerIdentity without a network: requests signed by botocore exactly as its STS client
signs them (service ``sts``, the form body hashed, no ``x-amz-content-sha256``)."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.fernet import Fernet

from gateway.auth.keyring import Keyring
from gateway.auth.sealing import Sealer
from gateway.auth.sigv4 import SignedRequest
from gateway.domain.values import Principal
from gateway.sts.caller_identity import (
    CallerIdentity,
    authenticate,
    identity_of,
    response,
)
from gateway.sts.web_identity import NAMESPACE, StsError

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
BOB = Principal("bob", "bearer", subject="sub-bob", roles=frozenset({"artifact-writer"}))


class NoKeys:
    async def get_access_key(self, access_key_id: str) -> None:
        return None


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(("root", "secret"), Sealer([Fernet.generate_key()]), NoKeys())


def signed(key: str, secret: str, token: str | None = None) -> SignedRequest:
    request = AWSRequest(
        method="POST",
        url="http://store.test:9000/",
        data=BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key, secret, token), "sts", "us-east-1").add_auth(request)
    headers = [(name, str(value)) for name, value in request.headers.items()]
    return SignedRequest("POST", "/", "", [("host", "store.test:9000"), *headers])


def caller(request: SignedRequest, keyring: Keyring, body: bytes = BODY) -> Principal:
    return asyncio.run(authenticate(request, body, keyring, 900))


def refusal(request: SignedRequest, keyring: Keyring, body: bytes = BODY) -> StsError:
    with pytest.raises(StsError) as exc:
        caller(request, keyring, body)
    return exc.value


def test_botocore_signed_root_request_is_the_account_root(keyring):
    principal = caller(signed("root", "secret"), keyring)
    assert identity_of(principal) == CallerIdentity(
        "arn:aws:iam::000000000000:root", "000000000000", "000000000000"
    )


def test_a_session_is_the_role_it_assumed(keyring):
    arn = "arn:aws:sts::123456789012:assumed-role/ci-deployer/build-42"
    key = keyring.issue_session(BOB, 900, session_arn=arn)
    principal = caller(signed(key.access_key, key.secret, key.token), keyring)
    assert principal.name == "bob"
    assert identity_of(principal) == CallerIdentity(arn, "ci-deployer:build-42", "123456789012")


def test_a_session_without_a_role_is_a_federated_user(keyring):
    key = keyring.issue_session(BOB, 900)  # a presigned URL's session
    identity = identity_of(caller(signed(key.access_key, key.secret, key.token), keyring))
    assert identity.arn == "arn:aws:sts::000000000000:federated-user/bob"


def test_an_access_key_is_its_owner():
    principal = Principal("bob", "access-key", access_key="AKIAX", subject="sub-bob")
    assert identity_of(principal) == CallerIdentity(
        "arn:aws:iam::000000000000:user/bob", "sub-bob", "000000000000"
    )


def test_a_changed_body_does_not_verify(keyring):
    error = refusal(signed("root", "secret"), keyring, BODY + b"&Extra=1")
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


@pytest.mark.parametrize(
    ("key", "secret", "code", "status"),
    [
        ("root", "wrong", "SignatureDoesNotMatch", 403),
        ("AKIANOSUCHKEY", "secret", "InvalidClientTokenId", 403),
    ],
)
def test_bad_keys_are_refused(keyring, key, secret, code, status):
    error = refusal(signed(key, secret), keyring)
    assert (error.code, error.status) == (code, status)


def test_expired_and_foreign_session_tokens_are_refused(keyring):
    key = keyring.issue_session(BOB, 900)
    other = Keyring(("root", "secret"), Sealer([Fernet.generate_key()]), NoKeys())
    foreign = other.issue_session(BOB, 900)
    error = refusal(signed(foreign.access_key, foreign.secret, foreign.token), keyring)
    assert (error.code, error.status) == ("InvalidClientTokenId", 403)
    expired = keyring.sealer.seal(
        {"ak": key.access_key, "sk": key.secret, "exp": time.time() - 1, "name": "bob"}
    )
    error = refusal(signed(key.access_key, key.secret, expired), keyring)
    assert (error.code, error.status) == ("ExpiredToken", 403)


def test_anonymous_and_non_sigv4_requests_are_refused(keyring):
    anonymous = SignedRequest("POST", "/", "", [("host", "store.test")])
    error = refusal(anonymous, keyring)
    assert (error.code, error.status) == ("MissingAuthenticationToken", 403)
    bearer = SignedRequest("POST", "/", "", [("host", "store.test"), ("Authorization", "Bearer t")])
    error = refusal(bearer, keyring)
    assert (error.code, error.status) == ("IncompleteSignature", 400)


def test_the_response_document():
    identity = CallerIdentity("arn:aws:iam::000000000000:user/bob", "sub-bob", "000000000000")
    document = ET.fromstring(response(identity, "RID"))
    ns = f"{{{NAMESPACE}}}"
    assert document.tag == f"{ns}GetCallerIdentityResponse"
    result = document.find(f"{ns}GetCallerIdentityResult")
    assert result is not None
    assert [(child.tag.removeprefix(ns), child.text) for child in result] == [
        ("Arn", identity.arn),
        ("UserId", "sub-bob"),
        ("Account", "000000000000"),
    ]
    assert document.findtext(f"{ns}ResponseMetadata/{ns}RequestId") == "RID"
