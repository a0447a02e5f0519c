"""Multipart uploads at the S3 edge: Create, UploadPart, UploadPartCopy, Complete, Abort,
ListParts, ListMultipartUploads. Each parses the wire, calls one domain function
(``domain/multipart.py``), writes the wire.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html
"""

from __future__ import annotations

from urllib.parse import quote
from xml.etree.ElementTree import Element

from gateway.domain import multipart as domain
from gateway.domain.checksums import ALGORITHMS
from gateway.domain.values import PartRecord, UploadRecord
from gateway.s3 import xml
from gateway.s3.buckets import owner
from gateway.s3.errors import S3Error
from gateway.s3.headers import parse_range, read_conditions, write_conditions
from gateway.s3.listing import encoded_text, max_keys_param, url_encoded
from gateway.s3.objects import copy_source, copy_source_version, new_object, source_version_header
from gateway.s3.payload import checksum_headers, declared_in_headers, payload
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result
from gateway.s3.versioning import VERSION_ID

MAX_PARTS_LISTED = 1000


def _int(ctx: S3Request, name: str, default: int | None = None) -> int:
    value = ctx.query.get(name)
    if value is None and default is not None:
        return default
    if value is None or not value.isdigit() or len(value) > 9:
        raise S3Error("InvalidArgument", f"{name} must be an integer between 0 and 2147483647.")
    return int(value)


def _algorithm(ctx: S3Request) -> str | None:
    value = ctx.header("x-amz-checksum-algorithm")
    if value is None:
        return None
    if value.upper() not in ALGORITHMS:
        raise S3Error("InvalidRequest", f"Checksum algorithm {value} is not supported.")
    return value.upper()


def _checksum_elements(parent: Element, checksums: dict[str, str]) -> None:
    for name, value in checksums.items():
        xml.add(parent, f"Checksum{name}", value)


def _upload_checksum_headers(upload: UploadRecord) -> dict[str, str]:
    if upload.checksum_algorithm is None or upload.checksum_type is None:
        return {}
    return {
        "x-amz-checksum-algorithm": upload.checksum_algorithm,
        "x-amz-checksum-type": upload.checksum_type,
    }


async def create_multipart_upload(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html

    Object Lock headers (checked as PutObject's, and needing the same permissions: the route
    table's ``_lock_requirements``) are kept with the upload and given to the version
    Complete makes; without them, the bucket's default retention applies there."""
    upload = await domain.create_multipart_upload(
        ctx.store,
        ctx.bucket,
        ctx.key,
        new_object(ctx),
        checksum_algorithm=_algorithm(ctx),
        checksum_type=ctx.header("x-amz-checksum-type"),
    )
    document = xml.root("InitiateMultipartUploadResult")
    xml.add(document, "Bucket", ctx.bucket)
    xml.add(document, "Key", ctx.key)
    xml.add(document, "UploadId", upload.upload_id)
    return S3Result(document=document, headers=_upload_checksum_headers(upload))


async def upload_part(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html"""
    body = payload(ctx)
    if body.size is not None and body.size > domain.MAX_PART_SIZE:
        raise S3Error("EntityTooLarge")
    part, algorithm = await domain.upload_part(
        ctx.store,
        ctx.bucket,
        ctx.key,
        ctx.query["uploadId"],
        _int(ctx, "partNumber"),
        body.body,
        body.size,
        new_object(ctx, body),
    )
    headers = {"ETag": part.etag}
    if algorithm and part.checksum:
        headers.update(checksum_headers({algorithm: part.checksum}, (algorithm,)))
    return S3Result(headers=headers)


async def _part_upload(ctx: S3Request) -> UploadRecord:
    return await domain.live_upload(ctx.store, ctx.bucket, ctx.key, ctx.query["uploadId"])


def _part_checksums(upload: UploadRecord, part: PartRecord) -> dict[str, str]:
    if upload.checksum_algorithm is None or part.checksum is None:
        return {}
    return {upload.checksum_algorithm: part.checksum}


async def upload_part_copy(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html"""
    headers = ctx.request.headers
    source = copy_source(headers["x-amz-copy-source"])
    wanted = headers.get("x-amz-copy-source-range")
    byte_range = parse_range(wanted)
    if wanted is not None and (byte_range is None or byte_range.first is None):
        raise S3Error(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form bytes=first-last where "
            "first and last are the zero-based offsets of the first and last bytes to copy",
        )
    upload = await _part_upload(ctx)
    original, part = await domain.upload_part_copy(
        ctx.store,
        ctx.bucket,
        ctx.key,
        upload.upload_id,
        _int(ctx, "partNumber"),
        source,
        byte_range,
        read_conditions(headers, prefix="x-amz-copy-source-if-"),
        copy_source_version(headers["x-amz-copy-source"]),
    )
    document = xml.root("CopyPartResult")
    xml.add(document, "LastModified", xml.iso_time(part.last_modified))
    xml.add(document, "ETag", part.etag)
    _checksum_elements(document, _part_checksums(upload, part))
    return S3Result(
        document=document, headers=await source_version_header(ctx, source[0], original)
    )


def _requested_parts(body: bytes) -> list[domain.RequestedPart]:
    document = xml.parse(body)
    if document.tag != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    found = []
    for element in document.findall("Part"):
        number = (element.findtext("PartNumber") or "").strip()
        etag = element.findtext("ETag")
        if not number.isdigit() or len(number) > 9 or etag is None:
            raise S3Error("MalformedXML")
        checksums = {
            name: (element.findtext(f"Checksum{name}") or "").strip()
            for name in ALGORITHMS
            if element.find(f"Checksum{name}") is not None
        }
        found.append(domain.RequestedPart(int(number), etag, checksums))
    if not found:
        raise S3Error(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate "
            "against our published schema: you must specify at least one part.",
        )
    return found


def _object_size(ctx: S3Request) -> int | None:
    value = ctx.header("x-amz-mp-object-size")
    if value is None:
        return None
    if not value.isdigit():
        raise S3Error("InvalidArgument", "x-amz-mp-object-size must be a non-negative integer.")
    return int(value)


async def complete_multipart_upload(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html"""
    requested = _requested_parts(await ctx.read_small_body(xml.MAX_XML_BODY))
    headers = ctx.request.headers
    completed = await domain.complete_multipart_upload(
        ctx.store,
        ctx.bucket,
        ctx.key,
        ctx.query["uploadId"],
        requested,
        conditions=write_conditions(headers),
        declared=declared_in_headers(ctx),
        min_part_size=ctx.store.min_part_size,
        checksum_type=ctx.header("x-amz-checksum-type"),
        object_size=_object_size(ctx),
    )
    document = xml.root("CompleteMultipartUploadResult")
    base = str(ctx.request.base_url).rstrip("/")
    xml.add(document, "Location", f"{base}/{quote(ctx.bucket)}/{quote(ctx.key)}")
    xml.add(document, "Bucket", ctx.bucket)
    xml.add(document, "Key", ctx.key)
    xml.add(document, "ETag", completed.etag)
    _checksum_elements(document, completed.checksums)
    if completed.checksum_type:
        xml.add(document, "ChecksumType", completed.checksum_type)
    version = {VERSION_ID: completed.version} if completed.version is not None else {}
    return S3Result(document=document, headers=version)


async def abort_multipart_upload(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html"""
    await domain.abort_multipart_upload(ctx.store, ctx.bucket, ctx.key, ctx.query["uploadId"])
    return S3Result(status=204)


async def list_parts(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html"""
    marker = _int(ctx, "part-number-marker", 0)
    limit = min(_int(ctx, "max-parts", MAX_PARTS_LISTED), MAX_PARTS_LISTED)
    upload, parts, truncated = await domain.list_parts(
        ctx.store, ctx.bucket, ctx.key, ctx.query["uploadId"], marker, limit
    )
    document = xml.root("ListPartsResult")
    xml.add(document, "Bucket", ctx.bucket)
    xml.add(document, "Key", ctx.key)
    xml.add(document, "UploadId", upload.upload_id)
    xml.add(document, "PartNumberMarker", marker)
    xml.add(document, "NextPartNumberMarker", parts[-1].part_number if parts else marker)
    xml.add(document, "MaxParts", limit)
    xml.add(document, "IsTruncated", truncated)
    for part in parts:
        element = xml.add(document, "Part")
        xml.add(element, "PartNumber", part.part_number)
        xml.add(element, "LastModified", xml.iso_time(part.last_modified))
        xml.add(element, "ETag", part.etag)
        xml.add(element, "Size", part.size)
        _checksum_elements(element, _part_checksums(upload, part))
    _initiator(document, ctx)
    xml.add(document, "StorageClass", "STANDARD")
    if upload.checksum_algorithm:
        xml.add(document, "ChecksumAlgorithm", upload.checksum_algorithm)
        xml.add(document, "ChecksumType", upload.checksum_type)
    return S3Result(document=document)


def _initiator(parent: Element, ctx: S3Request) -> None:
    initiator = xml.add(parent, "Initiator")
    xml.add(initiator, "ID", ctx.principal.name)
    xml.add(initiator, "DisplayName", ctx.principal.name)
    owner(parent, ctx.principal.name)


async def list_multipart_uploads(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html"""
    url = url_encoded(ctx.query)
    limit = max_keys_param(ctx.query, "max-uploads")
    prefix = ctx.query.get("prefix", "")
    delimiter = ctx.query.get("delimiter", "")
    key_marker = ctx.query.get("key-marker", "")
    upload_id_marker = ctx.query.get("upload-id-marker", "")
    page = await domain.list_multipart_uploads(
        ctx.store,
        ctx.bucket,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=upload_id_marker,
        limit=limit,
    )
    document = xml.root("ListMultipartUploadsResult")
    xml.add(document, "Bucket", ctx.bucket)
    xml.add(document, "KeyMarker", encoded_text(key_marker, url))
    xml.add(document, "UploadIdMarker", upload_id_marker)
    xml.add(document, "NextKeyMarker", encoded_text(page.next_key_marker, url))
    xml.add(document, "NextUploadIdMarker", page.next_upload_id_marker)
    if delimiter:
        xml.add(document, "Delimiter", encoded_text(delimiter, url))
    xml.add(document, "Prefix", encoded_text(prefix, url))
    xml.add(document, "MaxUploads", limit)
    xml.add(document, "IsTruncated", page.truncated)
    if url:
        xml.add(document, "EncodingType", "url")
    for upload in page.uploads:
        element = xml.add(document, "Upload")
        xml.add(element, "Key", encoded_text(upload.key, url))
        xml.add(element, "UploadId", upload.upload_id)
        _initiator(element, ctx)
        xml.add(element, "StorageClass", "STANDARD")
        xml.add(element, "Initiated", xml.iso_time(upload.initiated))
        if upload.checksum_algorithm:
            xml.add(element, "ChecksumAlgorithm", upload.checksum_algorithm)
            xml.add(element, "ChecksumType", upload.checksum_type)
    for common in page.common_prefixes:
        xml.add(xml.add(document, "CommonPrefixes"), "Prefix", encoded_text(common, url))
    return S3Result(document=document)
