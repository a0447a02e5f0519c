"""Presigned SigV4 URLs made by the gateway itself (for Bearer users, who hold no S3 key).

The URL is signed with a short-lived session key of the caller's own (as STS would issue,
``auth/keyring.py``) whose session token rides in ``X-Amz-Security-Token``: the URL carries
exactly the caller's rights and stops working when it expires. The canonical request is the
verifier's own (``auth/canonical.py``), so signing and checking cannot disagree.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote, urlsplit

from gateway.auth import canonical
from gateway.auth.canonical import ALGORITHM, TERMINATOR
from gateway.auth.sigv4 import signing_key

UNSIGNED = "UNSIGNED-PAYLOAD"


def presign(
    method: str,
    url: str,
    *,
    access_key: str,
    secret: str,
    session_token: str | None,
    expires: int,
    now: datetime,
    region: str,
) -> str:
    """``url`` (scheme, host, path; no query) signed for ``expires`` seconds from ``now``."""
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    scope = f"{date}/{region}/s3/{TERMINATOR}"
    params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if session_token is not None:
        params.append(("X-Amz-Security-Token", session_token))
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)
    creq = canonical.canonical_request(
        method=method,
        raw_path=parts.path or "/",
        query_string=query,
        headers=[("host", parts.netloc)],
        signed_headers=["host"],
        payload_hash=UNSIGNED,
        presigned=True,
    )
    to_sign = canonical.string_to_sign(amz_date, scope, creq)
    key = signing_key(secret, date, region, "s3")
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{query}&X-Amz-Signature={signature}"
