"""The verdict on an object, under ``/_artifacts/verify/{bucket}?key=K``: its signatures (which
verify, over which digest, by which trusted key or keyless identity), its SBOMs (present and
valid) and its attestations (predicate types). Readers may ask (``s3:GetObjectReferrer``; of
a version named by ``versionId``, ``s3:GetObjectVersionReferrer``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.api.authorize import authorized
from gateway.api.identity import reader
from gateway.api.problems import AUTH, UNAVAILABLE, ApiError, problem_responses
from gateway.api.state import store_of
from gateway.api.versions import BAD_VERSION, MARKER, VersionId, no_marker, version_action
from gateway.domain.supply import verify
from gateway.domain.values import Principal
from gateway.oci.resources import parse_image, resource_of
from gateway.policy.roles import GET_REFERRER

router = APIRouter(prefix="/_artifacts/verify", tags=["verify"])
Reader = Annotated[Principal, Depends(reader)]
Covers = Literal["object", "manifest"]


class SignerInfo(BaseModel):
    kind: Literal["key", "keyless", "receipt"] = Field(
        description="A trusted public key, a keyless (Fulcio) identity, or the gateway's "
        "receipt key."
    )
    name: str | None = Field(None, description="The key's name in the bucket's trust.")
    issuer: str | None = Field(None, description="Keyless: the OIDC issuer.")
    subject: str | None = Field(None, description="Keyless: the certificate's identity.")


class SignatureInfo(BaseModel):
    digest: str = Field(description="The signature's referrer manifest digest.")
    artifact_type: str
    verified: bool = Field(description="The signature verifies over `over`.")
    trusted: bool = Field(description="...and its signer is one the bucket trusts.")
    covers: Covers | None = Field(
        None, description="`object`: over the object's SHA-256; `manifest`: over its manifest."
    )
    over: str | None = Field(None, description="The digest signed.")
    signer: SignerInfo | None = None
    reason: str | None = Field(None, description="Why it does not count.")


class SbomInfo(BaseModel):
    digest: str
    artifact_type: str
    valid: bool
    reason: str | None = None


class AttestationInfo(SignatureInfo):
    predicate_type: str | None = Field(description="The in-toto statement's predicate type.")


class VerdictInfo(BaseModel):
    bucket: str
    key: str
    manifest_digest: str = Field(description="The object's manifest (what OCI tools see).")
    sha256: str | None = Field(description="The object's SHA-256 (hex).")
    require_signature: bool = Field(description="The bucket refuses GETs of unsigned objects.")
    signed: bool = Field(description="A signature by a trusted key or identity covers it.")
    sbom_valid: bool = Field(description="At least one SBOM is present and valid.")
    reason: str | None = Field(None, description="Why it is not signed.")
    signatures: list[SignatureInfo]
    sboms: list[SbomInfo]
    attestations: list[AttestationInfo]
    checked: datetime = Field(description="When this verdict was computed.")
    cached: bool = Field(description="Served from the verdict cache.")


@router.get(
    "/{bucket}",
    response_model=VerdictInfo,
    summary="The verdict on an object: signatures, SBOMs, attestations",
    responses=problem_responses(
        AUTH, UNAVAILABLE, BAD_VERSION, {404: "No such bucket, key or version."}, MARKER
    ),
)
async def verdict(
    request: Request,
    bucket: str,
    key: Annotated[str, Query(min_length=1, description="The object's key.")],
    who: Reader,
    fresh: Annotated[bool, Query(description="Compute anew instead of the cached one.")] = False,
    version: VersionId = None,
) -> VerdictInfo:
    """The verdict on the object's current version, or on the one `versionId` names (its own
    referrers: what a `GET ?versionId=` of a `require-signature` bucket is judged by)."""
    async with authorized(
        request, who, version_action(GET_REFERRER, version), bucket, key
    ) as audit:
        with no_marker():
            found = await verify.verify(
                store_of(request), bucket, key, version=version, fresh=fresh
            )
        audit.status = 200
    return VerdictInfo.model_validate({**asdict(found), "sbom_valid": found.sbom_valid})


class ImageVerdictInfo(BaseModel):
    repository: str
    reference: str = Field(description="The tag or digest asked for.")
    manifest_digest: str
    trust_bucket: str | None = Field(
        description="The bucket whose trust judged it: the one the repository's namespace is "
        "decided as (docs/identity.md); null when no such bucket exists (nothing is trusted)."
    )
    signed: bool = Field(description="A signature by a trusted key or identity covers it.")
    sbom_valid: bool
    reason: str | None = None
    signatures: list[SignatureInfo]
    sboms: list[SbomInfo]
    attestations: list[AttestationInfo]
    checked: datetime
    cached: bool


@router.get(
    "",
    response_model=ImageVerdictInfo,
    summary="The verdict on an image: signatures, SBOMs, attestations",
    responses=problem_responses(
        AUTH, UNAVAILABLE, {400: "Not an image reference.", 404: "No such image."}
    ),
)
async def image_verdict(
    request: Request,
    image: Annotated[
        str,
        Query(
            min_length=1,
            description="An image reference: `team/app:1.0`, `team/app@sha256:...`, with or "
            "without this gateway's host in front.",
        ),
    ],
    who: Reader,
    fresh: Annotated[bool, Query(description="Compute anew instead of the cached one.")] = False,
) -> ImageVerdictInfo:
    """Images pushed through `/v2/` and their referrers (`cosign sign`, `oras attach`), judged
    like objects. Readers of the repository may ask."""
    store = store_of(request)
    try:
        repository, reference = parse_image(image)
    except ValueError as exc:
        raise ApiError(400, "Bad Request", str(exc)) from None
    resource = resource_of(store.prefix, repository)
    async with authorized(request, who, GET_REFERRER, resource.bucket, resource.key) as audit:
        found = await verify.verify_image(
            store, repository, reference, resource.bucket, fresh=fresh
        )
        audit.status = 200
    return ImageVerdictInfo.model_validate({**asdict(found), "sbom_valid": found.sbom_valid})
