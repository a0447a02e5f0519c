"""The S3 authorization matrix with real Keycloak tokens: every kind of caller (identities.py)
x every operation of the S3 route table (gateway/s3/routes.py), and two it answers
NotImplemented, x four bucket policies. Each cell has its exact expected answer: the status
of success, or 403 AccessDenied; DeleteObjects is decided per key (a 200 whose entry is
Deleted or an AccessDenied Error; an entry with a VersionId as s3:DeleteObjectVersion).
Every cell's audit line (found by the request id) must say the same: one line per
decision, its action, allow or deny, and the status sent.

The expectations are written out here from docs/identity.md, not computed by the gateway's
own tables: readers list and read, writers also write and create buckets, admins do
everything (bucket policies, ACLs, deleting buckets); the group is a writer of team-a only.
Bucket-level admin operations act on a scratch bucket per caller that carries the same
policy, so the matrix never changes its own fixture.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from gateway.s3.routes import ROUTES
from tests.conftest import s3_client
from tests.fixtures.servers import RunningGateway
from tests.integration.identity.identities import (
    BUCKET,
    CALLERS,
    POLICIES,
    Caller,
    apply_policy,
    settled_audit,
)

SOURCE = "reports/r.txt"  # the object every reading cell reads (and copies copy)


@dataclass
class Scene:
    """What root prepares for one caller's row: an upload with a part, one to abort, a
    scratch bucket with the policy of the run."""

    url: str
    label: str
    upload: str = ""
    part_etag: str = ""
    abort: str = ""
    results: dict[str, httpx.Response] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return f"{self.url}/{BUCKET}"

    @property
    def scratch(self) -> str:
        return f"scratch-{self.label}"

    def mine(self, suffix: str = "") -> str:
        return f"{self.bucket}/reports/by-{self.label}{suffix}"

    @property
    def multipart(self) -> str:
        return f"{self.bucket}/reports/mp-{self.label}"


Request = Callable[[Caller, Scene], httpx.Response]


def complete_body(etag: str) -> bytes:
    return (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    ).encode()


def delete_body(key: str, version: str | None = None) -> bytes:
    named = f"<VersionId>{version}</VersionId>" if version is not None else ""
    return f"<Delete><Object><Key>{key}</Key>{named}</Object></Delete>".encode()


def scratch_policy(scene: Scene) -> bytes:
    # Grants nothing to anyone in the matrix: putting it changes no later cell.
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam:::user/nobody-at-all"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{scene.scratch}/*",
            }
        ],
    }
    return json.dumps(document).encode()


COPY = {"x-amz-copy-source": f"/{BUCKET}/{SOURCE}"}
RETENTION = (
    b"<Retention><Mode>GOVERNANCE</Mode>"
    b"<RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>"
)
HOLD = b"<LegalHold><Status>ON</Status></LegalHold>"
LOCK = (
    b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
    b"</ObjectLockConfiguration>"
)
TAGS = b"<Tagging><TagSet><Tag><Key>team</Key><Value>a</Value></Tag></TagSet></Tagging>"
CORS = (
    b"<CORSConfiguration><CORSRule><AllowedOrigin>https://console.example</AllowedOrigin>"
    b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
)
LIFECYCLE = (
    b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>tmp/</Prefix></Filter>"
    b"<Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>"
    b"</LifecycleConfiguration>"
)


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()


# operation -> (the request, the audit action, the status of success), in the order run.
OPERATIONS: dict[str, tuple[Request, str, int]] = {
    "list_buckets": (lambda c, s: c.call("GET", f"{s.url}/"), "s3:ListAllMyBuckets", 200),
    "head_bucket": (lambda c, s: c.call("HEAD", s.bucket), "s3:ListBucket", 200),
    "get_bucket_location": (
        lambda c, s: c.call("GET", f"{s.bucket}?location"),
        "s3:GetBucketLocation",
        200,
    ),
    "get_bucket_versioning": (
        lambda c, s: c.call("GET", f"{s.bucket}?versioning"),
        "s3:GetBucketVersioning",
        200,
    ),
    "list_objects": (lambda c, s: c.call("GET", f"{s.bucket}?list-type=2"), "s3:ListBucket", 200),
    "list_object_versions": (
        lambda c, s: c.call("GET", f"{s.bucket}?versions"),
        "s3:ListBucketVersions",
        200,
    ),
    "list_multipart_uploads": (
        lambda c, s: c.call("GET", f"{s.bucket}?uploads"),
        "s3:ListBucketMultipartUploads",
        200,
    ),
    "get_bucket_policy": (
        lambda c, s: c.call("GET", f"{s.bucket}?policy"),
        "s3:GetBucketPolicy",
        200,
    ),
    "get_bucket_policy_status": (
        lambda c, s: c.call("GET", f"{s.bucket}?policyStatus"),
        "s3:GetBucketPolicyStatus",
        200,
    ),
    "get_bucket_acl": (lambda c, s: c.call("GET", f"{s.bucket}?acl"), "s3:GetBucketAcl", 200),
    "head_object": (lambda c, s: c.call("HEAD", f"{s.bucket}/{SOURCE}"), "s3:GetObject", 200),
    "get_object": (lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}"), "s3:GetObject", 200),
    "get_object_part": (
        lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}?partNumber=1"),
        "s3:GetObject",
        206,
    ),
    "get_object_version": (  # the null version: the bucket was never versioned
        lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}?versionId=null"),
        "s3:GetObjectVersion",
        200,
    ),
    "get_object_tagging": (
        lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}?tagging"),
        "s3:GetObjectTagging",
        200,
    ),
    "get_object_attributes": (  # needs s3:GetObject as well
        lambda c, s: c.call(
            "GET", f"{s.bucket}/{SOURCE}?attributes", extra={"x-amz-object-attributes": "ETag"}
        ),
        "s3:GetObjectAttributes",
        200,
    ),
    "get_bucket_tagging": (  # team-a has no tags: the allowed answer is NoSuchTagSet
        lambda c, s: c.call("GET", f"{s.bucket}?tagging"),
        "s3:GetBucketTagging",
        404,
    ),
    "put_object_tagging": (
        lambda c, s: c.call("PUT", f"{s.bucket}/{SOURCE}?tagging", TAGS),
        "s3:PutObjectTagging",
        200,
    ),
    "delete_object_tagging": (
        lambda c, s: c.call("DELETE", f"{s.bucket}/{SOURCE}?tagging"),
        "s3:DeleteObjectTagging",
        204,
    ),
    # Object Lock on team-a, which has none: the allowed answer is the refusal S3 gives then.
    "get_object_lock_configuration": (
        lambda c, s: c.call("GET", f"{s.bucket}?object-lock"),
        "s3:GetBucketObjectLockConfiguration",
        404,
    ),
    "get_object_retention": (
        lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}?retention"),
        "s3:GetObjectRetention",
        400,
    ),
    "get_object_legal_hold": (
        lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}?legal-hold"),
        "s3:GetObjectLegalHold",
        400,
    ),
    "put_object_retention": (
        lambda c, s: c.call(
            "PUT",
            f"{s.bucket}/{SOURCE}?retention",
            RETENTION,
            extra={"Content-MD5": md5(RETENTION)},
        ),
        "s3:PutObjectRetention",
        400,
    ),
    "put_object_legal_hold": (
        lambda c, s: c.call(
            "PUT", f"{s.bucket}/{SOURCE}?legal-hold", HOLD, extra={"Content-MD5": md5(HOLD)}
        ),
        "s3:PutObjectLegalHold",
        400,
    ),
    "put_object_lock_configuration": (
        lambda c, s: c.call(
            "PUT", f"{s.bucket}?object-lock", LOCK, extra={"Content-MD5": md5(LOCK)}
        ),
        "s3:PutBucketObjectLockConfiguration",
        409,
    ),
    "put_object": (lambda c, s: c.call("PUT", s.mine(), b"x"), "s3:PutObject", 200),
    "copy_object": (
        lambda c, s: c.call("PUT", s.mine("-copy"), extra=COPY),
        "s3:PutObject",
        200,
    ),
    "delete_object": (lambda c, s: c.call("DELETE", s.mine()), "s3:DeleteObject", 204),
    "delete_objects": (
        lambda c, s: c.call(
            "POST", f"{s.bucket}?delete", delete_body(f"reports/by-{s.label}-copy")
        ),
        "s3:DeleteObject",
        200,
    ),
    "delete_object_version": (
        lambda c, s: c.call("DELETE", f"{s.mine()}?versionId=null"),
        "s3:DeleteObjectVersion",
        204,
    ),
    "delete_objects_version": (
        lambda c, s: c.call(
            "POST", f"{s.bucket}?delete", delete_body(f"reports/by-{s.label}", "null")
        ),
        "s3:DeleteObjectVersion",
        200,
    ),
    "create_upload": (
        lambda c, s: c.call("POST", f"{s.mine('-mp')}?uploads"),
        "s3:PutObject",
        200,
    ),
    "upload_part": (
        lambda c, s: c.call("PUT", f"{s.multipart}?partNumber=2&uploadId={s.upload}", b"two"),
        "s3:PutObject",
        200,
    ),
    "upload_part_copy": (
        lambda c, s: c.call("PUT", f"{s.multipart}?partNumber=3&uploadId={s.upload}", extra=COPY),
        "s3:PutObject",
        200,
    ),
    "list_parts": (
        lambda c, s: c.call("GET", f"{s.multipart}?uploadId={s.upload}"),
        "s3:ListMultipartUploadParts",
        200,
    ),
    "complete_upload": (
        lambda c, s: c.call(
            "POST", f"{s.multipart}?uploadId={s.upload}", complete_body(s.part_etag)
        ),
        "s3:PutObject",
        200,
    ),
    "abort_upload": (
        lambda c, s: c.call("DELETE", f"{s.bucket}/reports/abort-{s.label}?uploadId={s.abort}"),
        "s3:AbortMultipartUpload",
        204,
    ),
    "create_bucket": (
        lambda c, s: c.call("PUT", f"{s.url}/made-by-{s.label}"),
        "s3:CreateBucket",
        200,
    ),
    "create_public_bucket": (  # a canned ACL other than private also needs s3:PutBucketAcl
        lambda c, s: c.call(
            "PUT", f"{s.url}/made-by-{s.label}-public", extra={"x-amz-acl": "public-read"}
        ),
        "s3:CreateBucket",
        200,
    ),
    # On the scratch bucket, which root puts back after each (it carries the run's policy).
    "put_bucket_lifecycle": (
        lambda c, s: c.call(
            "PUT",
            f"{s.url}/{s.scratch}?lifecycle",
            LIFECYCLE,
            extra={"Content-MD5": md5(LIFECYCLE)},
        ),
        "s3:PutLifecycleConfiguration",
        200,
    ),
    "put_bucket_cors": (
        lambda c, s: c.call(
            "PUT", f"{s.url}/{s.scratch}?cors", CORS, extra={"Content-MD5": md5(CORS)}
        ),
        "s3:PutBucketCORS",
        200,
    ),
    "get_bucket_cors": (
        lambda c, s: c.call("GET", f"{s.url}/{s.scratch}?cors"),
        "s3:GetBucketCORS",
        200,
    ),
    "delete_bucket_cors": (
        lambda c, s: c.call("DELETE", f"{s.url}/{s.scratch}?cors"),
        "s3:PutBucketCORS",
        204,
    ),
    "put_bucket_tagging": (
        lambda c, s: c.call(
            "PUT", f"{s.url}/{s.scratch}?tagging", TAGS, extra={"Content-MD5": md5(TAGS)}
        ),
        "s3:PutBucketTagging",
        204,
    ),
    "delete_bucket_tagging": (
        lambda c, s: c.call("DELETE", f"{s.url}/{s.scratch}?tagging"),
        "s3:PutBucketTagging",
        204,
    ),
    "get_bucket_lifecycle": (
        lambda c, s: c.call("GET", f"{s.url}/{s.scratch}?lifecycle"),
        "s3:GetLifecycleConfiguration",
        200,
    ),
    "delete_bucket_lifecycle": (
        lambda c, s: c.call("DELETE", f"{s.url}/{s.scratch}?lifecycle"),
        "s3:PutLifecycleConfiguration",
        204,
    ),
    "put_bucket_policy": (
        lambda c, s: c.call("PUT", f"{s.url}/{s.scratch}?policy", scratch_policy(s)),
        "s3:PutBucketPolicy",
        204,
    ),
    "delete_bucket_policy": (
        lambda c, s: c.call("DELETE", f"{s.url}/{s.scratch}?policy"),
        "s3:DeleteBucketPolicy",
        204,
    ),
    "put_bucket_acl": (
        lambda c, s: c.call("PUT", f"{s.url}/{s.scratch}?acl", extra={"x-amz-acl": "private"}),
        "s3:PutBucketAcl",
        200,
    ),
    "put_bucket_versioning": (
        lambda c, s: c.call(
            "PUT",
            f"{s.url}/{s.scratch}?versioning",
            b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>",
        ),
        "s3:PutBucketVersioning",
        200,
    ),
    "delete_bucket": (
        lambda c, s: c.call("DELETE", f"{s.url}/{s.scratch}"),
        "s3:DeleteBucket",
        204,
    ),
    # Sub-resources no route serves: NotImplemented for everyone, before any decision.
    "get_object_acl": (lambda c, s: c.call("GET", f"{s.bucket}/{SOURCE}?acl"), "-", 501),
}
SCRATCH = {
    "put_bucket_cors",
    "get_bucket_cors",
    "delete_bucket_cors",
    "put_bucket_tagging",
    "delete_bucket_tagging",
    "put_bucket_lifecycle",
    "get_bucket_lifecycle",
    "delete_bucket_lifecycle",
    "put_bucket_policy",
    "delete_bucket_policy",
    "put_bucket_acl",
    "put_bucket_versioning",
    "delete_bucket",
}
NOT_IMPLEMENTED = {"get_object_acl"}

READ = {
    "list_buckets",
    "head_bucket",
    "get_bucket_location",
    "get_bucket_versioning",
    "list_objects",
    "list_object_versions",
    "list_multipart_uploads",
    "head_object",
    "get_object",
    "get_object_part",
    "get_object_version",
    "get_object_tagging",
    "get_object_attributes",
    "get_bucket_tagging",
    "get_object_lock_configuration",
    "get_object_retention",
    "get_object_legal_hold",
    "list_parts",
}
WRITE = {
    "put_object",
    "copy_object",
    "delete_object",
    "delete_objects",
    "delete_object_version",
    "delete_objects_version",
    "create_upload",
    "upload_part",
    "upload_part_copy",
    "complete_upload",
    "abort_upload",
    "put_object_tagging",
    "delete_object_tagging",
    "put_object_retention",
}
ADMIN = {
    "put_object_legal_hold",
    "put_object_lock_configuration",
    "get_bucket_policy",
    "get_bucket_policy_status",
    "get_bucket_acl",
    "create_public_bucket",
    *SCRATCH,
}
GRANTED = {
    "reader": READ,
    "writer": READ | WRITE | {"create_bucket"},
    "admin": READ | WRITE | {"create_bucket"} | ADMIN,
    "group": READ | WRITE,  # writers of team-a: not of a new bucket, nor of the scratch ones
    "nobody": {"list_buckets"},
    "key": {"list_buckets", "head_object", "get_object", "get_object_part"},  # reads reports/*
    "sts": READ,  # bob's session narrowed to artifact-reader by its RoleArn
    "anonymous": set(),
}
PUBLIC_READ = {"head_bucket", "list_objects", "head_object", "get_object", "get_object_part"}
NOT_IN_A_BUCKET_POLICY = {"list_buckets", "create_bucket", "create_public_bucket"} | NOT_IMPLEMENTED


def expected(caller: str, operation: str, policy: str) -> bool:
    """Whether the cell is allowed (NotImplemented cells: never reached a decision)."""
    allowed = operation in GRANTED[caller]
    if policy == "public-read" and operation in PUBLIC_READ:
        # Everyone may list and read, unless a narrowing policy of the caller's own says no.
        allowed = allowed or caller != "key"
    if policy == "deny-by-ip" and operation not in NOT_IN_A_BUCKET_POLICY:
        allowed = False  # an explicit Deny wins over every grant but root's
    if policy == "prefix-scoped" and caller == "nobody":
        allowed = allowed or operation in {"head_object", "get_object", "get_object_part"}
    return allowed


def success_status(operation: str, policy: str) -> int:
    if operation in {"get_bucket_policy", "get_bucket_policy_status"} and policy == "none":
        return 404  # NoSuchBucketPolicy: allowed to ask, nothing to answer
    return OPERATIONS[operation][2]


def prepare(root, scene: Scene, policy: str) -> None:  # type: ignore[no-untyped-def]
    key = f"reports/mp-{scene.label}"
    scene.upload = root.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    part = root.upload_part(
        Bucket=BUCKET, Key=key, UploadId=scene.upload, PartNumber=1, Body=b"one"
    )
    scene.part_etag = part["ETag"]
    abort_key = f"reports/abort-{scene.label}"
    scene.abort = root.create_multipart_upload(Bucket=BUCKET, Key=abort_key)["UploadId"]
    root.create_bucket(Bucket=scene.scratch)
    apply_policy(root, policy, scene.scratch)


def clean_up(root, policy: str) -> None:  # type: ignore[no-untyped-def]
    for upload in root.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        root.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    for item in root.list_objects_v2(Bucket=BUCKET, Prefix="reports/").get("Contents", []):
        if item["Key"] != SOURCE:
            root.delete_object(Bucket=BUCKET, Key=item["Key"])
    for bucket in root.list_buckets()["Buckets"]:
        if bucket["Name"].startswith(("made-by-", "scratch-")):
            root.delete_bucket(Bucket=bucket["Name"])


def check_answer(cell: str, response: httpx.Response, allowed: bool, ok: int) -> list[str]:
    operation = cell.split()[1]
    status, body = response.status_code, response.content
    if operation in NOT_IMPLEMENTED:
        if status != 501 or b"<Code>NotImplemented</Code>" not in body:
            return [f"{cell}: HTTP {status}, expected 501 NotImplemented"]
        return []
    if operation.startswith("delete_objects"):
        entry = b"<Deleted>" if allowed else b"<Code>AccessDenied</Code>"
        if status != 200 or entry not in body:
            return [f"{cell}: HTTP {status} {body[:300]!r}, expected 200 with {entry!r}"]
        return []
    if allowed and status != ok:
        return [f"{cell}: HTTP {status} {body[:300]!r}, expected {ok}"]
    denied = status == 403 and (
        response.request.method == "HEAD" or b"<Code>AccessDenied</Code>" in body
    )
    if not allowed and not denied:
        return [f"{cell}: HTTP {status} {body[:300]!r}, expected 403 AccessDenied"]
    return []


def denying_rule(caller: str, operation: str, policy: str) -> str:
    if operation in NOT_IMPLEMENTED:
        return "no-route"
    if policy == "deny-by-ip" and operation not in NOT_IN_A_BUCKET_POLICY:
        return "deny:bucket-policy:"
    if operation == "create_public_bucket" and caller == "writer":
        return "acl:default-deny"  # may create buckets, not set their ACL
    return "deny:identity-policy" if caller == "key" else "default-deny"


def check_audit(
    cell: str, lines: list[dict], response: httpx.Response, allowed: bool, policy: str
) -> list[str]:
    label, operation = cell.split()
    action = OPERATIONS[operation][1]
    rid = response.headers["x-amz-request-id"]
    mine = [line for line in lines if line["request_id"] == rid]
    if operation.startswith("delete_objects"):
        # The request's own line, then one per key with the key's decision.
        per_key = [line for line in mine if line["resource"].startswith(f"/{BUCKET}/")]
        if len(mine) != 2 or len(per_key) != 1:
            return [f"{cell}: audit lines {mine}"]
        mine = per_key
        status = 200 if allowed else 403
    else:
        status = response.status_code
    if len(mine) != 1:
        return [f"{cell}: {len(mine)} audit lines, expected one"]
    line = mine[0]
    decision = "allow" if allowed and operation not in NOT_IMPLEMENTED else "deny"
    got = (line["action"], line["decision"], line["status"])
    if got != (action, decision, status):
        return [f"{cell}: audit {got}, expected {(action, decision, status)}"]
    if decision == "deny" and not line["rule"].startswith(denying_rule(label, operation, policy)):
        return [
            f"{cell}: audit rule {line['rule']}, expected {denying_rule(label, operation, policy)}"
        ]
    return []


@pytest.mark.parametrize("policy", POLICIES)
def test_the_s3_authorization_matrix(idp_gateway: RunningGateway, callers, policy):
    root = s3_client(idp_gateway.url)
    apply_policy(root, policy)
    time.sleep(0.05)
    wrong: list[str] = []
    answers: dict[str, tuple[httpx.Response, bool]] = {}
    try:
        for label in CALLERS:
            scene = Scene(idp_gateway.url, label)
            prepare(root, scene, policy)
            for operation, (request, _, _) in OPERATIONS.items():
                cell = f"{label} {operation}"
                response = request(callers[label], scene)
                allowed = expected(label, operation, policy)
                answers[cell] = (response, allowed)
                wrong += check_answer(cell, response, allowed, success_status(operation, policy))
                if operation in SCRATCH - {"delete_bucket"}:
                    apply_policy(root, policy, scene.scratch)
        lines = settled_audit(idp_gateway, [response for response, _ in answers.values()])
        for cell, (response, allowed) in answers.items():
            wrong += check_audit(cell, lines, response, allowed, policy)
    finally:
        clean_up(root, policy)
        root.delete_bucket_policy(Bucket=BUCKET)
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_route():
    """A route added to the gateway must get its row here."""
    names = {route.handler.__name__ for route in ROUTES}
    covered = {
        "complete_upload": "complete_multipart_upload",
        "abort_upload": "abort_multipart_upload",
        "create_upload": "create_multipart_upload",
        "get_object_part": "get_object",
        "get_bucket_policy": "get_bucket_policy",
    }
    tested = {covered.get(operation, operation) for operation in OPERATIONS}
    assert names <= tested, sorted(names - tested)
