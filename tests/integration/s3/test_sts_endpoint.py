"""``POST /`` answers STS/IAM calls with AWS-style XML errors at once, never a hang or a 500."""

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY, SECRET_KEY


@pytest.mark.parametrize(
    ("form", "code", "status"),
    [
        ({"Action": "ListUsers", "Version": "2010-05-08"}, "InvalidAction", 400),
        ({"Action": "DeleteRole", "RoleName": "x"}, "InvalidAction", 400),
        ({"Version": "2011-06-15"}, "MissingAction", 400),
        ({"Action": "GetCallerIdentity", "Version": "2011-06-15"}, "NotImplemented", 501),
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


def test_sts_client_gets_a_clean_error(gateway):
    sts = boto3.client(
        "sts",
        endpoint_url=gateway.url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "NotImplemented"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
