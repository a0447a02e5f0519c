"""Bucket policies and canned ACLs at the S3 edge: Put/Get/DeleteBucketPolicy,
GetBucketPolicyStatus, Put/GetBucketAcl (canned ``private`` and ``public-read`` only: a
canned ACL is stored as the bucket policy it stands for).

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketPolicy.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#canned-acl
"""

from __future__ import annotations

from gateway.domain import buckets as domain
from gateway.domain.buckets import POLICY_SETTING
from gateway.policy.decide import policy_is_public
from gateway.policy.document import MAX_POLICY_BYTES, parse_bucket_policy
from gateway.policy.errors import MalformedPolicy
from gateway.s3 import xml
from gateway.s3.buckets import canned_policy, owner
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


async def put_bucket_policy(ctx: S3Request) -> S3Result:
    body = await ctx.read_small_body(MAX_POLICY_BYTES + 1)
    if len(body) > MAX_POLICY_BYTES:
        raise S3Error("MalformedPolicy", "Policies must be no more than 20 KB.")
    try:
        parse_bucket_policy(body, ctx.bucket)
        text = body.decode("utf-8")
    except MalformedPolicy as exc:
        raise S3Error("MalformedPolicy", exc.reason) from exc
    await domain.set_setting(ctx.store, ctx.bucket, POLICY_SETTING, text)
    return S3Result(status=204)


async def get_bucket_policy(ctx: S3Request) -> S3Result:
    record = await domain.get_bucket(ctx.store, ctx.bucket)
    text = record.settings.get(POLICY_SETTING)
    if not text:
        raise S3Error("NoSuchBucketPolicy", fields={"BucketName": ctx.bucket})
    return S3Result(json=text)


async def delete_bucket_policy(ctx: S3Request) -> S3Result:
    await domain.set_setting(ctx.store, ctx.bucket, POLICY_SETTING, None)
    return S3Result(status=204)


async def get_bucket_policy_status(ctx: S3Request) -> S3Result:
    record = await domain.get_bucket(ctx.store, ctx.bucket)
    text = record.settings.get(POLICY_SETTING)
    if not text:
        raise S3Error("NoSuchBucketPolicy", fields={"BucketName": ctx.bucket})
    document = xml.root("PolicyStatus")
    xml.add(document, "IsPublic", policy_is_public(parse_bucket_policy(text, ctx.bucket)))
    return S3Result(document=document)


async def put_bucket_acl(ctx: S3Request) -> S3Result:
    acl = ctx.header("x-amz-acl")
    body = await ctx.read_small_body(xml.MAX_XML_BODY)
    if acl is None or body.strip():
        raise S3Error(
            "NotImplemented", "Only canned ACLs (x-amz-acl: private or public-read) are supported."
        )
    await domain.set_setting(ctx.store, ctx.bucket, POLICY_SETTING, canned_policy(ctx.bucket, acl))
    return S3Result()


async def get_bucket_acl(ctx: S3Request) -> S3Result:
    """The ACL the bucket's policy amounts to: the owner's FULL_CONTROL, and READ for
    everyone when the policy makes the bucket public."""
    record = await domain.get_bucket(ctx.store, ctx.bucket)
    text = record.settings.get(POLICY_SETTING)
    public = bool(text) and policy_is_public(parse_bucket_policy(str(text), ctx.bucket))
    document = xml.root("AccessControlPolicy")
    owner(document, ctx.principal.name)
    grants = xml.add(document, "AccessControlList")
    grant = xml.add(grants, "Grant")
    grantee = xml.add(grant, "Grantee")
    grantee.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
    grantee.set("xsi:type", "CanonicalUser")
    xml.add(grantee, "ID", ctx.principal.name)
    xml.add(grantee, "DisplayName", ctx.principal.name)
    xml.add(grant, "Permission", "FULL_CONTROL")
    if public:
        grant = xml.add(grants, "Grant")
        grantee = xml.add(grant, "Grantee")
        grantee.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
        grantee.set("xsi:type", "Group")
        xml.add(grantee, "URI", ALL_USERS)
        xml.add(grant, "Permission", "READ")
    return S3Result(document=document)
