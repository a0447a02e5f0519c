"""Tags at the S3 edge: Get/Put/DeleteObjectTagging, Get/Put/DeleteBucketTagging, the
``x-amz-tagging`` header of writes, and the tag condition keys policies test
(``s3:ExistingObjectTag/<key>``, ``s3:RequestObjectTag/<key>``, ``s3:RequestObjectTagKeys``).

Limits and answers as S3 gives them: at most 10 tags per object and 50 per bucket
(``BadRequest``), keys of 1-128 and values of 0-256 characters matching
``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``, unique keys, no ``aws:`` keys (``InvalidTag``); a document
that is not ``Tagging/TagSet/Tag/{Key,Value}`` is ``MalformedXML``; a header that is not a
UTF-8 URL query without duplicates is ``InvalidArgument``.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_S3Tag.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request

from gateway.domain import tagging as domain
from gateway.domain.store import Store
from gateway.policy.conditions import ContextValues
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.payload import checked_small_body
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result
from gateway.s3.versioning import version_header

OBJECT_LIMIT = 10
BUCKET_LIMIT = 50
HEADER = "x-amz-tagging"
DIRECTIVE = "x-amz-tagging-directive"
COUNT = "x-amz-tagging-count"
EXTRA = frozenset("_.:/=+-@")
EXISTING = "s3:ExistingObjectTag/"
REQUEST = "s3:RequestObjectTag/"
REQUEST_KEYS = "s3:RequestObjectTagKeys"
# As policies name them, lowered ("requestobjecttag" is in "requestobjecttagkeys" too).
TAG_CONDITIONS = ("existingobjecttag", "requestobjecttag")
# Object actions that policies may condition on the object's current tags.
EXISTING_TAG_ACTIONS = frozenset(
    {"s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"}
)
# Writes whose x-amz-tagging header policies may test.
REQUEST_TAG_OPERATIONS = frozenset({"PutObject", "CreateMultipartUpload", "CopyObject"})


def _text_ok(text: str) -> bool:
    return all(c in EXTRA or unicodedata.category(c)[0] in "LZN" for c in text)


def check_tags(tags: list[tuple[str, str]], *, bucket: bool = False) -> dict[str, str]:
    """The tag set, sorted by key, or the S3 error for the first thing wrong with it."""
    limit = BUCKET_LIMIT if bucket else OBJECT_LIMIT
    if len(tags) > limit:
        message = (
            "Bucket tag count cannot be greater than 50"
            if bucket
            else "Object tags cannot be greater than 10"
        )
        raise S3Error("BadRequest", message)
    found: dict[str, str] = {}
    for key, value in tags:
        if not 1 <= len(key) <= 128 or not _text_ok(key):
            raise S3Error(
                "InvalidTag", "The TagKey you have provided is invalid", fields={"TagKey": key}
            )
        if len(value) > 256 or not _text_ok(value):
            raise S3Error(
                "InvalidTag",
                "The TagValue you have provided is invalid",
                fields={"TagKey": key, "TagValue": value},
            )
        if key.lower().startswith("aws:"):
            raise S3Error(
                "InvalidTag",
                "System tags cannot be added/updated by requester",
                fields={"TagKey": key},
            )
        if key in found:
            raise S3Error(
                "InvalidTag",
                "Cannot provide multiple Tags with the same key",
                fields={"TagKey": key},
            )
        found[key] = value
    return dict(sorted(found.items()))


def _pairs(value: str) -> list[tuple[str, str]]:
    """``x-amz-tagging``: a URL query string (``a=1&b=2``) of UTF-8 text."""
    wrong = S3Error(
        "InvalidArgument",
        f"The header '{HEADER}' shall be encoded as UTF-8 then URLEncoded URL query "
        "parameters without tag name duplicates.",
        fields={"ArgumentName": HEADER, "ArgumentValue": value},
    )
    try:
        pairs = parse_qsl(value, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise wrong from exc
    keys = [key for key, _ in pairs]
    if any(not key for key in keys) or len(set(keys)) != len(keys):
        raise wrong
    return pairs


def header_tags(headers: Mapping[str, str]) -> dict[str, str]:
    """The tags a write carries in ``x-amz-tagging`` (none without it)."""
    value = headers.get(HEADER)
    return check_tags(_pairs(value)) if value else {}


def parse_document(body: bytes) -> list[tuple[str, str]]:
    """The (key, value) pairs of a ``Tagging`` document, in document order."""
    document = xml.parse(body)
    tag_set = document.find("TagSet")
    if document.tag != "Tagging" or tag_set is None:
        raise S3Error("MalformedXML")
    pairs = []
    for tag in tag_set.findall("Tag"):
        key, value = tag.find("Key"), tag.find("Value")
        if key is None or value is None:
            raise S3Error("MalformedXML")
        pairs.append((key.text or "", value.text or ""))
    return pairs


def tagging_document(tags: Mapping[str, str]) -> S3Result:
    document = xml.root("Tagging")
    tag_set = xml.add(document, "TagSet")
    for key, value in tags.items():
        tag = xml.add(tag_set, "Tag")
        xml.add(tag, "Key", key)
        xml.add(tag, "Value", value)
    return S3Result(document=document)


async def _document_tags(ctx: S3Request, *, bucket: bool = False) -> dict[str, str]:
    body = await checked_small_body(ctx, xml.MAX_XML_BODY, required=False)
    return check_tags(parse_document(body), bucket=bucket)


async def get_object_tagging(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html"""
    version = ctx.query.get("versionId")
    record = await domain.get_object_tagging(ctx.store, ctx.bucket, ctx.key, version)
    answer = tagging_document(record.tags)
    answer.headers.update(await version_header(ctx, ctx.bucket, record))
    return answer


async def put_object_tagging(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html"""
    tags = await _document_tags(ctx)
    version = ctx.query.get("versionId")
    record = await domain.put_object_tagging(ctx.store, ctx.bucket, ctx.key, tags, version)
    return S3Result(headers=await version_header(ctx, ctx.bucket, record))


async def delete_object_tagging(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjectTagging.html"""
    version = ctx.query.get("versionId")
    record = await domain.put_object_tagging(ctx.store, ctx.bucket, ctx.key, {}, version)
    return S3Result(status=204, headers=await version_header(ctx, ctx.bucket, record))


async def get_bucket_tagging(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketTagging.html"""
    tags = await domain.get_bucket_tagging(ctx.store, ctx.bucket)
    if tags is None:
        raise S3Error("NoSuchTagSet", fields={"BucketName": ctx.bucket})
    return tagging_document(tags)


async def put_bucket_tagging(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketTagging.html"""
    tags = await _document_tags(ctx, bucket=True)
    await domain.put_bucket_tagging(ctx.store, ctx.bucket, tags)
    return S3Result(status=204)


async def delete_bucket_tagging(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteBucketTagging.html"""
    await domain.put_bucket_tagging(ctx.store, ctx.bucket, None)
    return S3Result(status=204)


def _lenient(parse: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Tags for a policy's eyes only: what does not parse has none (the handler then answers
    the proper error, if the request is allowed at all)."""
    try:
        return parse()
    except S3Error:
        return {}


async def condition_keys(
    store: Store,
    operation: str,
    action: str,
    bucket: str,
    key: str,
    request: Request,
    mentions: set[str],
) -> dict[str, ContextValues]:
    """The tag condition keys of a request, for the policies that test them (``mentions``:
    which of ``existingobjecttag`` and ``requestobjecttag`` the policies in play name).
    PutObjectTagging's tags are in its small body, read here once (Starlette keeps it for the
    handler). ``s3:RequestObjectTagKeys`` holds the request's tag keys, one value each (absent
    when it carries none, as ``RequestObjectTag/<key>`` is for a key it does not carry)."""
    keys: dict[str, ContextValues] = {}
    if "existingobjecttag" in mentions and action in EXISTING_TAG_ACTIONS and key:
        existing = await domain.existing_tags(store, bucket, key)
        keys.update({EXISTING + name: value for name, value in (existing or {}).items()})
    if "requestobjecttag" not in mentions:
        return keys
    requested: dict[str, str] = {}
    if operation in REQUEST_TAG_OPERATIONS and (
        operation != "CopyObject" or request.headers.get(DIRECTIVE, "COPY").upper() == "REPLACE"
    ):
        requested = _lenient(lambda: header_tags(request.headers))
    elif operation == "PutObjectTagging":
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) <= xml.MAX_XML_BODY:
            body = await request.body()
            requested = _lenient(lambda: check_tags(parse_document(body)))
    keys.update({REQUEST + name: value for name, value in requested.items()})
    if requested:
        keys[REQUEST_KEYS] = tuple(requested)
    return keys
