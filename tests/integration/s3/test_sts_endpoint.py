"""``POST /`` answers STS/IAM calls with AWS-style XML errors at once, never a hang or a 500."""

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY, sts_client


@pytest.mark.parametrize(
    ("form", "code", "status"),
    [
        ({"Action": "ListUsers", "Version": "2010-05-08"}, "InvalidAction", 400),
        ({"Action": "DeleteRole", "RoleName": "x"}, "InvalidAction", 400),
        ({"Version": "2011-06-15"}, "MissingAction", 400),
        (
            {"Action": "GetCallerIdentity", "Version": "2011-06-15"},
            "MissingAuthenticationToken",
            403,
        ),
    ],
)
def test_unknown_actions(gateway, form, code, status):
    response = httpx.post(f"{gateway.url}/", data=form, timeout=5)
    assert response.status_code == status
    assert f"<Code>{code}</Code>".encode() in response.content
    assert b"<ErrorResponse" in response.content
    assert response.headers["x-amzn-requestid"]


def test_iam_client_gets_a_clean_error(gateway):
    iam = boto3.client(
        "iam",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    with pytest.raises(ClientError) as exc:
        iam.list_users()
    assert exc.value.response["Error"]["Code"] == "InvalidAction"


def test_get_caller_identity_with_the_root_key(gateway):
    identity = sts_client(gateway.url).get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    assert identity["Account"] == "000000000000"
    assert identity["UserId"] == "000000000000"


@pytest.mark.parametrize(
    ("key", "secret", "code", "status"),
    [
        (ACCESS_KEY, "wrong", "SignatureDoesNotMatch", 403),
        ("AKIANOSUCHKEY0000000", SECRET_KEY, "InvalidClientTokenId", 403),
    ],
)
def test_get_caller_identity_refuses_bad_credentials(gateway, key, secret, code, status):
    with pytest.raises(ClientError) as exc:
        sts_client(gateway.url, key, secret).get_caller_identity()
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_get_caller_identity_with_a_bearer_header_is_incomplete(gateway):
    response = httpx.post(
        f"{gateway.url}/",
        data={"Action": "GetCallerIdentity", "Version": "2011-06-15"},
        headers={"Authorization": "Bearer x"},
        timeout=5,
    )
    assert response.status_code == 400
    assert b"<Code>IncompleteSignature</Code>" in response.content
