"""Bucket versioning at the S3 edge: PutBucketVersioning, GetBucketVersioning.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html
"""

from __future__ import annotations

from gateway.domain import versions
from gateway.domain.buckets import get_bucket
from gateway.domain.values import ObjectRecord
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

STATES = frozenset({versions.ENABLED, versions.SUSPENDED})
VERSION_ID = "x-amz-version-id"


async def version_header(ctx: S3Request, bucket: str, record: ObjectRecord) -> dict[str, str]:
    """``x-amz-version-id`` for an object of a bucket whose versioning was ever set (``null``
    for its null version); none for a bucket never versioned, as S3."""
    if record.version_id is None and versions.status(await get_bucket(ctx.store, bucket)) is None:
        return {}
    return {VERSION_ID: record.version}


async def put_bucket_versioning(ctx: S3Request) -> S3Result:
    """Enabled or Suspended. MFA delete is not offered: ``MfaDelete`` ``Enabled`` (which
    S3 takes only with an ``x-amz-mfa`` device code) answers NotImplemented."""
    document = xml.parse(await ctx.read_small_body(xml.MAX_XML_BODY))
    if document.tag != "VersioningConfiguration":
        raise S3Error("MalformedXML")
    state = document.findtext("Status")
    mfa_delete = document.findtext("MfaDelete")
    if mfa_delete not in {None, "Disabled", "Enabled"}:
        raise S3Error("MalformedXML")
    if mfa_delete == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not implemented.")
    if state not in STATES:
        raise S3Error("IllegalVersioningConfigurationException")
    await versions.put_bucket_versioning(ctx.store, ctx.bucket, state)
    return S3Result()


async def get_bucket_versioning(ctx: S3Request) -> S3Result:
    """An empty configuration for a bucket never versioned, as S3 answers."""
    state = await versions.get_bucket_versioning(ctx.store, ctx.bucket)
    document = xml.root("VersioningConfiguration")
    if state is not None:
        xml.add(document, "Status", state)
    return S3Result(document=document)
