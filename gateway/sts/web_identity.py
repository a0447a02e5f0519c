"""STS ``AssumeRoleWithWebIdentity``: an OIDC token (Keycloak's, or a CI system's from a
configured issuer) in, temporary SigV4 credentials out.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html

The session is the token's identity: its name, subject, realm roles and groups. A RoleArn
naming one of the caller's realm roles (``arn:aws:iam::<any>:role/artifact-reader``) narrows
the session to that role; any other RoleArn leaves the roles as they are. An optional
``Policy`` can only narrow further. Nothing is stored: the session token is sealed
(``auth/keyring.py``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gateway.auth.errors import AuthError
from gateway.auth.keyring import Keyring
from gateway.domain.values import Principal
from gateway.policy.roles import ROLE_LEVELS

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MIN_DURATION, DEFAULT_DURATION = 900, 3600
_ROLE_ARN = re.compile(r"arn:aws:iam::[0-9a-zA-Z-]*:role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
MAX_POLICY = 2048

# A verified token: the caller, and the issuer and audience it came from.
WebIdentityCheck = Callable[[str], Awaitable[tuple[Principal, str, str]]]
PolicyCheck = Callable[[str], object]  # raises ValueError with the reason when malformed


class StsError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Session:
    principal: Principal
    access_key: str
    secret: str
    token: str
    expires: datetime
    issuer: str
    audience: str
    role_arn: str
    session_name: str


def _validation(field: str, constraint: str) -> StsError:
    return StsError(
        "ValidationError",
        f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
        f"{constraint}",
    )


def _narrowed_to(principal: Principal, role: str) -> Principal:
    """A RoleArn naming a realm role (artifact-reader/-writer/-admin) asks for a session with
    that role alone: granted when the caller's own roles reach it (an admin may take a reader
    session), refused otherwise. Other role names leave the caller's roles as they are."""
    if role not in ROLE_LEVELS:
        return principal
    own = max((ROLE_LEVELS[r] for r in principal.roles if r in ROLE_LEVELS), default=-1)
    if own < ROLE_LEVELS[role]:
        raise StsError(
            "AccessDenied",
            f"Not authorized to perform sts:AssumeRoleWithWebIdentity for role {role}.",
            403,
        )
    return replace(principal, roles=frozenset({role}))


def _duration(value: str | None, longest: int) -> int:
    if value is None:
        return min(DEFAULT_DURATION, longest)
    if not value.isdigit() or not MIN_DURATION <= int(value) <= longest:
        raise _validation(
            "durationSeconds", f"Member must have value between {MIN_DURATION} and {longest}"
        )
    return int(value)


class WebIdentitySts:
    def __init__(
        self,
        check: WebIdentityCheck,
        keyring: Keyring,
        *,
        max_duration: int = 43200,
        policy_check: PolicyCheck | None = None,
    ) -> None:
        self._check = check
        self._keyring = keyring
        self._max_duration = max_duration
        self._policy_check = policy_check

    async def assume(self, form: dict[str, str]) -> Session:
        token = (form.get("WebIdentityToken") or "").strip()  # token files end in a newline
        role_arn = form.get("RoleArn") or ""
        session_name = form.get("RoleSessionName") or ""
        if not token:
            raise _validation("webIdentityToken", "Member must not be null")
        role = _ROLE_ARN.fullmatch(role_arn)
        if role is None:
            raise _validation("roleArn", "Member must be a role ARN")
        if not _SESSION_NAME.fullmatch(session_name):
            raise _validation("roleSessionName", "Member must satisfy [\\w+=,.@-]{2,64}")
        duration = _duration(form.get("DurationSeconds"), self._max_duration)
        policy = form.get("Policy")
        if policy is not None:
            if len(policy) > MAX_POLICY:
                raise StsError("PackedPolicyTooLarge", "The session policy is too large.")
            if self._policy_check is not None:
                try:
                    self._policy_check(policy)
                except ValueError as exc:
                    raise StsError("MalformedPolicyDocument", str(exc)) from exc
        try:
            principal, issuer, audience = await self._check(token)
        except AuthError as exc:
            code = "ExpiredTokenException" if "expired" in exc.message.lower() else None
            raise StsError(code or "InvalidIdentityToken", exc.message) from exc
        principal = _narrowed_to(principal, role[1])
        if policy is not None:
            principal = replace(principal, policies=(*principal.policies, policy))
        arn = assumed_role_arn(role_arn, session_name)
        key = self._keyring.issue_session(principal, duration, issuer, session_arn=arn)
        return Session(
            principal=replace(principal, method="sts", access_key=key.access_key, session_arn=arn),
            access_key=key.access_key,
            secret=key.secret,
            token=key.token,
            expires=datetime.fromtimestamp(key.expires, tz=UTC),
            issuer=issuer,
            audience=audience,
            role_arn=role_arn,
            session_name=session_name,
        )


def assumed_role_arn(role_arn: str, session_name: str) -> str:
    """``arn:aws:sts::<account>:assumed-role/<role name>/<session name>``, as AWS names a
    session (the role's path is dropped)."""
    account = role_arn.split(":")[4]
    return f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/{session_name}"


def response(session: Session, request_id: str) -> bytes:
    document = ET.Element("AssumeRoleWithWebIdentityResponse", xmlns=NAMESPACE)
    result = ET.SubElement(document, "AssumeRoleWithWebIdentityResult")

    def add(parent: ET.Element, tag: str, text: str) -> ET.Element:
        child = ET.SubElement(parent, tag)
        child.text = text
        return child

    add(result, "SubjectFromWebIdentityToken", session.principal.subject or session.principal.name)
    add(result, "Audience", session.audience)
    user = ET.SubElement(result, "AssumedRoleUser")
    role_name = session.role_arn.rsplit("/", 1)[-1]
    add(user, "Arn", assumed_role_arn(session.role_arn, session.session_name))
    add(user, "AssumedRoleId", f"{role_name}:{session.session_name}")
    credentials = ET.SubElement(result, "Credentials")
    add(credentials, "AccessKeyId", session.access_key)
    add(credentials, "SecretAccessKey", session.secret)
    add(credentials, "SessionToken", session.token)
    add(credentials, "Expiration", session.expires.strftime("%Y-%m-%dT%H:%M:%SZ"))
    add(result, "Provider", session.issuer)
    metadata = ET.SubElement(document, "ResponseMetadata")
    add(metadata, "RequestId", request_id)
    return bytes(ET.tostring(document, encoding="utf-8", xml_declaration=True))
