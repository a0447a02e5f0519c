"""Object operations at the S3 edge: PutObject, CopyObject, GetObject, HeadObject,
DeleteObject, DeleteObjects (their tags: ``tagging.py``). Each parses the wire, calls one
domain function, writes the wire.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from urllib.parse import unquote

from gateway.domain import mapping
from gateway.domain import objects as domain
from gateway.domain.buckets import get_bucket
from gateway.domain.conditions import WriteConditions
from gateway.domain.errors import DomainError, NotModified
from gateway.domain.values import ObjectRecord
from gateway.s3 import objectlock, tagging, xml
from gateway.s3.errors import S3Error, from_exception
from gateway.s3.headers import (
    OCI_REFERENCE,
    apply_overrides,
    caching_overrides,
    content_md5,
    object_headers,
    parse_range,
    read_conditions,
    referrer_headers,
    stored_headers,
    user_metadata,
    write_conditions,
)
from gateway.s3.payload import Payload, checked_small_body, checksum_headers, payload
from gateway.s3.request import S3Request
from gateway.s3.result import S3Result
from gateway.s3.versioning import VERSION_ID, version_header

MAX_DELETE_KEYS = 1000


def _reference(ctx: S3Request, bucket: str, key: str) -> str:
    return mapping.locate(ctx.store.prefix, bucket, key).reference


def new_object(
    ctx: S3Request, body: Payload | None = None, *, conditional: bool = False
) -> domain.NewObject:
    """What the request says of the object; ``conditional``: its If-Match / If-None-Match
    count (PutObject; the other writers ignore them or read them themselves)."""
    headers = ctx.request.headers
    stored = stored_headers(headers)
    stored.setdefault("Content-Type", "binary/octet-stream")
    return domain.NewObject(
        headers=stored,
        metadata=user_metadata(headers),
        content_md5=content_md5(headers),
        content_sha256=ctx.content_sha256,
        conditions=write_conditions(headers) if conditional else WriteConditions(),
        checksum_algorithms=body.algorithms if body else (),
        declared_checksums=body.declared if body else dict,
        tags=tagging.header_tags(headers),
        lock=objectlock.write_lock(ctx),
    )


async def put_object(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html

    A body of unknown length (plain chunked) is held to the same limit while it streams."""
    body = payload(ctx)
    limit = ctx.store.max_object_size
    if body.size is not None and body.size > limit:
        raise S3Error(
            "EntityTooLarge", fields={"MaxSizeAllowed": str(limit), "ProposedSize": str(body.size)}
        )
    record = await domain.put_object(
        ctx.store,
        ctx.bucket,
        ctx.key,
        body.body,
        body.size,
        new_object(ctx, body, conditional=True),
    )
    headers = {"ETag": record.etag, OCI_REFERENCE: _reference(ctx, ctx.bucket, ctx.key)}
    headers.update(checksum_headers(record.checksums, body.algorithms))
    headers.update(await version_header(ctx, ctx.bucket, record))
    return S3Result(headers=headers)


def copy_source(value: str) -> tuple[str, str]:
    source = unquote(value.split("?versionId=", 1)[0]).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key.")
    return bucket, key


def copy_source_version(value: str) -> str | None:
    """The ``versionId`` of ``x-amz-copy-source: /bucket/key?versionId=...``, if named."""
    if "?versionId=" not in value:
        return None
    return unquote(value.split("?versionId=", 1)[1])


async def copy_object(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"""
    headers = ctx.request.headers
    source = copy_source(headers["x-amz-copy-source"])
    source_version = copy_source_version(headers["x-amz-copy-source"])
    directive = headers.get("x-amz-metadata-directive", "COPY").upper()
    if directive not in {"COPY", "REPLACE"}:
        raise S3Error("InvalidArgument", "Unknown metadata directive.")
    tag_directive = headers.get(tagging.DIRECTIVE, "COPY").upper()
    if tag_directive not in {"COPY", "REPLACE"}:
        raise S3Error("InvalidArgument", "Unknown tagging directive.")
    original, record = await domain.copy_object(
        ctx.store,
        source,
        ctx.bucket,
        ctx.key,
        replace_metadata=new_object(ctx) if directive == "REPLACE" else None,
        tags=tagging.header_tags(headers) if tag_directive == "REPLACE" else None,
        source_conditions=read_conditions(headers, prefix="x-amz-copy-source-if-"),
        conditions=write_conditions(headers),
        source_version=source_version,
        lock=objectlock.write_lock(ctx),
    )
    document = xml.root("CopyObjectResult")
    xml.add(document, "LastModified", xml.iso_time(record.last_modified))
    xml.add(document, "ETag", record.etag)
    answer = {OCI_REFERENCE: _reference(ctx, ctx.bucket, ctx.key)}
    answer.update(await version_header(ctx, ctx.bucket, record))
    answer.update(await source_version_header(ctx, source[0], original))
    return S3Result(document=document, headers=answer)


async def source_version_header(
    ctx: S3Request, bucket: str, original: ObjectRecord
) -> dict[str, str]:
    """``x-amz-copy-source-version-id``: the version a copy read (none: never versioned)."""
    found = await version_header(ctx, bucket, original)
    return {"x-amz-copy-source-version-id": found[VERSION_ID]} if found else {}


def _add_checksums(
    ctx: S3Request, headers: dict[str, str], record: ObjectRecord, *, whole: bool
) -> None:
    """Stored checksums go out only when asked for, and only for the whole object."""
    if not whole or (ctx.header("x-amz-checksum-mode") or "").upper() != "ENABLED":
        return
    algorithm = record.checksum_algorithm
    if algorithm is None:
        return
    headers.update(checksum_headers(record.checksums, (algorithm,)))
    composite = "-" in record.checksums[algorithm]
    headers["x-amz-checksum-type"] = "COMPOSITE" if composite else "FULL_OBJECT"


def _part_number(ctx: S3Request) -> int | None:
    value = ctx.query.get("partNumber")
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000.")
    if ctx.header("range"):
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber.")
    return int(value)


async def _open(
    ctx: S3Request, *, download: bool
) -> tuple[domain.ObjectReader, dict[str, str], int]:
    """What GetObject and HeadObject share: lookup, conditions, range and headers."""
    part_number = _part_number(ctx)
    requested = parse_range(ctx.header("range"))
    try:
        record, reader = await domain.get_object(
            ctx.store,
            ctx.bucket,
            ctx.key,
            read_conditions(ctx.request.headers),
            requested,
            part_number,
            download=download,
            version=ctx.query.get("versionId"),
        )
    except NotModified as exc:
        exc.caching.update(caching_overrides(ctx.query))
        raise
    headers = object_headers(record, _reference(ctx, ctx.bucket, ctx.key))
    headers.update(await version_header(ctx, ctx.bucket, record))
    headers.update(referrer_headers(reader.referrers))
    if record.tags:
        headers[tagging.COUNT] = str(len(record.tags))
    headers.update(objectlock.lock_headers(record.lock))
    whole = requested is None and part_number is None
    _add_checksums(ctx, headers, record, whole=whole)
    apply_overrides(headers, ctx.query)
    headers["Content-Length"] = str(reader.length)
    if part_number is not None and "-" in record.etag:
        headers["x-amz-mp-parts-count"] = str(len(record.layers))
    if whole:
        return reader, headers, 200
    if reader.length == 0:  # partNumber=1 of an empty object: nothing to range over
        return reader, headers, 200
    headers["Content-Range"] = f"bytes {reader.first}-{reader.last}/{record.size}"
    return reader, headers, 206


async def head_object(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html"""
    _, headers, status = await _open(ctx, download=False)
    return S3Result(status=status, headers=headers)


async def get_object(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html

    Everything that can fail (lookup, preconditions, range, opening the registry stream)
    happens before the status line goes out: after it, no error document can follow.
    """
    reader, headers, status = await _open(ctx, download=True)
    chunks = reader.chunks()
    first = b""
    try:
        first = await anext(chunks, b"")
    except BaseException:
        await chunks.aclose()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    return S3Result(status=status, headers=headers, stream=body())


async def delete_object(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html"""
    version = ctx.query.get("versionId")
    bypass = version is not None and await objectlock.bypass(ctx)
    deleted = await domain.delete(ctx.store, ctx.bucket, ctx.key, version, bypass=bypass)
    headers = {VERSION_ID: deleted.version_id} if deleted.version_id is not None else {}
    if deleted.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    return S3Result(status=204, headers=headers)


async def delete_objects(ctx: S3Request) -> S3Result:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html

    Content-MD5 is not required (current SDKs send a CRC32 checksum header instead); what
    is sent is checked.
    """
    request = xml.parse(await checked_small_body(ctx, xml.MAX_XML_BODY, required=False))
    if request.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (request.findtext("Quiet") or "").strip().lower() == "true"
    targets = [
        (element.findtext("Key"), element.findtext("VersionId"))
        for element in request.findall("Object")
    ]
    if not targets or len(targets) > MAX_DELETE_KEYS or any(k is None for k, _ in targets):
        raise S3Error("MalformedXML")
    await get_bucket(ctx.store, ctx.bucket)
    document = xml.root("DeleteResult")
    for key, version in targets:
        assert key is not None
        action = "s3:DeleteObject" if version is None else "s3:DeleteObjectVersion"
        if not await ctx.can(action, ctx.bucket, key):
            _failed(document, key, version, S3Error("AccessDenied"))
            continue
        try:
            deleted = await domain.delete(ctx.store, ctx.bucket, key, version)
        except DomainError as exc:
            _failed(document, key, version, from_exception(exc) or S3Error("InternalError"))
            continue
        if not quiet:
            _deleted(document, key, version, deleted)
    return S3Result(document=document)


def _deleted(document: ET.Element, key: str, version: str | None, deleted: domain.Deleted) -> None:
    """A ``Deleted`` entry as S3 writes it: the version named (if any), and for a delete
    marker (made now, or the version named) its version id."""
    entry = xml.add(document, "Deleted")
    xml.add(entry, "Key", key)
    if version is not None:
        xml.add(entry, "VersionId", version)
    if deleted.delete_marker:
        xml.add(entry, "DeleteMarker", "true")
        xml.add(entry, "DeleteMarkerVersionId", deleted.version_id or "")


def _failed(document: ET.Element, key: str, version: str | None, error: S3Error) -> None:
    entry = xml.add(document, "Error")
    xml.add(entry, "Key", key)
    if version is not None:
        xml.add(entry, "VersionId", version)
    xml.add(entry, "Code", error.code)
    xml.add(entry, "Message", error.message)
