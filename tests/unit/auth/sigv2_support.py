"""Shared helpers for the SigV2 tests: botocore's HmacV1 signers as the oracle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from email.utils import formatdate
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.auth.errors import AuthError
from gateway.auth.sigv2 import SigV2Credential, verify
from gateway.auth.sigv4 import SignedRequest
from tests.unit.auth.sigv4_support import ACCESS_KEY, SECRET, lookup, run

_SENT_WITH_PRESIGNED_URL = ("content-type", "content-md5")


def check(req: SignedRequest, now: datetime, **kwargs: Any) -> SigV2Credential:
    return run(verify(req, lookup, now, **kwargs))


def refused(req: SignedRequest, now: datetime, code: str, **kwargs: Any) -> AuthError:
    """Assert ``verify`` refuses the request with exactly ``code``; return the error."""
    with pytest.raises(AuthError) as caught:
        check(req, now, **kwargs)
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    return caught.value


def hmacv1_signed(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]] = (),
    *,
    when: datetime,
    auth_path: str | None = None,
    presign_expires: int | None = None,
    token: str | None = None,
) -> SignedRequest:
    """Sign with ``HmacV1Auth`` (or ``HmacV1QueryAuth``) and return what a server receives.

    ``auth_path`` is botocore's resource path for virtual-hosted and bucket-only requests.
    The signer reads the clock in ``_get_date``; it is pinned to ``when`` (for presigning,
    ``when + presign_expires`` as botocore computes it). Header values lose their outer
    whitespace as an HTTP server strips it. A presigned URL travels alone: only the entity
    headers it was signed with (which the holder must send) go with it, while ``x-amz-*``
    headers are already in its query.
    """
    request = AWSRequest(method=method, url=url, auth_path=auth_path)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends, so repeats survive
    creds = Credentials(ACCESS_KEY, SECRET, token)
    signer: HmacV1Auth
    if presign_expires is None:
        signer, date = HmacV1Auth(creds), formatdate(when.timestamp(), usegmt=True)
    else:
        signer = HmacV1QueryAuth(creds, expires=presign_expires)
        date = str(int(when.timestamp()) + presign_expires)
    with mock.patch.object(signer, "_get_date", return_value=date):
        signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    wire = [
        (name, value.strip(" \t"))
        for name, value in request.headers.items()
        if presign_expires is None or name.lower() in _SENT_WITH_PRESIGNED_URL
    ]
    wire.append(("Host", parts.netloc))
    return SignedRequest(prepared.method, parts.path or "/", parts.query, tuple(wire))


def with_header(req: SignedRequest, name: str, value: str | None) -> SignedRequest:
    """Replace (or with ``None`` drop) every header ``name``; add it when absent."""
    kept = [(n, v) for n, v in req.headers if n.lower() != name.lower()]
    if value is not None:
        kept.append((name, value))
    return replace(req, headers=tuple(kept))


def with_query_param(req: SignedRequest, key: str, value: str | None) -> SignedRequest:
    """Replace (or with ``None`` drop) the raw query parameter ``key``; add it when absent."""
    segments = [s for s in req.query_string.split("&") if s and s.partition("=")[0] != key]
    if value is not None:
        segments.append(f"{key}={value}")
    return replace(req, query_string="&".join(segments))


def query_param(req: SignedRequest, key: str) -> str:
    """The raw value of query parameter ``key``."""
    return next(s.partition("=")[2] for s in req.query_string.split("&") if s.startswith(key + "="))
