"""Object Lock at the S3 edge: Put/GetObjectLockConfiguration, Put/GetObjectRetention,
Put/GetObjectLegalHold, the ``x-amz-object-lock-*`` headers of writes and of GET/HEAD, and
``x-amz-bucket-object-lock-enabled`` on CreateBucket.

The configuration, retention and legal hold documents need Content-MD5 or an
``x-amz-checksum-*`` header (as S3 requires; SDKs add one), and so does a write that carries
lock headers.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLegalHold.html
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from gateway.domain import mapping, objectlock
from gateway.domain.values import NO_LOCK, ObjectLock
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.headers import content_md5
from gateway.s3.payload import checked_small_body, declared_in_headers
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

MODE = "x-amz-object-lock-mode"
UNTIL = "x-amz-object-lock-retain-until-date"
HOLD = "x-amz-object-lock-legal-hold"
BYPASS = "x-amz-bypass-governance-retention"
BUCKET_ENABLED = "x-amz-bucket-object-lock-enabled"
BYPASS_ACTION = "s3:BypassGovernanceRetention"


def _date(text: str) -> datetime:
    """An ISO 8601 timestamp (what SDKs send), to the millisecond."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise S3Error("InvalidArgument", "The retain until date is not valid.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return mapping.truncate_to_millis(moment.astimezone(UTC))


def _future(moment: datetime) -> datetime:
    if moment <= datetime.now(UTC):
        raise S3Error("InvalidArgument", "The retain until date must be in the future!")
    return moment


def bucket_lock_requested(headers: Mapping[str, str]) -> bool:
    return headers.get(BUCKET_ENABLED, "").strip().lower() == "true"


def write_lock(ctx: S3Request) -> ObjectLock:
    """The lock a write asks for in its headers (PutObject, CopyObject,
    CreateMultipartUpload); it needs Content-MD5 or a checksum, as S3 says."""
    headers = ctx.request.headers
    mode, until, hold = headers.get(MODE), headers.get(UNTIL), headers.get(HOLD)
    if mode is None and until is None and hold is None:
        return NO_LOCK
    if (mode is None) != (until is None):
        raise S3Error(
            "InvalidArgument",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
        )
    if mode is not None and mode not in objectlock.MODES:
        raise S3Error("InvalidArgument", "Unknown wormMode directive.")
    if hold is not None and hold not in {"ON", "OFF"}:
        raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
    plain_put = ctx.request.method == "PUT" and "x-amz-copy-source" not in headers
    if plain_put and content_md5(headers) is None and not _checksum_declared(ctx):
        raise S3Error(
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
            "requests with Object Lock parameters",
        )
    return ObjectLock(
        mode=mode,
        until=_future(_date(until)) if until is not None else None,
        legal_hold=hold == "ON",
    )


def _checksum_declared(ctx: S3Request) -> bool:
    """A flexible checksum in a header, or announced for the aws-chunked trailer."""
    headers = ctx.request.headers
    return bool(declared_in_headers(ctx)) or "x-amz-trailer" in headers


def lock_headers(lock: ObjectLock) -> dict[str, str]:
    """What GET and HEAD answer of a version's lock (nothing for a version without one)."""
    headers: dict[str, str] = {}
    if lock.mode is not None and lock.until is not None:
        headers[MODE] = lock.mode
        headers[UNTIL] = xml.iso_time(lock.until)
    if lock.legal_hold or lock.manifest is not None or lock.mode is not None:
        headers[HOLD] = "ON" if lock.legal_hold else "OFF"
    return headers


async def bypass(ctx: S3Request) -> bool:
    """The governance bypass: asked for with the header and allowed by the decision."""
    if (ctx.header(BYPASS) or "").strip().lower() != "true":
        return False
    return await ctx.can(BYPASS_ACTION, ctx.bucket, ctx.key)


async def put_object_lock_configuration(ctx: S3Request) -> S3Result:
    document = xml.parse(await checked_small_body(ctx, xml.MAX_XML_BODY, required=True))
    if document.tag != "ObjectLockConfiguration":
        raise S3Error("MalformedXML")
    if document.findtext("ObjectLockEnabled") != "Enabled":
        raise S3Error("MalformedXML")
    rule = document.find("Rule")
    config = objectlock.LockConfiguration()
    if rule is not None:
        retention = rule.find("DefaultRetention")
        if retention is None:
            raise S3Error("MalformedXML")
        mode = retention.findtext("Mode")
        days, years = retention.findtext("Days"), retention.findtext("Years")
        if mode not in objectlock.MODES or (days is None) == (years is None):
            raise S3Error("MalformedXML")
        period = days if days is not None else years
        assert period is not None
        try:
            number = int(period)
        except ValueError as exc:
            raise S3Error("MalformedXML") from exc
        if number <= 0:
            raise S3Error(
                "InvalidArgument", "Default retention period must be a positive integer value."
            )
        config = objectlock.LockConfiguration(
            objectlock.DefaultRetention(
                mode,
                days=number if days is not None else None,
                years=number if years is not None else None,
            )
        )
    await objectlock.put_object_lock_configuration(ctx.store, ctx.bucket, config)
    return S3Result()


async def get_object_lock_configuration(ctx: S3Request) -> S3Result:
    config = await objectlock.get_object_lock_configuration(ctx.store, ctx.bucket)
    document = xml.root("ObjectLockConfiguration")
    xml.add(document, "ObjectLockEnabled", "Enabled")
    if config.rule is not None:
        retention = xml.add(xml.add(document, "Rule"), "DefaultRetention")
        xml.add(retention, "Mode", config.rule.mode)
        if config.rule.days is not None:
            xml.add(retention, "Days", config.rule.days)
        if config.rule.years is not None:
            xml.add(retention, "Years", config.rule.years)
    return S3Result(document=document)


async def put_object_retention(ctx: S3Request) -> S3Result:
    document = xml.parse(await checked_small_body(ctx, xml.MAX_XML_BODY, required=True))
    if document.tag != "Retention":
        raise S3Error("MalformedXML")
    mode, until = document.findtext("Mode"), document.findtext("RetainUntilDate")
    if (mode is None) != (until is None) or (mode is not None and mode not in objectlock.MODES):
        raise S3Error("MalformedXML")
    retention = None
    if mode is not None and until is not None:
        retention = (mode, _future(_date(until)))
    await objectlock.put_object_retention(
        ctx.store,
        ctx.bucket,
        ctx.key,
        ctx.query.get("versionId"),
        retention,
        bypass=await bypass(ctx),
    )
    return S3Result()


async def get_object_retention(ctx: S3Request) -> S3Result:
    lock = await objectlock.get_object_retention(
        ctx.store, ctx.bucket, ctx.key, ctx.query.get("versionId")
    )
    assert lock.mode is not None
    assert lock.until is not None
    document = xml.root("Retention")
    xml.add(document, "Mode", lock.mode)
    xml.add(document, "RetainUntilDate", xml.iso_time(lock.until))
    return S3Result(document=document)


async def put_object_legal_hold(ctx: S3Request) -> S3Result:
    document = xml.parse(await checked_small_body(ctx, xml.MAX_XML_BODY, required=True))
    status = document.findtext("Status")
    if document.tag != "LegalHold" or status not in {"ON", "OFF"}:
        raise S3Error("MalformedXML")
    await objectlock.put_object_legal_hold(
        ctx.store, ctx.bucket, ctx.key, ctx.query.get("versionId"), status == "ON"
    )
    return S3Result()


async def get_object_legal_hold(ctx: S3Request) -> S3Result:
    on = await objectlock.get_object_legal_hold(
        ctx.store, ctx.bucket, ctx.key, ctx.query.get("versionId")
    )
    document = xml.root("LegalHold")
    xml.add(document, "Status", "ON" if on else "OFF")
    return S3Result(document=document)
