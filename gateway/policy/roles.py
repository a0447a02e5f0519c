"""What Keycloak realm roles and per-bucket groups grant: the one place these are defined.

Action names are those of the S3 route table (``gateway.s3.routes``): HeadBucket is
``s3:ListBucket``, CopyObject and every multipart step but Abort are ``s3:PutObject``; and
those of the JSON API's referrers (``gateway.api.referrers``): attach a signature, SBOM or
attestation is ``s3:PutObjectReferrer``, list or fetch them ``s3:GetObjectReferrer``, remove
one ``s3:DeleteObjectReferrer`` (admins only); the verdict on an object is
``s3:GetObjectReferrer``; of a version named by its ``versionId``, each is the *Version*
action (``s3:GetObjectVersionReferrer``...), as IAM decides ``?tagging&versionId=``; reading
a bucket's trust ``s3:GetBucketTrust``, setting or removing it ``s3:PutBucketTrust`` (admins
only).
Roles apply to every bucket; a group ``/buckets/<bucket>/<readers|writers|admins>`` grants
the same sets on its bucket only.
"""

from __future__ import annotations

from gateway.policy.patterns import Wildcards

# Actions of the JSON API (not S3 routes), decided the same way.
GET_REFERRER = "s3:GetObjectReferrer"
PUT_REFERRER = "s3:PutObjectReferrer"
DELETE_REFERRER = "s3:DeleteObjectReferrer"
# The same of a version named by its ``versionId``.
GET_VERSION_REFERRER = "s3:GetObjectVersionReferrer"
PUT_VERSION_REFERRER = "s3:PutObjectVersionReferrer"
DELETE_VERSION_REFERRER = "s3:DeleteObjectVersionReferrer"
VERSION_REFERRER = {
    GET_REFERRER: GET_VERSION_REFERRER,
    PUT_REFERRER: PUT_VERSION_REFERRER,
    DELETE_REFERRER: DELETE_VERSION_REFERRER,
}
REFERRER_ACTIONS = (GET_REFERRER, PUT_REFERRER, DELETE_REFERRER, *VERSION_REFERRER.values())
# Who the bucket trusts to sign (``/_artifacts/trust``): readers may see it, admins set it.
GET_TRUST = "s3:GetBucketTrust"
PUT_TRUST = "s3:PutBucketTrust"
READER_ACTIONS = (
    "s3:ListAllMyBuckets",
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:ListMultipartUploadParts",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAttributes",
    "s3:GetObjectVersionTagging",
    "s3:GetObjectAttributes",
    "s3:GetObjectTagging",
    "s3:GetBucketTagging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetObjectRetention",
    "s3:GetObjectLegalHold",
    GET_REFERRER,
    GET_VERSION_REFERRER,
    GET_TRUST,
)
WRITER_ACTIONS = (
    *READER_ACTIONS,
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:DeleteObjectTagging",
    "s3:PutObjectRetention",  # set or lengthen; shortening GOVERNANCE needs the bypass
    PUT_REFERRER,
    PUT_VERSION_REFERRER,
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectVersionTagging",
    "s3:DeleteObjectVersionTagging",
    "s3:AbortMultipartUpload",
    "s3:CreateBucket",
)
# DeleteBucket, bucket policies, PutBucketTagging (and its delete), Object Lock's bucket
# configuration, legal holds and s3:BypassGovernanceRetention...
ADMIN_ACTIONS = ("s3:*",)

READER = Wildcards.compile(READER_ACTIONS, ignore_case=True)
WRITER = Wildcards.compile(WRITER_ACTIONS, ignore_case=True)
ADMIN = Wildcards.compile(ADMIN_ACTIONS, ignore_case=True)

# Least privilege first, so the audit log names the weakest grant that suffices.
ROLE_GRANTS: dict[str, Wildcards] = {
    "artifact-reader": READER,
    "artifact-writer": WRITER,
    "artifact-admin": ADMIN,
}
# Each role includes the ones before it (an STS session may ask for a weaker one).
ROLE_LEVELS = {role: level for level, role in enumerate(ROLE_GRANTS)}
GROUP_GRANTS: dict[str, Wildcards] = {"readers": READER, "writers": WRITER, "admins": ADMIN}
GROUP_PREFIX = "/buckets/"
ANY_AUTHENTICATED = frozenset({"s3:listallmybuckets"})  # the edge filters the listing


def granting_role(roles: frozenset[str], action: str) -> str | None:
    """The first (weakest) realm role that grants ``action``, if any."""
    for role, actions in ROLE_GRANTS.items():
        if role in roles and actions.matches(action):
            return role
    return None


def granting_group(groups: frozenset[str], bucket: str | None, action: str) -> str | None:
    """The path of the first (weakest) group that grants ``action`` on ``bucket``, if any."""
    if bucket is None:
        return None
    for suffix, actions in GROUP_GRANTS.items():
        path = f"{GROUP_PREFIX}{bucket}/{suffix}"
        if path in groups and actions.matches(action):
            return path
    return None
