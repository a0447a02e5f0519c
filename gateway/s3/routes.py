"""The S3 route table: method + target (service, bucket or object) + an optional query or
header discriminator -> handler and its AWS action name (as versitygw's router does), and
what else a request must be allowed (a copy's source, a public ACL). A request naming a
sub-resource that no route serves answers NotImplemented, never a wrong operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from gateway.policy.decide import listing_condition_keys
from gateway.s3 import (
    attributes,
    buckets,
    cors,
    lifecycle,
    listing,
    multipart,
    objectlock,
    objects,
    policies,
    tagging,
    versioning,
)
from gateway.s3.errors import S3Error
from gateway.s3.objects import copy_source, copy_source_version
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

Target = Literal["service", "bucket", "object"]
Handler = Callable[[S3Request], Awaitable[S3Result]]


@dataclass(frozen=True)
class Route:
    method: str
    target: Target
    handler: Handler
    action: str  # the IAM action decided
    operation: str  # the S3 API operation, named in the audit line
    query: str | None = None  # this query parameter must be present
    header: str | None = None  # this header must be present
    per_key: bool = False  # decided for each key by the handler (DeleteObjects), not here


ROUTES: tuple[Route, ...] = (
    Route("GET", "service", buckets.list_buckets, "s3:ListAllMyBuckets", "ListBuckets"),
    Route("PUT", "bucket", buckets.create_bucket, "s3:CreateBucket", "CreateBucket"),
    Route("HEAD", "bucket", buckets.head_bucket, "s3:ListBucket", "HeadBucket"),
    Route("DELETE", "bucket", buckets.delete_bucket, "s3:DeleteBucket", "DeleteBucket"),
    Route(
        "GET",
        "bucket",
        buckets.get_bucket_location,
        "s3:GetBucketLocation",
        "GetBucketLocation",
        query="location",
    ),
    Route(
        "GET",
        "bucket",
        versioning.get_bucket_versioning,
        "s3:GetBucketVersioning",
        "GetBucketVersioning",
        query="versioning",
    ),
    Route(
        "PUT",
        "bucket",
        versioning.put_bucket_versioning,
        "s3:PutBucketVersioning",
        "PutBucketVersioning",
        query="versioning",
    ),
    Route(
        "GET",
        "bucket",
        listing.list_object_versions,
        "s3:ListBucketVersions",
        "ListObjectVersions",
        query="versions",
    ),
    Route(
        "PUT",
        "bucket",
        policies.put_bucket_policy,
        "s3:PutBucketPolicy",
        "PutBucketPolicy",
        query="policy",
    ),
    Route(
        "GET",
        "bucket",
        policies.get_bucket_policy,
        "s3:GetBucketPolicy",
        "GetBucketPolicy",
        query="policy",
    ),
    Route(
        "DELETE",
        "bucket",
        policies.delete_bucket_policy,
        "s3:DeleteBucketPolicy",
        "DeleteBucketPolicy",
        query="policy",
    ),
    Route(
        "GET",
        "bucket",
        policies.get_bucket_policy_status,
        "s3:GetBucketPolicyStatus",
        "GetBucketPolicyStatus",
        query="policyStatus",
    ),
    Route(
        "PUT",
        "bucket",
        lifecycle.put_bucket_lifecycle,
        "s3:PutLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
        query="lifecycle",
    ),
    Route(
        "GET",
        "bucket",
        lifecycle.get_bucket_lifecycle,
        "s3:GetLifecycleConfiguration",
        "GetBucketLifecycleConfiguration",
        query="lifecycle",
    ),
    Route(
        "DELETE",
        "bucket",
        lifecycle.delete_bucket_lifecycle,
        "s3:PutLifecycleConfiguration",
        "DeleteBucketLifecycle",
        query="lifecycle",
    ),
    Route("PUT", "bucket", cors.put_bucket_cors, "s3:PutBucketCORS", "PutBucketCors", query="cors"),
    Route("GET", "bucket", cors.get_bucket_cors, "s3:GetBucketCORS", "GetBucketCors", query="cors"),
    Route(
        "DELETE",
        "bucket",
        cors.delete_bucket_cors,
        "s3:PutBucketCORS",
        "DeleteBucketCors",
        query="cors",
    ),
    Route("PUT", "bucket", policies.put_bucket_acl, "s3:PutBucketAcl", "PutBucketAcl", query="acl"),
    Route("GET", "bucket", policies.get_bucket_acl, "s3:GetBucketAcl", "GetBucketAcl", query="acl"),
    Route(
        "GET",
        "bucket",
        multipart.list_multipart_uploads,
        "s3:ListBucketMultipartUploads",
        "ListMultipartUploads",
        query="uploads",
    ),
    Route(
        "GET", "bucket", listing.list_objects, "s3:ListBucket", "ListObjectsV2", query="list-type"
    ),
    Route("GET", "bucket", listing.list_objects, "s3:ListBucket", "ListObjects"),
    Route(
        "POST",
        "bucket",
        objects.delete_objects,
        "s3:DeleteObject",
        "DeleteObjects",
        query="delete",
        per_key=True,
    ),
    Route(
        "POST",
        "object",
        multipart.create_multipart_upload,
        "s3:PutObject",
        "CreateMultipartUpload",
        query="uploads",
    ),
    Route(
        "PUT",
        "object",
        multipart.upload_part_copy,
        "s3:PutObject",
        "UploadPartCopy",
        query="uploadId",
        header="x-amz-copy-source",
    ),
    Route("PUT", "object", multipart.upload_part, "s3:PutObject", "UploadPart", query="uploadId"),
    Route(
        "POST",
        "object",
        multipart.complete_multipart_upload,
        "s3:PutObject",
        "CompleteMultipartUpload",
        query="uploadId",
    ),
    Route(
        "DELETE",
        "object",
        multipart.abort_multipart_upload,
        "s3:AbortMultipartUpload",
        "AbortMultipartUpload",
        query="uploadId",
    ),
    Route(
        "GET",
        "object",
        multipart.list_parts,
        "s3:ListMultipartUploadParts",
        "ListParts",
        query="uploadId",
    ),
    Route(
        "GET",
        "object",
        attributes.get_object_attributes,
        "s3:GetObjectAttributes",
        "GetObjectAttributes",
        query="attributes",
    ),
    # Tags (s3/tagging.py). DeleteBucketTagging is decided as s3:PutBucketTagging, as in IAM.
    Route(
        "GET",
        "object",
        tagging.get_object_tagging,
        "s3:GetObjectTagging",
        "GetObjectTagging",
        query="tagging",
    ),
    Route(
        "PUT",
        "object",
        tagging.put_object_tagging,
        "s3:PutObjectTagging",
        "PutObjectTagging",
        query="tagging",
    ),
    Route(
        "DELETE",
        "object",
        tagging.delete_object_tagging,
        "s3:DeleteObjectTagging",
        "DeleteObjectTagging",
        query="tagging",
    ),
    Route(
        "GET",
        "bucket",
        tagging.get_bucket_tagging,
        "s3:GetBucketTagging",
        "GetBucketTagging",
        query="tagging",
    ),
    Route(
        "PUT",
        "bucket",
        tagging.put_bucket_tagging,
        "s3:PutBucketTagging",
        "PutBucketTagging",
        query="tagging",
    ),
    Route(
        "DELETE",
        "bucket",
        tagging.delete_bucket_tagging,
        "s3:PutBucketTagging",
        "DeleteBucketTagging",
        query="tagging",
    ),
    # Object Lock (s3/objectlock.py).
    Route(
        "GET",
        "bucket",
        objectlock.get_object_lock_configuration,
        "s3:GetBucketObjectLockConfiguration",
        "GetObjectLockConfiguration",
        query="object-lock",
    ),
    Route(
        "PUT",
        "bucket",
        objectlock.put_object_lock_configuration,
        "s3:PutBucketObjectLockConfiguration",
        "PutObjectLockConfiguration",
        query="object-lock",
    ),
    Route(
        "GET",
        "object",
        objectlock.get_object_retention,
        "s3:GetObjectRetention",
        "GetObjectRetention",
        query="retention",
    ),
    Route(
        "PUT",
        "object",
        objectlock.put_object_retention,
        "s3:PutObjectRetention",
        "PutObjectRetention",
        query="retention",
    ),
    Route(
        "GET",
        "object",
        objectlock.get_object_legal_hold,
        "s3:GetObjectLegalHold",
        "GetObjectLegalHold",
        query="legal-hold",
    ),
    Route(
        "PUT",
        "object",
        objectlock.put_object_legal_hold,
        "s3:PutObjectLegalHold",
        "PutObjectLegalHold",
        query="legal-hold",
    ),
    # A version by its id: decided as the *Version actions, as IAM does.
    Route(
        "GET", "object", objects.get_object, "s3:GetObjectVersion", "GetObject", query="versionId"
    ),
    Route(
        "HEAD",
        "object",
        objects.head_object,
        "s3:GetObjectVersion",
        "HeadObject",
        query="versionId",
    ),
    Route(
        "DELETE",
        "object",
        objects.delete_object,
        "s3:DeleteObjectVersion",
        "DeleteObject",
        query="versionId",
    ),
    Route("GET", "object", objects.get_object, "s3:GetObject", "GetObject", query="partNumber"),
    Route("HEAD", "object", objects.head_object, "s3:GetObject", "HeadObject", query="partNumber"),
    Route(
        "PUT",
        "object",
        objects.copy_object,
        "s3:PutObject",
        "CopyObject",
        header="x-amz-copy-source",
    ),
    Route("PUT", "object", objects.put_object, "s3:PutObject", "PutObject"),
    Route("GET", "object", objects.get_object, "s3:GetObject", "GetObject"),
    Route("HEAD", "object", objects.head_object, "s3:GetObject", "HeadObject"),
    Route("DELETE", "object", objects.delete_object, "s3:DeleteObject", "DeleteObject"),
)

# Sub-resources S3 defines: a request naming one that no route serves is NotImplemented.
SUBRESOURCES = frozenset(
    (
        "accelerate",
        "acl",
        "analytics",
        "attributes",
        "cors",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "restore",
        "retention",
        "select",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "session",
        "metadataTable",
        "metadataConfiguration",
        "metadataAnnotationTable",
        "metadataInventoryTable",
        "metadataJournalTable",
        "abac",
        "annotation",
        "renameObject",
    )
)


# A sub-resource of one version (``?tagging&versionId=``): decided as IAM's *Version* action.
VERSION_ACTIONS = {
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
}


def match(method: str, target: Target, query: dict[str, str], headers: dict[str, str]) -> Route:
    named = SUBRESOURCES.intersection(query)
    for route in ROUTES:
        if route.method != method or route.target != target:
            continue
        if route.query is not None and route.query not in query:
            continue
        if route.header is not None and route.header not in headers:
            continue
        if named and (route.query is None or route.query not in SUBRESOURCES):
            continue  # a sub-resource no route serves, beside a plain discriminator
        if "versionId" in query and route.action in VERSION_ACTIONS:
            return replace(route, action=VERSION_ACTIONS[route.action])
        return route
    if named:
        raise S3Error("NotImplemented", f"The operation ?{sorted(named)[0]} is not implemented.")
    if method in {"GET", "PUT", "HEAD", "DELETE", "POST"}:
        raise S3Error("NotImplemented", "This operation is not implemented.")
    raise S3Error("MethodNotAllowed")


COPY_SOURCE = "x-amz-copy-source"
LISTINGS = frozenset({"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"})


@dataclass(frozen=True)
class Requirement:
    """A decision a request needs beyond its route's action; ``label`` prefixes the rule of
    a refusal in the audit line (``copy-source:default-deny``)."""

    action: str
    bucket: str
    key: str
    label: str


def also_required(
    route: Route, bucket: str, key: str, headers: Mapping[str, str]
) -> tuple[Requirement, ...]:
    """A copy (CopyObject, UploadPartCopy) reads its source; a bucket made with a canned ACL
    other than ``private`` sets that ACL, which needs ``s3:PutBucketAcl`` as well
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html, Permissions);
    GetObjectAttributes needs ``s3:GetObject`` besides ``s3:GetObjectAttributes`` (of a
    version: ``s3:GetObjectVersion`` and ``s3:GetObjectVersionAttributes``)
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html)."""
    locking = _lock_requirements(route, bucket, key, headers)
    if route.header == COPY_SOURCE:
        source_bucket, source_key = copy_source(headers[COPY_SOURCE])
        versioned = copy_source_version(headers[COPY_SOURCE]) is not None
        action = "s3:GetObjectVersion" if versioned else "s3:GetObject"
        return (Requirement(action, source_bucket, source_key, "copy-source"), *locking)
    if locking:
        return locking
    needed: list[Requirement] = []
    if route.action == "s3:CreateBucket" and headers.get("x-amz-acl", "private") != "private":
        needed.append(Requirement("s3:PutBucketAcl", bucket, "", "acl"))
    if route.action == "s3:CreateBucket" and objectlock.bucket_lock_requested(headers):
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html, Permissions
        needed.append(Requirement("s3:PutBucketObjectLockConfiguration", bucket, "", "lock"))
        needed.append(Requirement("s3:PutBucketVersioning", bucket, "", "versioning"))
    if needed:
        return tuple(needed)
    if route.action == "s3:GetObjectAttributes":
        return (Requirement("s3:GetObject", bucket, key, "get-object"),)
    if route.action == "s3:GetObjectVersionAttributes":
        return (Requirement("s3:GetObjectVersion", bucket, key, "get-object"),)
    return ()


def _lock_requirements(
    route: Route, bucket: str, key: str, headers: Mapping[str, str]
) -> tuple[Requirement, ...]:
    """A write that sets a retention needs ``s3:PutObjectRetention``, one that sets a legal
    hold ``s3:PutObjectLegalHold``, as in IAM."""
    if route.action != "s3:PutObject":
        return ()
    needed = []
    if objectlock.MODE in headers or objectlock.UNTIL in headers:
        needed.append(Requirement("s3:PutObjectRetention", bucket, key, "retention"))
    if objectlock.HOLD in headers:
        needed.append(Requirement("s3:PutObjectLegalHold", bucket, key, "legal-hold"))
    return tuple(needed)


def route_query(route: Route, query: dict[str, str]) -> dict[str, str]:
    """The condition keys a listing offers policies (``s3:prefix`` ...)."""
    return listing_condition_keys(query) if route.action in LISTINGS else {}
