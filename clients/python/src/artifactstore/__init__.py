"""Artifact Store SDK: ``Client`` (sync) and ``AsyncClient`` over the store's S3 API and its
JSON API (referrers, trust, verdicts), with Keycloak login, resumable transfers and one error
model. Quick start: clients/python/README.md; reference: docs/sdk.md."""

from ._generated.models import ReferrerInfo, TrustModel, VerdictInfo
from .aio import AsyncClient
from .auth import KeycloakSession, StaticToken, TokenSource
from .client import Client, DownloadResult, ObjectInfo, Progress, UploadResult
from .config import Config, resolve_config
from .errors import (
    AccessDenied,
    ArtifactStoreError,
    Conflict,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    Retryable,
    Unauthorized,
    Unavailable,
    VerificationFailed,
)
from .signing import KeyPair

__all__ = [
    "AccessDenied",
    "ArtifactStoreError",
    "AsyncClient",
    "Client",
    "Config",
    "Conflict",
    "DownloadResult",
    "InvalidRequest",
    "KeyPair",
    "KeycloakSession",
    "NotFound",
    "ObjectInfo",
    "PreconditionFailed",
    "Progress",
    "ReferrerInfo",
    "Retryable",
    "StaticToken",
    "TokenSource",
    "TrustModel",
    "Unauthorized",
    "Unavailable",
    "UploadResult",
    "VerdictInfo",
    "VerificationFailed",
    "resolve_config",
]
