"""What an S3 handler returns: the answer's status, headers and content, no HTTP objects.

The shell (``routing.py``) renders it; this is the one place S3 answers become responses, as
``xml.error_document`` is for errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from starlette.responses import Response, StreamingResponse

from gateway.s3 import xml

XML = "application/xml"


@dataclass
class S3Result:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    document: Element | None = None  # an S3 XML document
    json: str | None = None  # a JSON document (GetBucketPolicy)
    stream: AsyncIterator[bytes] | None = None  # an object's bytes


def render(result: S3Result) -> Response:
    if result.document is not None:
        return Response(
            xml.render(result.document),
            status_code=result.status,
            headers=result.headers,
            media_type=XML,
        )
    if result.json is not None:
        return Response(
            result.json,
            status_code=result.status,
            headers=result.headers,
            media_type="application/json",
        )
    if result.stream is not None:
        # Content-Type goes out as stored: media_type would make Starlette append a charset.
        return StreamingResponse(result.stream, status_code=result.status, headers=result.headers)
    return Response(status_code=result.status, headers=result.headers)
