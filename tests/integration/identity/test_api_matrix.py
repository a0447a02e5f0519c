"""The /_artifacts authorization matrix: every kind of caller x the JSON API's operations (access
keys, presigning, referrers, tus upload creation) x the four bucket policies, each cell with
its exact status, and one audit line for each decision on an object (referrers, tus).

How each caller comes: Keycloak users with their Bearer token; the access key with HTTP Basic
(its id and secret, as tus clients send them); the STS session signs with SigV4, which the JSON
API does not take (401); anonymous sends nothing: it may read referrers where a bucket
policy lets everyone (public-read grants s3:GetObjectReferrer as the canned ACL does), and
gets 401 (with an audit line) where not; writing needs credentials (401, no decision).
Access keys and presigning answer to the caller's kind of identity only (Bearer users, never
keys or sessions); referrers and tus are decided like S3 requests (s3:GetObjectReferrer for
readers, s3:PutObjectReferrer and s3:PutObject for writers, s3:DeleteObjectReferrer for
admins), so the deny-by-IP policy refuses them all.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import ACCESS_KEY, SECRET_KEY, s3_client
from tests.fixtures import supply_chain
from tests.fixtures.servers import RunningGateway
from tests.integration.identity.identities import (
    BUCKET,
    CALLERS,
    HTTP,
    POLICIES,
    Caller,
    apply_policy,
)

SIGNED = "reports/signed.bin"  # the object the referrer cells sign
SBOM = supply_chain.dump(supply_chain.spdx())
ROOT_BASIC = {
    "Authorization": "Basic " + base64.b64encode(f"{ACCESS_KEY}:{SECRET_KEY}".encode()).decode()
}


@dataclass
class Row:
    url: str
    label: str
    caller: Caller
    made_key: str = ""  # the key this caller made in its keys_create cell
    spare_key: str = ""  # a key of bob's, for the cells of callers who made none
    referrer: str = ""  # a referrer root attached, for the remove cell

    def headers(self, method: str, url: str, body: bytes = b"") -> dict[str, str]:
        if self.label == "key":
            return self.caller.basic()
        return self.caller.headers(method, url, body)

    def send(
        self, method: str, path: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        url = f"{self.url}/_artifacts/{path}"
        headers = {"Content-Type": "application/json", **self.headers(method, url, body)}
        headers.update(extra or {})
        return HTTP.request(method, url, content=body, headers=headers)


def keys_create(row: Row) -> httpx.Response:
    made = row.send("POST", "keys", b'{"description": "matrix"}')
    if made.status_code == 201:
        row.made_key = made.json()["access_key_id"]
    return made


def keys_revoke(row: Row) -> httpx.Response:
    return row.send("DELETE", f"keys/{row.made_key or row.spare_key}")


def presign(row: Row) -> httpx.Response:
    return row.send("POST", "presign", json.dumps({"bucket": BUCKET, "key": SIGNED}).encode())


def referrers_attach(row: Row) -> httpx.Response:
    return row.send(
        "POST",
        f"referrers/{BUCKET}?key={SIGNED}&kind=sbom",
        SBOM,
        {"Content-Type": "application/spdx+json"},
    )


def tus_create(row: Row) -> httpx.Response:
    metadata = ",".join(
        f"{name} {base64.b64encode(value.encode()).decode()}"
        for name, value in (("bucket", BUCKET), ("key", f"reports/tus-{row.label}"))
    )
    return row.send(
        "POST",
        "uploads",
        extra={"Tus-Resumable": "1.0.0", "Upload-Length": "1", "Upload-Metadata": metadata},
    )


# operation -> (the request, the audited action or None when no decision on an object is made)
OPERATIONS: dict[str, tuple[Callable[[Row], httpx.Response], str | None]] = {
    "keys_create": (keys_create, None),
    "keys_list": (lambda row: row.send("GET", "keys"), None),
    "keys_revoke": (keys_revoke, None),
    "presign": (presign, None),
    "referrers_attach": (referrers_attach, "s3:PutObjectReferrer"),
    "referrers_list": (
        lambda row: row.send("GET", f"referrers/{BUCKET}?key={SIGNED}"),
        "s3:GetObjectReferrer",
    ),
    "referrers_fetch": (
        lambda row: row.send("GET", f"referrers/{BUCKET}/{row.referrer}?key={SIGNED}"),
        "s3:GetObjectReferrer",
    ),
    "referrers_remove": (
        lambda row: row.send("DELETE", f"referrers/{BUCKET}/{row.referrer}?key={SIGNED}"),
        "s3:DeleteObjectReferrer",
    ),
    "tus_create": (tus_create, "s3:PutObject"),
}
SUCCESS = {
    "keys_create": 201,
    "keys_list": 200,
    "keys_revoke": 204,
    "presign": 200,
    "referrers_attach": 201,
    "referrers_list": 200,
    "referrers_fetch": 200,
    "referrers_remove": 204,
    "tus_create": 201,
}
KEYS = {"keys_create", "keys_list", "keys_revoke", "presign"}  # Bearer users only
READ = {"referrers_list", "referrers_fetch"}
WRITE = READ | {"referrers_attach", "tus_create"}
# The table: what each caller may do with no bucket policy.
GRANTED = {
    "reader": KEYS | READ,
    "writer": KEYS | WRITE,
    "admin": KEYS | WRITE | {"referrers_remove"},
    "group": KEYS | WRITE,  # writers of team-a
    "nobody": KEYS,  # a presigned URL carries erin's (empty) rights, but she may have one
    "key": set(),  # Basic: may not manage keys or presign; its policy names no referrers
    "sts": set(),
    "anonymous": set(),
}
UNAUTHENTICATED = {"sts", "anonymous"}  # SigV4 or nothing: the JSON API answers 401
NARROWED = {"key"}  # its own policy names no referrers, whatever the bucket's grants


def expected_status(caller: str, operation: str, policy: str) -> int:
    public = policy == "public-read" and operation in READ and caller not in NARROWED
    if caller == "sts" or (caller == "anonymous" and not public):
        return 401
    allowed = operation in GRANTED[caller] or public
    if policy == "deny-by-ip" and operation not in KEYS:
        allowed = False
    return SUCCESS[operation] if allowed else 403


def decided(caller: str, operation: str, action: str | None) -> bool:
    """Whether the cell reaches a decision (and so an audit line): anonymous readers do."""
    if action is None or caller == "sts":
        return False
    return caller != "anonymous" or operation in READ


def attach_as_root(url: str) -> str:
    made = httpx.post(
        f"{url}/_artifacts/referrers/{BUCKET}",
        params={"key": SIGNED, "kind": "sbom"},
        content=SBOM,
        headers={**ROOT_BASIC, "Content-Type": "application/spdx+json"},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["digest"])


@pytest.mark.parametrize("policy", POLICIES)
def test_the_json_api_authorization_matrix(idp_gateway: RunningGateway, callers, policy):
    root = s3_client(idp_gateway.url)
    root.put_object(Bucket=BUCKET, Key=SIGNED, Body=b"signed")
    keys = f"{idp_gateway.url}/_artifacts/keys"
    spare = callers["writer"].call("POST", keys, b'{"description": "spare"}')
    assert spare.status_code == 201, spare.text
    spare_key = spare.json()["access_key_id"]
    apply_policy(root, policy)
    time.sleep(0.05)
    log = Path(idp_gateway.settings.audit_sink() or "")
    wrong: list[str] = []
    try:
        for label in CALLERS:
            row = Row(idp_gateway.url, label, callers[label], spare_key=spare_key)
            row.referrer = attach_as_root(idp_gateway.url)
            for operation, (request, action) in OPERATIONS.items():
                cell = f"{label} {operation}"
                offset = log.stat().st_size
                response = request(row)
                status = expected_status(label, operation, policy)
                if response.status_code != status:
                    wrong.append(f"{cell}: HTTP {response.status_code}, expected {status}")
                with log.open("rb") as audit:
                    audit.seek(offset)
                    lines = [json.loads(line) for line in audit.read().splitlines()]
                if not decided(label, operation, action):
                    if lines:
                        wrong.append(f"{cell}: audit lines {lines}, expected none")
                    continue
                decision = "allow" if status < 400 else "deny"
                got = [(line["action"], line["decision"], line["status"]) for line in lines]
                if got != [(action, decision, status)]:
                    wrong.append(f"{cell}: audit {got}, expected {[(action, decision, status)]}")
    finally:
        root.delete_bucket_policy(Bucket=BUCKET)
        callers["writer"].call("DELETE", f"{keys}/{spare_key}")
        for upload in root.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
            root.abort_multipart_upload(
                Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        root.delete_object(Bucket=BUCKET, Key=SIGNED)
    assert not wrong, "\n".join(wrong)


def recursive_deletion_status(caller: str, policy: str) -> int:
    """``DELETE /_artifacts/buckets/{b}?recursive=true``: admins only (s3:DeleteBucket, then
    s3:DeleteObject per object), refused to everyone from loopback under deny-by-IP; no
    bucket policy of the four grants anything that deletes. Writing needs credentials."""
    if caller in UNAUTHENTICATED:
        return 401
    return 200 if caller == "admin" and policy != "deny-by-ip" else 403


@pytest.mark.parametrize("policy", POLICIES)
def test_the_recursive_bucket_deletion_matrix(idp_gateway: RunningGateway, callers, policy):
    """Each caller on a scratch bucket of its own holding one object and carrying the
    run's policy: the status, and the audit lines by the bucket (one per decision: a refusal
    of s3:DeleteBucket before anything; for admins the object's and the bucket's removal)."""
    root = s3_client(idp_gateway.url)
    log = Path(idp_gateway.settings.audit_sink() or "")
    wrong: list[str] = []
    for label in CALLERS:
        bucket = f"rm-{label}-{policy}"
        root.create_bucket(Bucket=bucket)
        root.put_object(Bucket=bucket, Key=SIGNED, Body=b"signed")
        apply_policy(root, policy, bucket)
        time.sleep(0.05)
        offset = log.stat().st_size
        row = Row(idp_gateway.url, label, callers[label])
        response = row.send("DELETE", f"buckets/{bucket}?recursive=true")
        status = recursive_deletion_status(label, policy)
        if response.status_code != status:
            wrong.append(f"{label}: HTTP {response.status_code}, expected {status}")
        with log.open("rb") as audit:
            audit.seek(offset)
            lines = [json.loads(line) for line in audit.read().splitlines()]
        got = [
            (line["operation"], line["action"], line["decision"], line["status"])
            for line in lines
            if line["resource"].startswith(f"/{bucket}")
        ]
        if status == 401:
            expected = []
        elif status == 403:
            expected = [("S3.DELETE.BUCKET", "s3:DeleteBucket", "deny", 403)]
        else:
            expected = [
                ("S3.DELETE.OBJECT", "s3:DeleteObject", "allow", 204),
                ("S3.DELETE.BUCKET", "s3:DeleteBucket", "allow", 204),
            ]
        if got != expected:
            wrong.append(f"{label}: audit {got}, expected {expected}")
        if status != 200:
            root.delete_bucket_policy(Bucket=bucket)
            cleanup = httpx.delete(
                f"{idp_gateway.url}/_artifacts/buckets/{bucket}",
                params={"recursive": "true"},
                headers=ROOT_BASIC,
                timeout=60,
            )
            assert cleanup.status_code == 200, cleanup.text
    assert not wrong, "\n".join(wrong)
