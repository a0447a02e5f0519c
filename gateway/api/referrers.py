"""Signatures, SBOMs and attestations of objects under ``/_artifacts/referrers``: attach one
(checked on the way in), list them, fetch one, remove one. Each is an OCI referrer of the
object's manifest (``domain/referrer_mapping.py``), so oras and cosign see them too. Each
route acts on the object's current version, or on the one ``versionId`` names (a signature
stays with the bytes it signed).

Writers attach (``s3:PutObjectReferrer``), readers list and fetch (``s3:GetObjectReferrer``),
admins remove (``s3:DeleteObjectReferrer``); with ``versionId``, the *Version* actions
(``s3:GetObjectVersionReferrer``...), as S3 decides ``?tagging&versionId=``. The same decision
as S3 requests, one audit line each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import ClientDisconnect

from gateway.api.authorize import authorized
from gateway.api.identity import caller, reader
from gateway.api.problems import AUTH, UNAVAILABLE, ApiError, problem_responses
from gateway.api.state import store_of
from gateway.api.versions import BAD_VERSION, MARKER, VersionId, no_marker, version_action
from gateway.domain.errors import IncompleteBody
from gateway.domain.supply import referrer_mapping as types
from gateway.domain.supply import referrers
from gateway.domain.values import Principal
from gateway.policy.roles import DELETE_REFERRER, GET_REFERRER, PUT_REFERRER

router = APIRouter(prefix="/_artifacts/referrers", tags=["referrers"])
Caller = Annotated[Principal, Depends(caller)]
Reader = Annotated[Principal, Depends(reader)]
Kind = Literal["signature", "sbom", "attestation"]
Key = Annotated[str, Query(min_length=1, description="The object's key.")]
Digest = Annotated[
    str,
    Path(pattern=r"^sha256:[0-9a-f]{64}$", description="The referrer manifest's digest."),
]
MAX_DOCUMENT = types.MAX_DOCUMENT
DOCUMENT_MEDIA_TYPES = sorted({media for accepted in types.ACCEPTED.values() for media in accepted})
# What a fetch answers: the document's own media type, as stored (never plain JSON).
STORED_MEDIA_TYPES = sorted(
    {document.media_type for accepted in types.ACCEPTED.values() for document in accepted.values()}
)
MISSING = {404: "No such bucket, key, version or referrer."}


class ReferrerInfo(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from a ReferrerRecord

    digest: str = Field(description="The referrer manifest's digest (its OCI identity).")
    kind: Kind
    artifact_type: str = Field(description="The referrer manifest's artifactType.")
    media_type: str = Field(description="The document's media type (the manifest's layer).")
    size: int = Field(description="The document's size in bytes.")
    created: datetime
    subject: str = Field(description="The object's manifest digest the referrer points at.")
    predicate_type: str | None = Field(
        None, description="The in-toto predicate type of an attestation."
    )


def _too_large() -> ApiError:
    return ApiError(
        413,
        "Content Too Large",
        f"A document is at most {MAX_DOCUMENT} bytes.",
        {"Connection": "close"},
    )


async def _document(request: Request) -> bytes:
    """The request body, at most MAX_DOCUMENT bytes (documents are small: no streaming)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_DOCUMENT:
        raise _too_large()
    pieces: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > MAX_DOCUMENT:
                raise _too_large()
            pieces.append(chunk)
    except ClientDisconnect as exc:
        raise IncompleteBody("The client closed the connection mid-body.") from exc
    return b"".join(pieces)


@router.post(
    "/{bucket}",
    status_code=201,
    response_model=ReferrerInfo,
    summary="Attach a signature, an SBOM or an attestation to an object",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": (
                "The document, sent as its media type: a sigstore bundle v0.3 (signature), "
                "CycloneDX or SPDX JSON (sbom), a DSSE envelope of an in-toto statement "
                f"(attestation). At most {MAX_DOCUMENT} bytes."
            ),
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in DOCUMENT_MEDIA_TYPES
            },
        }
    },
    responses=problem_responses(
        AUTH,
        UNAVAILABLE,
        {
            400: "The document is not valid (`detail` names the failing path), or "
            "`versionId` cannot be a version id.",
            403: "Wrong credentials, or the caller may not attach to this object.",
            404: "No such bucket, key or version.",
            409: "The object was replaced (or the version deleted) while attaching; retry.",
            413: "The document is too large.",
            415: "The media type does not fit the kind.",
        },
        MARKER,
    ),
)
async def attach(
    request: Request,
    response: Response,
    bucket: str,
    key: Key,
    kind: Kind,
    who: Caller,
    version: VersionId = None,
    # The body's media type, stated by ``requestBody`` above.
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> ReferrerInfo:
    async with authorized(
        request, who, version_action(PUT_REFERRER, version), bucket, key
    ) as audit:
        body = await _document(request)
        audit.bytes_in = len(body)
        with no_marker():
            record = await referrers.attach(
                store_of(request), bucket, key, kind, content_type, body, version=version
            )
        audit.status = 201
    location = f"/_artifacts/referrers/{quote(bucket)}/{record.digest}?key={quote(key, safe='')}"
    if version is not None:
        location += f"&versionId={quote(version, safe='')}"
    response.headers["Location"] = location
    return ReferrerInfo.model_validate(record)


@router.get(
    "/{bucket}",
    response_model=list[ReferrerInfo],
    summary="List the signatures, SBOMs and attestations of an object",
    responses=problem_responses(
        AUTH,
        UNAVAILABLE,
        BAD_VERSION,
        {404: "No such bucket, key or version."},
        MARKER,
    ),
)
async def list_referrers(
    request: Request,
    bucket: str,
    key: Key,
    who: Reader,
    kind: Kind | None = None,
    artifact_type: str | None = None,
    version: VersionId = None,
) -> list[ReferrerInfo]:
    async with authorized(
        request, who, version_action(GET_REFERRER, version), bucket, key
    ) as audit:
        with no_marker():
            found = await referrers.list_referrers(
                store_of(request),
                bucket,
                key,
                version=version,
                kind=kind,
                artifact_type=artifact_type,
            )
        audit.status = 200
    return [ReferrerInfo.model_validate(record) for record in found]


@router.get(
    "/{bucket}/{digest}",
    summary="Fetch one document, byte for byte as attached",
    response_class=Response,
    responses={
        200: {
            "description": "The document; `ETag`, `x-artifact-store-artifact-type` and "
            "`x-artifact-store-referrer-kind` describe it.",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in STORED_MEDIA_TYPES
            },
        },
        **problem_responses(AUTH, UNAVAILABLE, BAD_VERSION, MISSING, MARKER),
    },
)
async def fetch_referrer(
    request: Request,
    bucket: str,
    digest: Digest,
    key: Key,
    who: Reader,
    version: VersionId = None,
) -> Response:
    async with authorized(
        request, who, version_action(GET_REFERRER, version), bucket, key
    ) as audit:
        with no_marker():
            document = await referrers.fetch(
                store_of(request), bucket, key, digest, version=version
            )
        audit.status, audit.bytes_out = 200, len(document.body)
    return Response(
        document.body,
        media_type=document.record.media_type,
        headers={
            "ETag": f'"{document.record.blob_digest}"',
            "x-artifact-store-artifact-type": document.record.artifact_type,
            "x-artifact-store-referrer-kind": document.record.kind,
        },
    )


@router.delete(
    "/{bucket}/{digest}",
    status_code=204,
    response_class=Response,
    summary="Remove one referrer (admins)",
    responses=problem_responses(AUTH, UNAVAILABLE, BAD_VERSION, MISSING, MARKER),
)
async def remove_referrer(
    request: Request,
    bucket: str,
    digest: Digest,
    key: Key,
    who: Caller,
    version: VersionId = None,
) -> Response:
    async with authorized(
        request, who, version_action(DELETE_REFERRER, version), bucket, key
    ) as audit:
        with no_marker():
            await referrers.remove(store_of(request), bucket, key, digest, version=version)
        audit.status = 204
    return Response(status_code=204)
