"""GetObjectAttributes at the S3 edge: HeadObject and ListParts in one answer, the attributes
named by ``x-amz-object-attributes``.

https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html
"""

from __future__ import annotations

from gateway.domain import objects as domain
from gateway.s3 import xml
from gateway.s3.errors import S3Error
from gateway.s3.request import S3Request, http_date
from gateway.s3.result import S3Result
from gateway.s3.versioning import version_header

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS = 1000


def requested_attributes(value: str | None) -> frozenset[str]:
    """The comma-separated names of ``x-amz-object-attributes``; names are case-sensitive, as
    S3 takes them (botocore sends the model's spelling)."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    if not names:
        raise S3Error(
            "InvalidRequest",
            "The x-amz-object-attributes header specifying the attributes to be retrieved is "
            "either missing or empty",
        )
    unknown = [name for name in names if name not in ATTRIBUTES]
    if unknown:
        raise S3Error("InvalidArgument", "Invalid attribute name specified.")
    return frozenset(names)


def header_int(ctx: S3Request, name: str, default: int) -> int:
    value = ctx.header(name)
    if value is None:
        return default
    if not value.isdigit() or len(value) > 9:
        raise S3Error("InvalidArgument", f"{name} must be an integer between 0 and 2147483647.")
    return int(value)


async def get_object_attributes(ctx: S3Request) -> S3Result:
    """ObjectParts is given for multipart objects only, and lists its parts only when they
    carry composite checksums (S3 gives ``PartsCount`` alone otherwise: the API page's note
    on ``Parts``); a composite checksum is given without its ``-N`` suffix."""
    wanted = requested_attributes(ctx.header("x-amz-object-attributes"))
    marker = header_int(ctx, "x-amz-part-number-marker", 0)
    limit = min(header_int(ctx, "x-amz-max-parts", MAX_PARTS), MAX_PARTS)
    found = await domain.get_object_attributes(
        ctx.store, ctx.bucket, ctx.key, marker, limit, ctx.query.get("versionId")
    )
    record = found.record
    algorithm = record.checksum_algorithm
    value = record.checksums.get(algorithm, "") if algorithm else ""
    composite = "-" in value
    document = xml.root("GetObjectAttributesResponse")
    if "ETag" in wanted:
        xml.add(document, "ETag", record.etag.strip('"'))
    if "Checksum" in wanted and algorithm:
        checksum = xml.add(document, "Checksum")
        xml.add(checksum, f"Checksum{algorithm}", value.split("-")[0])
        xml.add(checksum, "ChecksumType", "COMPOSITE" if composite else "FULL_OBJECT")
    if "ObjectParts" in wanted and found.multipart:
        parts = xml.add(document, "ObjectParts")
        xml.add(parts, "PartsCount", len(record.layers))
        if composite and algorithm:
            xml.add(parts, "PartNumberMarker", marker)
            if found.parts:
                xml.add(parts, "NextPartNumberMarker", found.parts[-1][0])
            xml.add(parts, "MaxParts", limit)
            xml.add(parts, "IsTruncated", found.truncated)
            for number, layer in found.parts:
                part = xml.add(parts, "Part")
                xml.add(part, "PartNumber", number)
                xml.add(part, "Size", layer.size)
                if layer.checksum is not None:
                    xml.add(part, f"Checksum{algorithm}", layer.checksum)
    if "StorageClass" in wanted:
        xml.add(document, "StorageClass", "STANDARD")
    if "ObjectSize" in wanted:
        xml.add(document, "ObjectSize", record.size)
    headers = {"Last-Modified": http_date(record.last_modified)}
    headers.update(await version_header(ctx, ctx.bucket, record))
    return S3Result(document=document, headers=headers)
