"""STS ``GetCallerIdentity``: who signed this request, as AWS describes a caller.

https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html

The request is SigV4-signed like any STS call (botocore signs the form body with service
``sts`` and sends no ``x-amz-content-sha256``, so the body's own hash is what the signature
must cover). Errors are STS's, not S3's
(https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html): no credentials is
``MissingAuthenticationToken``, an unknown key or a session token that does not open is
``InvalidClientTokenId``, a wrong secret ``SignatureDoesNotMatch``, an expired session
``ExpiredToken``, anything else malformed ``IncompleteSignature``.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.auth import canonical, sigv4
from gateway.auth.errors import AuthError
from gateway.auth.keyring import CallerLookup, Keyring
from gateway.auth.requests import session_token
from gateway.domain.values import Principal
from gateway.sts.web_identity import NAMESPACE, StsError

# The one account this store is; sessions keep the account their RoleArn named.
ACCOUNT = "000000000000"
_INVALID_CLIENT = "The security token included in the request is invalid."
_ERRORS = {  # the S3-style code sigv4/keyring raise -> STS's code, status and message
    "InvalidAccessKeyId": ("InvalidClientTokenId", 403, _INVALID_CLIENT),
    "InvalidToken": ("InvalidClientTokenId", 403, _INVALID_CLIENT),
    "ExpiredToken": ("ExpiredToken", 403, "The security token included in the request is expired"),
    "SignatureDoesNotMatch": (
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method.",
    ),
    "RequestTimeTooSkewed": ("SignatureDoesNotMatch", 403, "Signature expired."),
}


@dataclass(frozen=True)
class CallerIdentity:
    arn: str
    user_id: str
    account: str


def identity_of(principal: Principal) -> CallerIdentity:
    """The root key is the account's root; an access key is its owner, an IAM user; an STS
    session is the assumed role it was given (a presigned URL's session, which names no role,
    a federated user)."""
    if principal.root:
        return CallerIdentity(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, ACCOUNT)
    if principal.method == "sts":
        if principal.session_arn:
            account = principal.session_arn.split(":")[4]
            role, session = principal.session_arn.split("/")[-2:]
            return CallerIdentity(principal.session_arn, f"{role}:{session}", account)
        return CallerIdentity(
            f"arn:aws:sts::{ACCOUNT}:federated-user/{principal.name}",
            f"{ACCOUNT}:{principal.name}",
            ACCOUNT,
        )
    return CallerIdentity(
        f"arn:aws:iam::{ACCOUNT}:user/{principal.name}",
        principal.subject or principal.name,
        ACCOUNT,
    )


async def authenticate(
    signed: sigv4.SignedRequest, body: bytes, keyring: Keyring, max_skew: int
) -> Principal:
    """The caller of a signed STS request, or ``StsError``; never anonymous."""
    if not sigv4.is_sigv4(signed):
        if canonical.header(signed.headers, "authorization") is not None:
            raise StsError(
                "IncompleteSignature",
                "The request signature does not conform to AWS standards: "
                "sign it with AWS Signature Version 4.",
            )
        raise StsError("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
    lookup = CallerLookup(keyring, session_token(signed))
    try:
        await sigv4.verify(
            signed,
            lookup,
            datetime.now(UTC),
            max_skew_seconds=max_skew,
            body_sha256=hashlib.sha256(body).hexdigest(),
        )
    except AuthError as exc:
        code, status, message = _ERRORS.get(exc.code, ("IncompleteSignature", 400, exc.message))
        raise StsError(code, message, status) from exc
    return lookup.caller()


def response(identity: CallerIdentity, request_id: str) -> bytes:
    document = ET.Element("GetCallerIdentityResponse", xmlns=NAMESPACE)
    result = ET.SubElement(document, "GetCallerIdentityResult")
    for tag, text in (
        ("Arn", identity.arn),
        ("UserId", identity.user_id),
        ("Account", identity.account),
    ):
        ET.SubElement(result, tag).text = text
    metadata = ET.SubElement(document, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = request_id
    return bytes(ET.tostring(document, encoding="utf-8", xml_declaration=True))
