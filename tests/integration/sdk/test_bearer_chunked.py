"""A Bearer-token PUT with an aws-chunked body and a trailing checksum, as the AWS SDKs send a
stream with a flexible checksum (the JS SDK with a file stream): the gateway decodes the
framing as for SigV4 callers (it used to refuse it: 'Trailing checksums need an aws-chunked
body')."""

from __future__ import annotations

import base64
import uuid
import zlib

import httpx

from tests.fixtures.keycloak import RunningKeycloak


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_bearer_put_with_unsigned_aws_chunked_body(
    contract_env: dict[str, str], keycloak: RunningKeycloak
) -> None:
    """Uses only the contract's environment, so it runs with any harness that provides it."""
    url = contract_env["ARTIFACT_STORE_ENDPOINT"]
    token = keycloak.password_token("carol")
    auth = {"Authorization": f"Bearer {token}"}
    bucket = f"bearer-chunked-{uuid.uuid4().hex[:8]}"
    assert httpx.put(f"{url}/{bucket}", headers=auth).status_code == 200
    data = bytes(range(256)) * 100  # 25,600 bytes: chunks of 16 KiB and the rest
    body = (
        b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in (data[:16384], data[16384:]))
        + b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % _crc32(data).encode()
    )
    answer = httpx.put(
        f"{url}/{bucket}/streamed.bin",
        content=body,
        headers={
            **auth,
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-amz-checksum-crc32"] == _crc32(data)
    stored = httpx.get(f"{url}/{bucket}/streamed.bin", headers=auth)
    assert stored.content == data
    # a wrong trailing checksum is still refused, nothing stored
    bad = body.replace(_crc32(data).encode(), _crc32(b"other").encode())
    refused = httpx.put(
        f"{url}/{bucket}/bad.bin",
        content=bad,
        headers={
            **auth,
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "content-encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32",
        },
    )
    assert refused.status_code == 400
    assert b"BadDigest" in refused.content
    missing = httpx.head(f"{url}/{bucket}/bad.bin", headers=auth)
    assert missing.status_code == 404
