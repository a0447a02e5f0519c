"""Resumable uploads for clients without multipart (browsers, curl, tus libraries): the tus
1.0 protocol under ``/_artifacts/uploads``, with the creation, termination and checksum
extensions. A finished upload is an ordinary S3 object (``domain/resumable.py``).

https://tus.io/protocols/resumable-upload

Upload-Metadata names the target: ``bucket`` (required), ``key`` (else ``filename``), and
optionally ``filetype`` / ``contentType`` for the object's Content-Type. Callers authenticate
as on the rest of the JSON API (``api/identity.py``): a Keycloak Bearer token, or HTTP Basic
with an S3 access key id and its secret.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from gateway.api.authorize import authorized
from gateway.api.identity import caller
from gateway.api.problems import (
    AUTH,
    CHECKSUM_MISMATCH,
    TUS_VERSION,
    UNAVAILABLE,
    ApiError,
    problem_responses,
)
from gateway.api.state import limiter_of, store_of
from gateway.domain import resumable
from gateway.domain.errors import IncompleteBody, NoSuchUpload
from gateway.domain.objects import NewObject
from gateway.domain.values import Principal

EXTENSIONS = "creation,termination,checksum"
# tus checksum algorithm -> the flexible checksum that verifies it (md5: Content-MD5's path).
CHECKSUMS = {"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "crc32": "CRC32", "crc32c": "CRC32C"}
OFFSET_TYPE = "application/offset+octet-stream"
WRITE = "s3:PutObject"  # every tus request writes (or may write) the target object

router = APIRouter(prefix="/_artifacts/uploads", tags=["uploads (tus 1.0)"])
# The tus headers are read as plain strings, so that a missing or malformed one gets the
# status tus prescribes (412, 400, 413, 415) rather than FastAPI's 422; the document states
# them below instead (``openapi_extra``).
Hidden = Header(include_in_schema=False)
_B64 = "[A-Za-z0-9+/]*={0,2}"
_PAIR = f"[^ ,]+( +{_B64})?"


def _header(name: str, schema: dict[str, object], description: str) -> dict[str, object]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "schema": schema,
        "description": description,
    }


TUS_RESUMABLE = _header(
    "Tus-Resumable", {"type": "string", "enum": [TUS_VERSION]}, "The tus version: else 412."
)
UPLOAD_LENGTH = _header(
    "Upload-Length",
    {"type": "integer", "minimum": 0, "maximum": resumable.MAX_LENGTH},
    "The upload's size in bytes (deferred length is not supported); over `Tus-Max-Size`: 413.",
)
UPLOAD_METADATA = _header(
    "Upload-Metadata",
    {"type": "string", "pattern": f"^ *{_PAIR} *(, *{_PAIR} *)*$"},
    "`name base64(value)` pairs, comma-separated: `bucket` and `key` (else `filename`) name "
    "the object, `filetype` or `contentType` its Content-Type. Values are base64 of UTF-8.",
)
UPLOAD_OFFSET = _header(
    "Upload-Offset",
    {"type": "integer", "minimum": 0},
    "Where this body starts; not the upload's offset: 409 with the right one.",
)
UPLOAD_CHECKSUM = {
    **_header(
        "Upload-Checksum",
        {"type": "string", "pattern": f"^({'|'.join(CHECKSUMS)}) [A-Za-z0-9+/=]+$"},
        "`algorithm base64(digest)` of this body (checksum extension): a mismatch is 460.",
    ),
    "required": False,
}
TUS_PROBLEMS = {
    404: "No such upload (or it is finished, terminated or expired).",
    412: f"`Tus-Resumable` is not {TUS_VERSION}.",
}


def _version(tus_resumable: str | None) -> None:
    if tus_resumable != TUS_VERSION:
        raise ApiError(412, "Precondition Failed", f"Tus-Resumable must be {TUS_VERSION}.")


def _number(value: str | None) -> int | None:
    """A header's non-negative integer; ASCII digits only (``"²".isdigit()`` holds too)."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def parse_metadata(value: str) -> dict[str, str]:
    """``key base64,key2 base64,flag`` -> a dict; malformed pairs are a 400."""
    found: dict[str, str] = {}
    for pair in filter(None, (item.strip() for item in value.split(","))):
        name, _, encoded = pair.partition(" ")
        try:
            found[name] = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError(400, "Bad Request", f"Upload-Metadata {name!r} is not base64.") from exc
    return found


def _checksum(header: str | None) -> tuple[str, str] | None:
    if header is None:
        return None
    name, _, value = header.strip().partition(" ")
    algorithm = CHECKSUMS.get(name.lower())
    if algorithm is None:
        raise ApiError(400, "Bad Request", f"Unsupported checksum algorithm {name!r}.")
    return algorithm, value.strip()


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect as exc:
        raise IncompleteBody("The client closed the connection mid-body.") from exc


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **extra}


@router.options(
    "",
    status_code=204,
    response_class=Response,
    summary="What this tus server supports",
    responses={204: {"description": "`Tus-Version`, `Tus-Extension`, `Tus-Max-Size` and more."}},
)
async def options() -> Response:
    return Response(
        status_code=204,
        headers=_headers(
            **{
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(resumable.MAX_LENGTH),
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            }
        ),
    )


Principal_ = Annotated[Principal, Depends(caller)]


async def _target(request: Request, who: Principal, upload_id: str) -> None:
    """The caller must still be allowed to write the upload's object."""
    try:
        upload = await resumable.resumable_upload(store_of(request), upload_id)
    except NoSuchUpload:
        raise ApiError(404, "Not Found", "No such upload.") from None
    async with authorized(request, who, WRITE, upload.bucket, upload.key) as audit:
        audit.status = 200


@router.post(
    "",
    status_code=201,
    response_class=Response,
    summary="Create an upload (tus creation extension)",
    openapi_extra={"parameters": [TUS_RESUMABLE, UPLOAD_LENGTH, UPLOAD_METADATA]},
    responses={
        201: {"description": "Created: `Location` is the upload's URL, `Upload-Offset` 0."},
        **problem_responses(
            AUTH,
            UNAVAILABLE,
            TUS_PROBLEMS,
            {
                400: "`Upload-Length` or `Upload-Metadata` is missing or malformed.",
                404: "No such bucket.",
                413: "`Upload-Length` is over `Tus-Max-Size`.",
            },
        ),
    },
)
async def create(
    request: Request,
    who: Principal_,
    tus_resumable: Annotated[str | None, Hidden] = None,
    upload_length: Annotated[str | None, Hidden] = None,
    upload_metadata: Annotated[str, Hidden] = "",
) -> Response:
    _version(tus_resumable)
    length = _number(upload_length)
    if length is None:
        raise ApiError(400, "Bad Request", "Upload-Length is required (deferred length is not).")
    if length > resumable.MAX_LENGTH:  # tus: 413, whoever asks
        raise ApiError(
            413, "Content Too Large", f"Upload-Length is over {resumable.MAX_LENGTH} bytes."
        )
    metadata = parse_metadata(upload_metadata)
    bucket = metadata.get("bucket")
    key = metadata.get("key") or metadata.get("filename")
    if not bucket or not key:
        raise ApiError(400, "Bad Request", "Upload-Metadata must name a bucket and a key.")
    content_type = metadata.get("filetype") or metadata.get("contentType")
    new = NewObject(headers={"Content-Type": content_type or "binary/octet-stream"}, metadata={})
    async with authorized(request, who, WRITE, bucket, key) as audit:
        state = await resumable.start(store_of(request), bucket, key, length, new)
        audit.status = 201
    location = f"{str(request.base_url).rstrip('/')}/_artifacts/uploads/{state.upload.upload_id}"
    return Response(
        status_code=201, headers=_headers(Location=location, **{"Upload-Offset": str(state.offset)})
    )


@router.head(
    "/{upload_id}",
    response_class=Response,
    summary="Where an upload stands",
    openapi_extra={"parameters": [TUS_RESUMABLE]},
    responses={
        200: {"description": "`Upload-Offset` and `Upload-Length` say where it stands."},
        **problem_responses(AUTH, UNAVAILABLE, TUS_PROBLEMS),
    },
)
async def head(
    request: Request,
    upload_id: str,
    who: Principal_,
    tus_resumable: Annotated[str | None, Hidden] = None,
) -> Response:
    _version(tus_resumable)
    await _target(request, who, upload_id)
    state = await resumable.progress(store_of(request), upload_id)
    return Response(
        status_code=200,
        headers=_headers(
            **{
                "Upload-Offset": str(state.offset),
                "Upload-Length": str(state.length),
                "Cache-Control": "no-store",
            }
        ),
    )


@router.patch(
    "/{upload_id}",
    status_code=204,
    response_class=Response,
    summary="Append bytes at the current offset",
    openapi_extra={
        "parameters": [TUS_RESUMABLE, UPLOAD_OFFSET, UPLOAD_CHECKSUM],
        "requestBody": {
            "required": True,
            "content": {OFFSET_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    responses={
        204: {"description": "Appended: `Upload-Offset` is the new offset."},
        **problem_responses(
            AUTH,
            UNAVAILABLE,
            TUS_PROBLEMS,
            {
                400: "`Upload-Offset` or `Upload-Checksum` is malformed, or the body goes past "
                "`Upload-Length`.",
                409: "`Upload-Offset` is not the upload's offset (the answer's is).",
                411: "No `Content-Length`.",
                415: f"The body is not `{OFFSET_TYPE}`.",
                CHECKSUM_MISMATCH: "The body does not match `Upload-Checksum` (tus's own "
                "status); nothing is appended.",
                503: "The registry is unavailable, the process serves its cap of data requests "
                "already, or it is shutting down; retry after `Retry-After` seconds (HEAD first "
                "for the offset).",
            },
        ),
    },
)
async def patch(
    request: Request,
    upload_id: str,
    who: Principal_,
    tus_resumable: Annotated[str | None, Hidden] = None,
    upload_offset: Annotated[str | None, Hidden] = None,
    content_type: Annotated[str | None, Hidden] = None,
    content_length: Annotated[str | None, Hidden] = None,
    upload_checksum: Annotated[str | None, Hidden] = None,
) -> Response:
    _version(tus_resumable)
    if content_type != OFFSET_TYPE:
        raise ApiError(415, "Unsupported Media Type", f"Content-Type must be {OFFSET_TYPE}.")
    offset = _number(upload_offset)
    if offset is None:
        raise ApiError(400, "Bad Request", "Upload-Offset is required.")
    length = _number(content_length)
    if length is None:
        raise ApiError(411, "Length Required", "Content-Length is required.")
    checksum = _checksum(upload_checksum)
    await _target(request, who, upload_id)
    md5 = checksum[1] if checksum and checksum[0] == "MD5" else None
    flexible = checksum if checksum and checksum[0] != "MD5" else None
    new = NewObject(
        headers={},
        metadata={},
        content_md5=md5,
        checksum_algorithms=(flexible[0],) if flexible else (),
        declared_checksums=(lambda: {flexible[0]: flexible[1]}) if flexible else dict,
    )
    async with limiter_of(request).slot("api"):  # over the cap: 503 before a byte is read
        state = await resumable.append(
            store_of(request), upload_id, offset, _body(request), length, new
        )
    return Response(status_code=204, headers=_headers(**{"Upload-Offset": str(state.offset)}))


@router.delete(
    "/{upload_id}",
    status_code=204,
    response_class=Response,
    summary="Terminate an upload",
    openapi_extra={"parameters": [TUS_RESUMABLE]},
    responses={
        204: {"description": "Terminated."},
        **problem_responses(AUTH, UNAVAILABLE, TUS_PROBLEMS),
    },
)
async def delete(
    request: Request,
    upload_id: str,
    who: Principal_,
    tus_resumable: Annotated[str | None, Hidden] = None,
) -> Response:
    _version(tus_resumable)
    await _target(request, who, upload_id)
    await resumable.terminate(store_of(request), upload_id)
    return Response(status_code=204, headers=_headers())
