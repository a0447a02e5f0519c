"""Bucket lifecycle at the S3 edge: Put/Get/DeleteBucketLifecycleConfiguration.

The XML is checked as S3 checks it and kept as the domain's rules (in the bucket's record,
so ``reindex`` brings it back); a sweeper in the gateway applies it (domain/sweeper.py).
Transitions have nowhere to go (one storage class) and are refused, never silently dropped.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleRule.html
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from gateway.domain import buckets as domain
from gateway.domain.lifecycle import LIFECYCLE_SETTING, Filter, Rule, dumps, get_rules
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.payload import checked_small_body
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result

MAX_RULES = 1000
MAX_ID = 255
MAX_NEWER_NONCURRENT = 100  # "You can specify up to 100 noncurrent versions to retain"
UNSUPPORTED = ("Transition", "NoncurrentVersionTransition", "Transitions")


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidArgument", message)


def _count(element: Element, tag: str, what: str, *, positive: bool = True) -> int | None:
    text = element.findtext(tag)
    if text is None:
        return None
    text = text.strip()
    if not text.lstrip("-").isdigit():
        raise S3Error("MalformedXML")
    value = int(text)
    if value < (1 if positive else 0):
        raise _invalid(f"'{tag}' for {what} must be a positive integer")
    return value


def _size(element: Element, tag: str) -> int | None:
    return _count(element, tag, "a filter", positive=False)


def _tag(element: Element) -> tuple[str, str]:
    key, value = element.findtext("Key"), element.findtext("Value")
    if key is None or value is None:
        raise S3Error("MalformedXML")
    return key, value


def _filter(rule: Element) -> Filter:
    legacy = rule.findtext("Prefix")
    given = rule.find("Filter")
    if legacy is not None and given is not None:
        raise S3Error("MalformedXML")
    if given is None:
        return Filter(prefix=legacy or "")
    parts = [child.tag for child in given]
    if len(parts) > 1:
        raise S3Error("MalformedXML")  # more than one condition must be inside <And>
    scope = given.find("And")
    if scope is None:
        scope = given
    elif len(list(scope)) < 2:
        raise S3Error("MalformedXML")
    tags = tuple(_tag(tag) for tag in scope.findall("Tag"))
    if len({name for name, _ in tags}) != len(tags):
        raise _invalid("Duplicate Tag Keys are not allowed.")
    chosen = Filter(
        prefix=scope.findtext("Prefix") or "",
        tags=tags,
        size_greater_than=_size(scope, "ObjectSizeGreaterThan"),
        size_less_than=_size(scope, "ObjectSizeLessThan"),
    )
    low, high = chosen.size_greater_than, chosen.size_less_than
    if low is not None and high is not None and low >= high:
        raise _invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan")
    return chosen


def _date(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid("'Date' must be at midnight GMT") from exc
    moment = moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) != (0, 0, 0, 0):
        raise _invalid("'Date' must be at midnight GMT")
    return moment


def _rule(element: Element) -> Rule:
    if any(element.find(tag) is not None for tag in UNSUPPORTED):
        raise S3Error(
            "NotImplemented", "Transitions are not supported: this store has one storage class."
        )
    status = element.findtext("Status")
    if status not in {"Enabled", "Disabled"}:
        raise S3Error("MalformedXML")
    rule_id = element.findtext("ID") or secrets.token_urlsafe(36)[:48]
    if len(rule_id) > MAX_ID:
        raise _invalid("ID length should not exceed allowed limit of 255")
    chosen = _filter(element)
    days = date = noncurrent = newer = abort = marker = None
    expiration = element.find("Expiration")
    if expiration is not None:
        days = _count(expiration, "Days", "Expiration action")
        text = expiration.findtext("Date")
        date = _date(text) if text is not None else None
        marker = expiration.findtext("ExpiredObjectDeleteMarker")
        if sum(x is not None for x in (days, date, marker)) != 1:
            raise S3Error("MalformedXML")  # ExpiredObjectDeleteMarker goes alone
        if marker is not None and marker.strip().lower() not in {"true", "false"}:
            raise S3Error("MalformedXML")
        if marker is not None and chosen.tags:
            raise _invalid("ExpiredObjectDeleteMarker cannot be specified with a Tag filter.")
    noncurrent_element = element.find("NoncurrentVersionExpiration")
    if noncurrent_element is not None:
        noncurrent = _count(noncurrent_element, "NoncurrentDays", "NoncurrentVersionExpiration")
        newer = _count(noncurrent_element, "NewerNoncurrentVersions", "NewerNoncurrentVersions")
        if noncurrent is None:
            raise S3Error("MalformedXML")
        if newer is not None and newer > MAX_NEWER_NONCURRENT:
            raise _invalid(f"'NewerNoncurrentVersions' must be at most {MAX_NEWER_NONCURRENT}")
    abort_element = element.find("AbortIncompleteMultipartUpload")
    if abort_element is not None:
        abort = _count(abort_element, "DaysAfterInitiation", "AbortIncompleteMultipartUpload")
        if abort is None:
            raise S3Error("MalformedXML")
        if chosen.tags or chosen.size_greater_than is not None or chosen.size_less_than:
            raise S3Error(
                "InvalidRequest",
                "AbortIncompleteMultipartUpload cannot be specified with Tags or object size "
                "filters.",
            )
    if expiration is None and noncurrent_element is None and abort_element is None:
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    return Rule(
        id=rule_id,
        enabled=status == "Enabled",
        filter=chosen,
        expiration_days=days,
        expiration_date=date,
        expired_object_delete_marker=(marker or "").strip().lower() == "true",
        noncurrent_days=noncurrent,
        newer_noncurrent_versions=newer,
        abort_incomplete_days=abort,
    )


def parse_configuration(body: bytes) -> list[Rule]:
    document = xml.parse(body)
    if document.tag != "LifecycleConfiguration":
        raise S3Error("MalformedXML")
    elements = document.findall("Rule")
    if not elements or len(elements) > MAX_RULES:
        raise S3Error("MalformedXML")
    rules = [_rule(element) for element in elements]
    if len({rule.id for rule in rules}) != len(rules):
        raise _invalid("Rule ID must be unique. Found same ID for more than one rule")
    return rules


async def put_bucket_lifecycle(ctx: S3Request) -> S3Result:
    body = await checked_small_body(ctx, xml.MAX_XML_BODY, required=True)
    rules = parse_configuration(body)
    await domain.set_setting(ctx.store, ctx.bucket, LIFECYCLE_SETTING, dumps(rules))
    return S3Result(
        headers={"x-amz-transition-default-minimum-object-size": "all_storage_classes_128K"}
    )


def _render_filter(parent: Element, chosen: Filter) -> None:
    element = xml.add(parent, "Filter")
    parts: list[tuple[str, object]] = []
    if chosen.prefix:
        parts.append(("Prefix", chosen.prefix))
    parts += [("Tag", tag) for tag in chosen.tags]
    if chosen.size_greater_than is not None:
        parts.append(("ObjectSizeGreaterThan", chosen.size_greater_than))
    if chosen.size_less_than is not None:
        parts.append(("ObjectSizeLessThan", chosen.size_less_than))
    scope = xml.add(element, "And") if len(parts) > 1 else element
    if not parts:
        xml.add(element, "Prefix", "")
    for tag, value in parts:
        if isinstance(value, tuple):
            pair = xml.add(scope, "Tag")
            xml.add(pair, "Key", value[0])
            xml.add(pair, "Value", value[1])
        else:
            xml.add(scope, tag, str(value))


async def get_bucket_lifecycle(ctx: S3Request) -> S3Result:
    rules = await get_rules(ctx.store, ctx.bucket)
    if not rules:
        raise S3Error("NoSuchLifecycleConfiguration", fields={"BucketName": ctx.bucket})
    document = xml.root("LifecycleConfiguration")
    for rule in rules:
        element = xml.add(document, "Rule")
        if rule.expiration_date is not None:
            expiration = xml.add(element, "Expiration")
            xml.add(expiration, "Date", rule.expiration_date.strftime("%Y-%m-%dT%H:%M:%SZ"))
        elif rule.expiration_days is not None:
            xml.add(xml.add(element, "Expiration"), "Days", rule.expiration_days)
        elif rule.expired_object_delete_marker:
            xml.add(xml.add(element, "Expiration"), "ExpiredObjectDeleteMarker", True)
        xml.add(element, "ID", rule.id)
        _render_filter(element, rule.filter)
        xml.add(element, "Status", "Enabled" if rule.enabled else "Disabled")
        if rule.noncurrent_days is not None:
            noncurrent = xml.add(element, "NoncurrentVersionExpiration")
            xml.add(noncurrent, "NoncurrentDays", rule.noncurrent_days)
            if rule.newer_noncurrent_versions is not None:
                xml.add(noncurrent, "NewerNoncurrentVersions", rule.newer_noncurrent_versions)
        if rule.abort_incomplete_days is not None:
            abort = xml.add(element, "AbortIncompleteMultipartUpload")
            xml.add(abort, "DaysAfterInitiation", rule.abort_incomplete_days)
    return S3Result(
        document=document,
        headers={"x-amz-transition-default-minimum-object-size": "all_storage_classes_128K"},
    )


async def delete_bucket_lifecycle(ctx: S3Request) -> S3Result:
    await domain.set_setting(ctx.store, ctx.bucket, LIFECYCLE_SETTING, None)
    return S3Result(status=204)
