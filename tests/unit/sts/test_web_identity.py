"""AssumeRoleWithWebIdentity without a network: the token check is a fake (the real one is
tested against Keycloak in tests/integration/identity)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from cryptography.fernet import Fernet

from gateway.auth.errors import AuthError
from gateway.auth.keyring import Keyring
from gateway.auth.sealing import Sealer
from gateway.domain.values import Principal
from gateway.sts.web_identity import NAMESPACE, StsError, WebIdentitySts, response

ALICE = Principal(
    name="alice",
    method="bearer",
    subject="sub-alice",
    roles=frozenset({"artifact-reader", "artifact-writer"}),
    groups=frozenset({"/buckets/team-a/readers"}),
)
FORM = {
    "Action": "AssumeRoleWithWebIdentity",
    "WebIdentityToken": "good",
    "RoleArn": "arn:aws:iam::000000000000:role/ci",
    "RoleSessionName": "build-42",
}


class NoKeys:
    async def get_access_key(self, access_key_id: str) -> None:
        return None


async def check(token: str) -> tuple[Principal, str, str]:
    if token == "good":
        return ALICE, "http://issuer", "artifact-store"
    if token == "old":
        raise AuthError("AccessDenied", "The token has expired.")
    raise AuthError("AccessDenied", "The token's signature does not verify.")


def refuses_policy(policy: str) -> None:
    if "bad" in policy:
        raise ValueError("Policy has invalid action")


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(("root", "secret"), Sealer([Fernet.generate_key()]), NoKeys())


@pytest.fixture
def sts(keyring: Keyring) -> WebIdentitySts:
    return WebIdentitySts(check, keyring, max_duration=7200, policy_check=refuses_policy)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_session_carries_the_identity_and_resolves(sts, keyring):
    session = await sts.assume({**FORM, "DurationSeconds": "900"})
    assert session.access_key.startswith("ASIA")
    assert 880 < session.expires.timestamp() - time.time() <= 900
    resolved = await keyring.resolve(session.access_key, session.token)
    assert resolved is not None
    assert resolved.secret == session.secret
    assert resolved.principal.name == "alice"
    assert resolved.principal.method == "sts"
    assert resolved.principal.roles == ALICE.roles
    assert resolved.principal.groups == ALICE.groups
    # The token belongs to its own key only.
    with pytest.raises(AuthError) as other:
        await keyring.resolve("ASIAOTHER", session.token)
    assert other.value.code == "InvalidToken"
    with pytest.raises(AuthError):
        await keyring.resolve(session.access_key, session.token[:-8] + "AAAAAAAA")


@pytest.mark.anyio
async def test_a_role_arn_naming_a_realm_role_narrows_and_a_policy_is_kept(sts, keyring):
    policy = '{"Version":"2012-10-17","Statement":[]}'
    session = await sts.assume(
        {**FORM, "RoleArn": "arn:aws:iam::1:role/artifact-reader", "Policy": policy}
    )
    resolved = await keyring.resolve(session.access_key, session.token)
    assert resolved is not None
    assert resolved.principal.roles == frozenset({"artifact-reader"})
    assert resolved.principal.policies == (policy,)


@pytest.mark.anyio
async def test_expired_sessions_are_refused(keyring):
    key = keyring.issue_session(ALICE, -1)
    with pytest.raises(AuthError) as expired:
        await keyring.resolve(key.access_key, key.token)
    assert expired.value.code == "ExpiredToken"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"WebIdentityToken": ""}, "ValidationError"),
        ({"RoleArn": "not-an-arn"}, "ValidationError"),
        ({"RoleSessionName": "x"}, "ValidationError"),
        ({"RoleSessionName": "has space"}, "ValidationError"),
        ({"DurationSeconds": "899"}, "ValidationError"),
        ({"DurationSeconds": "7201"}, "ValidationError"),
        ({"DurationSeconds": "ten"}, "ValidationError"),
        ({"Policy": "bad policy"}, "MalformedPolicyDocument"),
        ({"Policy": "x" * 2049}, "PackedPolicyTooLarge"),
        ({"WebIdentityToken": "forged"}, "InvalidIdentityToken"),
        ({"WebIdentityToken": "old"}, "ExpiredTokenException"),
    ],
)
async def test_refusals(sts, change, code):
    with pytest.raises(StsError) as refused:
        await sts.assume({**FORM, **change})
    assert refused.value.code == code
    assert refused.value.status == 400


@pytest.mark.anyio
async def test_a_stronger_role_than_the_callers_is_refused(sts):
    with pytest.raises(StsError) as refused:
        await sts.assume({**FORM, "RoleArn": "arn:aws:iam::1:role/artifact-admin"})
    assert refused.value.code == "AccessDenied"
    assert refused.value.status == 403


@pytest.mark.anyio
async def test_the_response_document(sts):
    session = await sts.assume(FORM)
    document = ET.fromstring(response(session, "RID"))
    ns = {"s": NAMESPACE}
    result = document.find("s:AssumeRoleWithWebIdentityResult", ns)
    assert result is not None
    assert result.findtext("s:Credentials/s:AccessKeyId", namespaces=ns) == session.access_key
    assert result.findtext("s:Credentials/s:SessionToken", namespaces=ns) == session.token
    assert result.findtext("s:SubjectFromWebIdentityToken", namespaces=ns) == "sub-alice"
    assert result.findtext("s:Provider", namespaces=ns) == "http://issuer"
    assert (
        result.findtext("s:AssumedRoleUser/s:Arn", namespaces=ns)
        == "arn:aws:sts::000000000000:assumed-role/ci/build-42"
    )
    assert document.findtext("s:ResponseMetadata/s:RequestId", namespaces=ns) == "RID"
