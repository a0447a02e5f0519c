"""Shared helpers for the SigV4 tests: the AWS example credentials and a botocore signer."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, TypeVar
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from gateway.auth.errors import AuthError
from gateway.auth.sigv4 import SignedRequest, SigV4Credential, verify

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

T = TypeVar("T")


async def lookup(access_key: str) -> str | None:
    return SECRET if access_key == ACCESS_KEY else None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that must finish without suspending (``verify`` does no real I/O)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise AssertionError("verify suspended: it should await nothing but the lookup")


def check(req: SignedRequest, now: datetime, **kwargs: Any) -> SigV4Credential:
    return run(verify(req, lookup, now, **kwargs))


def refused(req: SignedRequest, now: datetime, code: str, **kwargs: Any) -> AuthError:
    """Assert ``verify`` refuses the request with exactly ``code``; return the error."""
    with pytest.raises(AuthError) as caught:
        check(req, now, **kwargs)
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    return caught.value


def botocore_signed(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    when: datetime,
    region: str = "us-east-1",
    body: bytes = b"",
    presign_expires: int | None = None,
) -> SignedRequest:
    """Sign with botocore (header or presigned) and return what a server would receive.

    Path and query come from the prepared URL. Headers come from the signed ``AWSRequest``
    rather than the prepared request, because preparation folds repeated headers into one
    and a real client sends every repeat; ``Content-Length`` and the ``Host`` the HTTP client
    adds are appended. Values lose their leading and trailing whitespace, as an HTTP server
    strips it.
    """
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends, so repeats survive
    creds = Credentials(ACCESS_KEY, SECRET)
    signer = (
        S3SigV4Auth(creds, "s3", region)
        if presign_expires is None
        else S3SigV4QueryAuth(creds, "s3", region, expires=presign_expires)
    )
    naive = when.replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        signer.add_auth(request)
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    wire = [(name, value.strip(" \t")) for name, value in request.headers.items()]
    sent = {name.lower() for name, _ in wire}
    wire += [(n, v) for n, v in prepared.headers.items() if n.lower() not in sent]
    wire.append(("Host", parts.netloc))
    return SignedRequest(prepared.method, parts.path or "/", parts.query, tuple(wire))


def with_header(req: SignedRequest, name: str, value: str | None) -> SignedRequest:
    """Replace (or with ``None`` drop) every header ``name``; add it when absent."""
    kept = [(n, v) for n, v in req.headers if n.lower() != name.lower()]
    if value is not None:
        kept.append((name, value))
    return SignedRequest(req.method, req.raw_path, req.query_string, tuple(kept))
