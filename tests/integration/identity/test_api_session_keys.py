"""STS session keys on the JSON API: HTTP Basic with the temporary key id and secret plus the
session token in X-Amz-Security-Token (where S3 requests carry it), as the Go SDK and
artifactctl send them for CI jobs that logged in through STS. Without the token, or with one
that does not open, the key is refused: a temporary key is never taken for a stored one."""

from __future__ import annotations

import base64

import httpx

from tests.fixtures.keycloak import RunningKeycloak
from tests.fixtures.servers import RunningGateway
from tests.integration.identity.identities import BUCKET, sts_session


def basic(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def test_a_session_key_with_its_token_is_the_sessions_identity(
    idp_gateway: RunningGateway, keycloak: RunningKeycloak
) -> None:
    session = sts_session(idp_gateway.url, keycloak.password_token("alice"), "artifact-reader")
    url = f"{idp_gateway.url}/_artifacts/referrers/{BUCKET}"
    headers = basic(session["AccessKeyId"], session["SecretAccessKey"])
    listed = httpx.get(
        url,
        params={"key": "reports/r.txt"},
        headers={**headers, "X-Amz-Security-Token": session["SessionToken"]},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text  # alice reads referrers
    made = httpx.post(
        f"{idp_gateway.url}/_artifacts/keys",
        json={},
        headers={**headers, "X-Amz-Security-Token": session["SessionToken"]},
        timeout=30,
    )
    assert made.status_code == 403  # a session, not a Bearer user: it makes no access keys


def test_a_session_key_without_its_token_or_with_a_forged_one_is_refused(
    idp_gateway: RunningGateway, keycloak: RunningKeycloak
) -> None:
    session = sts_session(idp_gateway.url, keycloak.password_token("alice"), "artifact-reader")
    url = f"{idp_gateway.url}/_artifacts/referrers/{BUCKET}"
    headers = basic(session["AccessKeyId"], session["SecretAccessKey"])
    params = {"key": "reports/r.txt"}
    bare = httpx.get(url, params=params, headers=headers, timeout=30)
    assert bare.status_code == 403
    assert bare.json()["detail"] == "Unknown access key or wrong secret."
    forged = session["SessionToken"][:-8] + "AAAAAAAA"
    refused = httpx.get(
        url, params=params, headers={**headers, "X-Amz-Security-Token": forged}, timeout=30
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    wrong_secret = httpx.get(
        url,
        params=params,
        headers={
            **basic(session["AccessKeyId"], "not-the-secret"),
            "X-Amz-Security-Token": session["SessionToken"],
        },
        timeout=30,
    )
    assert wrong_secret.status_code == 403
