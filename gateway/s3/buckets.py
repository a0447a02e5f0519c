"""Bucket operations at the S3 edge: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation (versioning: ``versioning.py``)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from xml.etree.ElementTree import Element

from gateway.domain import buckets as domain
from gateway.domain import objectlock as domain_lock
from gateway.domain.buckets import POLICY_SETTING
from gateway.domain.errors import BucketAlreadyOwnedByYou
from gateway.policy.decide import canned_acl_policy
from gateway.policy.public import UnsupportedCannedAcl
from gateway.s3 import objectlock, xml
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

LEGACY_REGION = "us-east-1"
MAX_BUCKETS = 10_000
_INTEGER = re.compile(r"[+-]?[0-9]+")
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


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
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html

    Paginated when any of ``max-buckets``, ``continuation-token``, ``prefix`` or
    ``bucket-region`` is sent (10,000 a page by default, as S3); empty values are as absent.
    """
    query = ctx.query
    token, prefix, region = (
        query.get("continuation-token"),
        query.get("prefix", ""),
        query.get("bucket-region"),
    )
    paged = bool(token or prefix or region) or "max-buckets" in query
    limit = max_buckets(query.get("max-buckets")) if paged else 0

    async def visible(name: str) -> bool:
        return await ctx.can("s3:ListBucket", name)

    page = await domain.list_buckets(
        ctx.store,
        visible,
        prefix=prefix,
        after=bucket_after(token) if token else "",
        region=region or None,
        limit=limit,
    )
    document = xml.root("ListAllMyBucketsResult")
    owner(document, ctx.principal.name)
    listed = xml.add(document, "Buckets")
    for record in page.buckets:
        bucket = xml.add(listed, "Bucket")
        xml.add(bucket, "Name", record.name)
        xml.add(bucket, "CreationDate", xml.iso_time(record.created))
        xml.add(bucket, "BucketRegion", record.region)
    if page.last is not None:
        xml.add(document, "ContinuationToken", bucket_token(page.last))
    if "prefix" in query:
        xml.add(document, "Prefix", prefix)
    return S3Result(document=document)


def max_buckets(value: str | None) -> int:
    """``max-buckets``: 1 to 10,000 (the service model's bounds), 10,000 when not sent."""
    if value is None:
        return MAX_BUCKETS
    number = int(value) if _INTEGER.fullmatch(value) and len(value) <= 11 else 0
    if not 1 <= number <= MAX_BUCKETS:
        raise S3Error(
            "InvalidArgument",
            f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS}",
            fields={"ArgumentName": "max-buckets", "ArgumentValue": value},
        )
    return number


def bucket_token(after: str) -> str:
    """The opaque continuation token of a ListBuckets page that ended at bucket ``after``."""
    raw = json.dumps({"v": 1, "after": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def bucket_after(token: str) -> str:
    """The bucket name a ``bucket_token`` continues after; InvalidArgument for anything else."""
    if not _TOKEN.fullmatch(token):
        raise _bad_token(token)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        claims = json.loads(raw)
        after = claims["after"] if claims.get("v") == 1 else None
    except (binascii.Error, ValueError, AttributeError, KeyError, TypeError) as exc:
        raise _bad_token(token) from exc
    if not isinstance(after, str) or not after:
        raise _bad_token(token)
    return after


def _bad_token(token: str) -> S3Error:
    return S3Error(
        "InvalidArgument",
        "The continuation token provided is incorrect",
        fields={"ArgumentName": "continuation-token", "ArgumentValue": token},
    )


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
    if objectlock.bucket_lock_requested(ctx.request.headers):
        settings |= domain_lock.bucket_settings()
    try:
        await domain.create_bucket(ctx.store, ctx.bucket, settings)
    except BucketAlreadyOwnedByYou:
        # S3's legacy answer in North Virginia only: 200 for a bucket the caller already owns
        # (every bucket here is the one account's); 409 in every other region. The bucket and
        # its settings are left as they are.
        if ctx.store.region != LEGACY_REGION:
            raise
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
