"""Whom a bucket trusts to sign, under ``/_artifacts/trust/{bucket}``: public keys, keyless
identities with a trusted root, ``require_signature`` (GetObject refuses objects without a
trusted signature) and ``receipts`` (the gateway signs what the bucket stores). Readers see
it (``s3:GetBucketTrust``), admins set and remove it (``s3:PutBucketTrust``).

``/_artifacts/receipts/key`` serves the public key receipts are signed with: anyone may have it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.authorize import authorized
from gateway.api.identity import caller, reader
from gateway.api.problems import AUTH, UNAVAILABLE, ApiError, problem_responses
from gateway.api.state import store_of
from gateway.domain.supply import trust
from gateway.domain.supply.state import state_of
from gateway.domain.values import Principal
from gateway.policy.roles import GET_TRUST, PUT_TRUST

router = APIRouter(tags=["trust"])
Caller = Annotated[Principal, Depends(caller)]
Reader = Annotated[Principal, Depends(reader)]


class TrustedKeyModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(description="How verdicts name this signer.", examples=["release"])
    public_key: str = Field(description="PEM public key: ECDSA P-256/P-384, Ed25519 or RSA.")


class IdentityModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    issuer: str = Field(description="The OIDC issuer in the signing certificate, exactly.")
    subject: str = Field(description="The certificate's identity (email or URI).")
    subject_regex: bool = Field(False, description="Match `subject` as a regular expression.")


class TrustModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    require_signature: bool = Field(
        False, description="GetObject (and copies) refuse objects without a trusted signature."
    )
    receipts: bool = Field(False, description="The gateway signs each object stored.")
    keys: list[TrustedKeyModel] = Field(default_factory=list)
    identities: list[IdentityModel] = Field(
        default_factory=list, description="Trusted keyless (Fulcio certificate) signers."
    )
    trusted_root: dict[str, Any] | None = Field(
        None,
        description="A sigstore trusted_root.json for the identities; default: the "
        "deployment's (`trusted_root_file`).",
    )


def _document(model: TrustModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


@router.get(
    "/_artifacts/trust/{bucket}",
    response_model=TrustModel,
    summary="Whom the bucket trusts to sign its objects",
    responses=problem_responses(
        AUTH, UNAVAILABLE, {404: "No such bucket, or it has no trust settings."}
    ),
)
async def get_trust(request: Request, bucket: str, who: Reader) -> dict[str, Any]:
    async with authorized(request, who, GET_TRUST, bucket, "") as audit:
        document = await trust.get_trust(store_of(request), bucket)
        if document is None:
            raise ApiError(404, "Not Found", f"The bucket {bucket} has no trust settings.")
        audit.status = 200
    return document


@router.put(
    "/_artifacts/trust/{bucket}",
    response_model=TrustModel,
    summary="Set whom the bucket trusts (admins)",
    responses=problem_responses(
        AUTH,
        UNAVAILABLE,
        {400: "Not valid; `detail` names the failing place.", 404: "No such bucket."},
    ),
)
async def put_trust(
    request: Request, bucket: str, who: Caller, body: Annotated[TrustModel, Body()]
) -> dict[str, Any]:
    async with authorized(request, who, PUT_TRUST, bucket, "") as audit:
        await trust.set_trust(store_of(request), bucket, _document(body))
        audit.status = 200
    return _document(body)


@router.delete(
    "/_artifacts/trust/{bucket}",
    status_code=204,
    response_class=Response,
    summary="Remove the bucket's trust (admins)",
    responses=problem_responses(AUTH, UNAVAILABLE, {404: "No such bucket."}),
)
async def delete_trust(request: Request, bucket: str, who: Caller) -> Response:
    async with authorized(request, who, PUT_TRUST, bucket, "") as audit:
        await trust.delete_trust(store_of(request), bucket)
        audit.status = 204
    return Response(status_code=204)


@router.get(
    "/_artifacts/receipts/key",
    response_class=Response,
    summary="The public key receipts are signed with (PEM)",
    responses={
        200: {
            "description": "The PEM public key.",
            "content": {"application/x-pem-file": {"schema": {"type": "string"}}},
        },
        **problem_responses({404: "This gateway signs no receipts."}),
    },
)
async def receipt_key(request: Request) -> Response:
    signer = state_of(store_of(request)).signer
    if signer is None:
        raise ApiError(404, "Not Found", "This gateway signs no receipts.")
    return Response(signer.public_pem, media_type="application/x-pem-file")
