"""Listing at the S3 edge: ListObjects (v1), ListObjectsV2 and ListObjectVersions.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjects.html
https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import quote
from xml.etree.ElementTree import Element

from gateway.domain import version_ids
from gateway.domain.buckets import get_bucket
from gateway.domain.listing import MAX_KEYS, ListPage, list_entries, list_versions
from gateway.s3 import xml
from gateway.s3.buckets import owner
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result


def encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def decode_token(token: str) -> str:
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect") from exc
    if not isinstance(after, str):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect")
    return after


def max_keys_param(query: dict[str, str], name: str = "max-keys") -> int:
    value = query.get(name, str(MAX_KEYS))
    try:
        number = int(value)
    except ValueError as exc:
        raise S3Error(
            "InvalidArgument", f"Provided {name} not an integer or within integer range"
        ) from exc
    if number < 0:
        raise S3Error(
            "InvalidArgument", f"Argument {name} must be an integer between 0 and 2147483647"
        )
    return min(number, MAX_KEYS)


def url_encoded(query: dict[str, str]) -> bool:
    encoding = query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request")
    return encoding == "url"


def encoded_text(value: str, url: bool) -> str:
    return quote(value, safe="/") if url else value


async def _page(ctx: S3Request, after: str | None, max_keys: int) -> ListPage:
    await get_bucket(ctx.store, ctx.bucket)
    return await list_entries(
        ctx.store,
        ctx.bucket,
        prefix=ctx.query.get("prefix", ""),
        delimiter=ctx.query.get("delimiter", ""),
        after=after,
        max_keys=max_keys,
    )


def _common(document: Element, prefixes: list[str], url: bool) -> None:
    for prefix in prefixes:
        xml.add(xml.add(document, "CommonPrefixes"), "Prefix", encoded_text(prefix, url))


async def list_objects(ctx: S3Request) -> S3Result:
    query = ctx.query
    url = url_encoded(query)
    v2 = query.get("list-type") == "2"
    max_keys = max_keys_param(query)
    token = query.get("continuation-token") if v2 else None  # empty: as if not sent, as S3
    if v2:
        after = decode_token(token) if token else query.get("start-after") or None
    else:
        after = query.get("marker") or None
    page = await _page(ctx, after, max_keys)
    document = xml.root("ListBucketResult")
    xml.add(document, "Name", ctx.bucket)
    xml.add(document, "Prefix", encoded_text(query.get("prefix", ""), url))
    if v2:
        if token:
            xml.add(document, "ContinuationToken", token)
        if "start-after" in query:
            xml.add(document, "StartAfter", encoded_text(query["start-after"], url))
        xml.add(document, "KeyCount", page.count)
    else:
        xml.add(document, "Marker", encoded_text(query.get("marker", ""), url))
    xml.add(document, "MaxKeys", max_keys)
    if query.get("delimiter"):
        xml.add(document, "Delimiter", encoded_text(query["delimiter"], url))
    if url:
        xml.add(document, "EncodingType", "url")
    xml.add(document, "IsTruncated", page.truncated)
    if page.truncated and page.last is not None:
        if v2:
            xml.add(document, "NextContinuationToken", encode_token(page.last))
        elif query.get("delimiter"):
            xml.add(document, "NextMarker", encoded_text(page.last, url))
    fetch_owner = not v2 or query.get("fetch-owner") == "true"
    for record in page.objects:
        item = xml.add(document, "Contents")
        xml.add(item, "Key", encoded_text(record.key, url))
        xml.add(item, "LastModified", xml.iso_time(record.last_modified))
        xml.add(item, "ETag", record.etag)
        if record.checksum_algorithm is not None:
            xml.add(item, "ChecksumAlgorithm", record.checksum_algorithm)
        xml.add(item, "Size", record.size)
        if fetch_owner:
            owner(item, ctx.principal.name)
        xml.add(item, "StorageClass", "STANDARD")
    _common(document, page.prefixes, url)
    return S3Result(document=document)


async def list_object_versions(ctx: S3Request) -> S3Result:
    """Versions and delete markers, keys in order and each key's versions newest first; a
    bucket never versioned lists each object as its one version, VersionId ``null``."""
    query = ctx.query
    url = url_encoded(query)
    max_keys = max_keys_param(query)
    key_marker = query.get("key-marker", "")
    version_marker = query.get("version-id-marker", "")
    if version_marker and not key_marker:
        raise S3Error(
            "InvalidArgument", "A version-id marker cannot be specified without a key marker."
        )
    if version_marker:
        version_ids.parse_version_id(version_marker)
    await get_bucket(ctx.store, ctx.bucket)
    page = await list_versions(
        ctx.store,
        ctx.bucket,
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        key_marker=key_marker,
        version_marker=version_marker,
        max_keys=max_keys,
    )
    document = xml.root("ListVersionsResult")
    xml.add(document, "Name", ctx.bucket)
    xml.add(document, "Prefix", encoded_text(query.get("prefix", ""), url))
    xml.add(document, "KeyMarker", encoded_text(key_marker, url))
    xml.add(document, "VersionIdMarker", version_marker)
    xml.add(document, "MaxKeys", max_keys)
    if query.get("delimiter"):
        xml.add(document, "Delimiter", encoded_text(query["delimiter"], url))
    if url:
        xml.add(document, "EncodingType", "url")
    xml.add(document, "IsTruncated", page.truncated)
    if page.truncated and page.next_key is not None:
        xml.add(document, "NextKeyMarker", encoded_text(page.next_key, url))
        if page.next_version is not None:
            xml.add(document, "NextVersionIdMarker", page.next_version)
    for record, latest in page.entries:
        item = xml.add(document, "DeleteMarker" if record.delete_marker else "Version")
        xml.add(item, "Key", encoded_text(record.key, url))
        xml.add(item, "VersionId", record.version)
        xml.add(item, "IsLatest", latest)
        xml.add(item, "LastModified", xml.iso_time(record.last_modified))
        if not record.delete_marker:
            xml.add(item, "ETag", record.etag)
            xml.add(item, "Size", record.size)
            xml.add(item, "StorageClass", "STANDARD")
        owner(item, ctx.principal.name)
    _common(document, page.prefixes, url)
    return S3Result(document=document)
