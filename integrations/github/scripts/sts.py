"""Trade the GitHub Actions job's OIDC token for short-lived Artifact Store credentials.

Runs on the runner's own python3 (standard library only: an action must not install packages
to log in). Asks GitHub for an ID token with the gateway's audience, sends it to the gateway's
STS (AssumeRoleWithWebIdentity, the call aws-cli and the SDKs make), masks the answer in the
log and exports it to the job's later steps through $GITHUB_ENV. No long-lived secret exists.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

STS_NS = "{https://sts.amazonaws.com/doc/2011-06-15/}"


class ExchangeError(Exception):
    """A step of the exchange failed; the message says which and what to check."""


def checked(url: str) -> str:
    """Only http(s): urllib would also open file: and custom schemes."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ExchangeError(f"not an http(s) URL: {url!r}")
    return url


def parse(body: bytes | str) -> ET.Element:
    # The answer of the configured gateway; the runner's expat (>= 2.4) bounds entity expansion.
    return ET.fromstring(body)  # noqa: S314


def id_token(audience: str) -> str:
    url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
    bearer = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
    if not url or not bearer:
        raise ExchangeError(
            "no OIDC token request variables: give the job `permissions: id-token: write`"
        )
    separator = "&" if "?" in url else "?"
    request = urllib.request.Request(  # noqa: S310 - checked()
        checked(f"{url}{separator}{urllib.parse.urlencode({'audience': audience})}"),
        headers={"Authorization": f"bearer {bearer}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - checked()
        value = json.load(answer).get("value")
    if not isinstance(value, str) or not value:
        raise ExchangeError("GitHub answered no ID token")
    return value


def assume_role(endpoint: str, token: str, session: str, duration: int) -> dict[str, str]:
    form = urllib.parse.urlencode(
        {
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "WebIdentityToken": token,
            "RoleArn": "arn:aws:iam::000000000000:role/github-actions",
            "RoleSessionName": session,
            "DurationSeconds": str(duration),
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - checked()
        checked(endpoint.rstrip("/") + "/"),
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - checked()
            root = parse(answer.read())
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        code = parse(body).findtext(f".//{STS_NS}Code") if body.startswith("<") else None
        raise ExchangeError(
            f"the gateway's STS refused the token: {error.code} {code or body}"
        ) from None
    found = root.find(f".//{STS_NS}Credentials")
    if found is None:
        raise ExchangeError("the gateway's STS answered no credentials")
    return {
        name: found.findtext(f"{STS_NS}{name}") or ""
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")
    }


def session_name() -> str:
    """GitHub's run id and attempt: the audit log then names the run that wrote."""
    run = os.environ.get("GITHUB_RUN_ID", "local")
    attempt = os.environ.get("GITHUB_RUN_ATTEMPT", "1")
    return f"github-{run}-{attempt}"[:64]


def export(credentials: dict[str, str], env_file: str) -> None:
    names = {
        "ARTIFACT_STORE_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "ARTIFACT_STORE_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "ARTIFACT_STORE_SESSION_TOKEN": credentials["SessionToken"],
    }
    for value in names.values():
        print(f"::add-mask::{value}")
    with open(env_file, "a", encoding="utf-8") as out:
        for name, value in names.items():
            out.write(f"{name}={value}\n")


def main() -> int:
    endpoint = os.environ["ARTIFACT_STORE_ENDPOINT"]
    audience = os.environ.get("ARTIFACT_STORE_AUDIENCE", "artifact-store")
    duration = int(os.environ.get("ARTIFACT_STORE_SESSION_SECONDS", "3600"))
    try:
        credentials = assume_role(endpoint, id_token(audience), session_name(), duration)
    except (ExchangeError, OSError) as error:
        print(f"::error title=Artifact Store login::{error}", file=sys.stderr)
        return 1
    export(credentials, os.environ["GITHUB_ENV"])
    print(f"Artifact Store credentials valid until {credentials['Expiration']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
