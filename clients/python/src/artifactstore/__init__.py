"""Artifact Store SDK: ``Client`` (sync) and ``AsyncClient`` over the store's S3 API and its
JSON API (referrers, trust, verdicts), with Keycloak login, resumable transfers and one error
model. Quick start: clients/python/README.md; reference: docs/sdk.md."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ._generated.models import ReferrerInfo, TrustModel, VerdictInfo
    from .signing import KeyPair

# Imported on first access (PEP 562): the pydantic models and the signing code (cryptography)
# are not what a transfer needs, and every process pays its imports.
_LAZY = {
    "ReferrerInfo": "._generated.models",
    "TrustModel": "._generated.models",
    "VerdictInfo": "._generated.models",
    "KeyPair": ".signing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


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
