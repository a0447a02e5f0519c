"""Bucket operations at the S3 edge: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, GetBucketVersioning."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from gateway.domain import buckets as domain
from gateway.domain.buckets import POLICY_SETTING
from gateway.policy.decide import canned_acl_policy
from gateway.policy.public import UnsupportedCannedAcl
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result


def canned_policy(bucket: str, acl: str) -> str | None:
    """The policy a canned ACL header stands for (None: no policy); others are refused."""
    try:
        return canned_acl_policy(bucket, acl)
    except UnsupportedCannedAcl as exc:
        raise S3Error(
            "NotImplemented", f"The canned ACL {acl} is not supported: use private or public-read."
        ) from exc


def owner(parent: Element, name: str) -> None:
    element = xml.add(parent, "Owner")
    xml.add(element, "ID", name)
    xml.add(element, "DisplayName", name)


async def list_buckets(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html"""
    document = xml.root("ListAllMyBucketsResult")
    owner(document, ctx.principal.name)
    listed = xml.add(document, "Buckets")
    for record in await domain.list_buckets(ctx.store):
        if not await ctx.can("s3:ListBucket", record.name):
            continue
        bucket = xml.add(listed, "Bucket")
        xml.add(bucket, "Name", record.name)
        xml.add(bucket, "CreationDate", xml.iso_time(record.created))
        xml.add(bucket, "BucketRegion", record.region)
    return S3Result(document=document)


async def create_bucket(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html"""
    body = await ctx.read_small_body(xml.MAX_XML_BODY)
    if body.strip():
        constraint = xml.parse(body).findtext("LocationConstraint")
        if constraint and constraint != ctx.store.region:
            raise S3Error(
                "InvalidArgument",
                f"The location-constraint is not valid: this store is {ctx.store.region}.",
            )
    acl = ctx.header("x-amz-acl")
    policy = canned_policy(ctx.bucket, acl) if acl else None
    settings = {POLICY_SETTING: policy} if policy else {}
    await domain.create_bucket(ctx.store, ctx.bucket, settings)
    return S3Result(headers={"Location": f"/{ctx.bucket}"})


async def head_bucket(ctx: S3Request) -> S3Result:
    record = await domain.get_bucket(ctx.store, ctx.bucket)
    return S3Result(headers={"x-amz-bucket-region": record.region})


async def delete_bucket(ctx: S3Request) -> S3Result:
    await domain.delete_bucket(ctx.store, ctx.bucket)
    return S3Result(status=204)


async def get_bucket_location(ctx: S3Request) -> S3Result:
    """us-east-1 is answered as an empty constraint, as S3 does."""
    record = await domain.get_bucket(ctx.store, ctx.bucket)
    document = xml.root("LocationConstraint")
    if record.region != "us-east-1":
        document.text = record.region
    return S3Result(document=document)


async def get_bucket_versioning(ctx: S3Request) -> S3Result:
    """Buckets are never versioned (yet): an empty configuration, as S3 returns for them."""
    await domain.get_bucket(ctx.store, ctx.bucket)
    return S3Result(document=xml.root("VersioningConfiguration"))
