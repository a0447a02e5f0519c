"""The two ways in: the registry's own API (the ceiling) and S3 through the gateway.

Direct registry operations do what the gateway does per object, with httpx:
blob upload = POST ``/blobs/uploads/`` + PUT ``?digest=`` with the body (digest known up
front, the registry hashes while it writes); object push = that + the object's manifest
under its tag (the same manifest shape, repository and tag the gateway computes); object
pull = GET the manifest by tag + GET its layer.

Through the gateway: boto3 for small objects and listings; for big PUTs httpx with a SigV4
header signed by botocore, either over the real SHA-256 of the body (computed beforehand
without holding the body) or ``UNSIGNED-PAYLOAD``, or as an ``aws-chunked`` body with a
CRC64NVME trailer (what current SDKs send by default), its chunks unsigned or signed. boto3
itself cannot stream a big body once over http: it reads it a first time to sign the payload
hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from bench import data
from bench.procs import ACCESS_KEY, SECRET_KEY
from gateway.auth.sigv4 import SigV4Credential, signing_key
from gateway.domain import checksums, mapping
from gateway.domain.values import Layer, ObjectRecord
from gateway.s3.chunked import SIGNED_TRAILER, UNSIGNED_TRAILER, ChunkSigner, canonical_trailer
from tests.fixtures.registries import RunningRegistry

UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TIMEOUT = httpx.Timeout(900.0, connect=10.0)
OCTET = "application/octet-stream"


class Failed(RuntimeError):
    pass


def _check(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in expected:
        raise Failed(
            f"{response.request.method} {response.request.url.path}: "
            f"HTTP {response.status_code} {response.text[:300]}"
        )
    return response


def _body(seed: int, size: int) -> Any:
    """Small bodies as bytes, big ones as a generator (streamed, never whole in memory)."""
    return data.whole(seed, size) if size <= 1 << 20 else data.chunks(seed, size)


# -- the registry, directly -------------------------------------------------------------------


def registry_client(registry: RunningRegistry) -> httpx.Client:
    """Straight to the registry, with the gateway's own credentials (Zot is closed to others)."""
    headers = {}
    if registry.auth is not None:  # sent up front, as the gateway sends it (no 401 first)
        token = base64.b64encode(":".join(registry.auth).encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return httpx.Client(base_url=registry.url, headers=headers, timeout=TIMEOUT)


def push_blob(client: httpx.Client, repository: str, seed: int, size: int) -> str:
    """A blob whose digest is known, the fastest way the registry takes it: Zot in the POST
    that opens the upload (one request, hashed while written), as the gateway sends it;
    distribution needs POST + PUT ``?digest=``."""
    digest = "sha256:" + data.sha256_hex(seed, size)
    headers = {"Content-Type": OCTET, "Content-Length": str(size)}
    if _single_post.get(str(client.base_url), True):
        answer = client.post(
            f"/v2/{repository}/blobs/uploads/",
            params={"digest": digest},
            content=_body(seed, size),
            headers=headers,
        )
        if answer.status_code == 201:
            return digest
        _single_post[str(client.base_url)] = False
        _check(answer, 202)
        return push_blob(client, repository, seed, size)
    started = _check(client.post(f"/v2/{repository}/blobs/uploads/"), 202)
    location = started.headers["location"]
    target = f"{location}{'&' if '?' in location else '?'}digest={quote(digest, safe='')}"
    _check(client.put(target, content=_body(seed, size), headers=headers), 201)
    return digest


_single_post: dict[str, bool] = {}  # registry URL -> whether it takes a blob in its POST


_local = threading.local()


def _urllib3() -> urllib3.PoolManager:
    """Blob GETs go through urllib3, the HTTP stack under boto3, so that the direct and the
    gateway GETs cost the client the same (httpx spends ~4x more CPU per streamed GiB)."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = urllib3.PoolManager(maxsize=4, retries=False)
    return pool


def get_blob(client: httpx.Client, repository: str, digest: str, size: int) -> None:
    received = 0
    url = f"{client.base_url}".rstrip("/") + f"/v2/{repository}/blobs/{digest}"
    credentials = client.headers.get("authorization")
    headers = {"Authorization": credentials} if credentials else {}
    response = _urllib3().request("GET", url, headers=headers, preload_content=False, timeout=900.0)
    try:
        if response.status != 200:
            raise Failed(f"GET {url}: HTTP {response.status}")
        for piece in response.stream(1 << 20):
            received += len(piece)
    finally:
        response.release_conn()
    if received != size:
        raise Failed(f"blob {digest}: {received} bytes of {size}")


def ensure_config(client: httpx.Client, repository: str) -> None:
    """The empty config blob every object manifest names (the gateway pushes it once per
    repository and process)."""
    head = client.head(f"/v2/{repository}/blobs/{mapping.EMPTY_DIGEST}")
    if head.status_code == 200:
        return
    started = _check(client.post(f"/v2/{repository}/blobs/uploads/"), 202)
    location = started.headers["location"]
    digest = quote(mapping.EMPTY_DIGEST, safe="")
    target = f"{location}{'&' if '?' in location else '?'}digest={digest}"
    _check(client.put(target, content=mapping.EMPTY_BLOB, headers={"Content-Type": OCTET}), 201)


def object_manifest(bucket: str, key: str, digest: str, size: int) -> bytes:
    record = ObjectRecord(
        bucket=bucket,
        key=key,
        manifest_digest="",
        size=size,
        etag='"' + hashlib.md5(key.encode(), usedforsecurity=False).hexdigest() + '"',
        last_modified=datetime.now(UTC),
        layers=(Layer(digest=digest, size=size),),
        headers={"Content-Type": "binary/octet-stream"},
        checksums={"SHA256": "x"},
    )
    return mapping.object_manifest(record)


def push_object(
    client: httpx.Client,
    prefix: str,
    bucket: str,
    key: str,
    seed: int,
    size: int,
    repository: str | None = None,
) -> None:
    """Blob + manifest, as the gateway's PutObject does (config blob assumed present);
    ``repository`` overrides the key's shard (to compare with one unsharded repository)."""
    location = mapping.locate(prefix, bucket, key)
    repository = repository or location.repository
    digest = push_blob(client, repository, seed, size)
    manifest = object_manifest(bucket, key, digest, size)
    url = f"/v2/{repository}/manifests/{location.tag}"
    headers = {"Content-Type": mapping.MANIFEST_MEDIA_TYPE}
    _check(client.put(url, content=manifest, headers=headers), 201)


def pull_object(client: httpx.Client, prefix: str, bucket: str, key: str, size: int) -> None:
    """Manifest by tag, then its layer: what a registry-only reader of an object does."""
    location = mapping.locate(prefix, bucket, key)
    url = f"/v2/{location.repository}/manifests/{location.tag}"
    manifest = _check(client.get(url, headers={"Accept": mapping.MANIFEST_MEDIA_TYPE}), 200)
    layer = json.loads(manifest.content)["layers"][0]
    get_blob(client, location.repository, layer["digest"], size)


# -- S3 through the gateway -------------------------------------------------------------------


def s3_client(url: str, pool: int = 16, attempts: int = 2) -> Any:
    """One boto3 client (own session: sessions are not thread-safe). Checksums only when
    required, so that the client's CRC/SHA work does not count against the gateway.
    ``attempts`` counts the first try (Config's ``max_attempts`` counts retries only)."""
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": attempts, "mode": "standard"},
            max_pool_connections=pool,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=10,
            read_timeout=900,
        ),
    )


class _Signer(S3SigV4Auth):
    """SigV4 over a payload hash given up front (or UNSIGNED-PAYLOAD), without the body."""

    def __init__(self, payload_hash: str) -> None:
        super().__init__(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1")
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash

    def _should_sha256_sign_payload(self, request: AWSRequest) -> bool:
        return self._payload_hash != UNSIGNED


def signed_headers(
    method: str, url: str, payload_hash: str = EMPTY_SHA256, headers: dict[str, str] | None = None
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=b"", headers=dict(headers or {}))
    _Signer(payload_hash).add_auth(request)
    return dict(request.headers.items())


def gateway_put(
    client: httpx.Client, base: str, bucket: str, key: str, seed: int, size: int, *, signed: bool
) -> None:
    url = f"{base}/{bucket}/{quote(key)}"
    payload = data.sha256_hex(seed, size) if signed else UNSIGNED
    headers = {"Content-Length": str(size), "Content-Type": OCTET}
    headers = signed_headers("PUT", url, payload, headers)
    _check(client.put(url, content=_body(seed, size), headers=headers), 200)


PUT_MODES = {  # bench mode -> x-amz-content-sha256 of the request
    "put_signed": "<the body's SHA-256>",
    "put_unsigned": UNSIGNED,
    "put_trailer_unsigned": UNSIGNED_TRAILER,  # boto3 and aws-cli v2 over HTTPS
    "put_trailer_signed": SIGNED_TRAILER,
}
CHUNK_TRAILER = "x-amz-checksum-crc64nvme"


def _framed_length(size: int, signed: bool, trailer: str) -> int:
    """The aws-chunked body's length: chunk heads, data, the final chunk and the trailer."""
    extension = len(";chunk-signature=") + 64 if signed else 0
    length, left = 0, size
    while left > 0:
        piece = min(data.CHUNK, left)
        length += len(f"{piece:x}") + extension + 2 + piece + 2
        left -= piece
    length += 1 + extension + 2  # "0[;chunk-signature=...]\r\n"
    length += len(trailer) + 2
    if signed:
        length += len("x-amz-trailer-signature:") + 64 + 2
    return length + 2


def _aws_chunked(seed: int, size: int, signer: ChunkSigner | None) -> Iterator[bytes]:
    """The body framed as aws-chunked, 1 MiB chunks, with a CRC64NVME trailer at the end."""
    crc = checksums.new("CRC64NVME")

    def head(piece: bytes) -> bytes:
        if signer is None:
            return f"{len(piece):x}\r\n".encode()
        signature = signer.chunk(hashlib.sha256(piece).hexdigest())
        return f"{len(piece):x};chunk-signature={signature}\r\n".encode()

    for piece in data.chunks(seed, size):
        crc.update(piece)
        yield head(piece) + piece + b"\r\n"
    trailers = {CHUNK_TRAILER: crc.b64()}
    end = head(b"") + f"{CHUNK_TRAILER}:{trailers[CHUNK_TRAILER]}\r\n".encode()
    if signer is not None:
        end += f"x-amz-trailer-signature:{signer.trailer(canonical_trailer(trailers))}\r\n".encode()
    yield end + b"\r\n"


def _chunk_signer(headers: dict[str, str], mode: str) -> ChunkSigner:
    """Chain chunk signatures from the seed signature botocore put in the header."""
    amz_date = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    date = amz_date.strftime("%Y%m%d")
    credential = SigV4Credential(
        access_key=ACCESS_KEY,
        amz_date=amz_date,
        date=date,
        region="us-east-1",
        service="s3",
        signed_headers=(),
        payload_hash=mode,
        signature=headers["Authorization"].rsplit("Signature=", 1)[1],
        signing_key=signing_key(SECRET_KEY, date, "us-east-1", "s3"),
        presigned=False,
    )
    return ChunkSigner(credential)


def gateway_put_chunked(
    client: httpx.Client, base: str, bucket: str, key: str, seed: int, size: int, *, signed: bool
) -> None:
    url = f"{base}/{bucket}/{quote(key)}"
    mode = SIGNED_TRAILER if signed else UNSIGNED_TRAILER
    trailer_line = f"{CHUNK_TRAILER}:{checksums.new('CRC64NVME').b64()}"  # same length always
    headers = {
        "Content-Type": OCTET,
        "Content-Encoding": "aws-chunked",
        "Content-Length": str(_framed_length(size, signed, trailer_line)),
        "x-amz-decoded-content-length": str(size),
        "x-amz-trailer": CHUNK_TRAILER,
        "x-amz-sdk-checksum-algorithm": "CRC64NVME",
    }
    headers = signed_headers("PUT", url, mode, headers)
    signer = _chunk_signer(headers, mode) if signed else None
    _check(client.put(url, content=_aws_chunked(seed, size, signer), headers=headers), 200)


def gateway_get(client: Any, bucket: str, key: str, size: int) -> None:
    """boto3 GetObject, the body read in 1 MiB pieces and dropped."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    received = 0
    for piece in body.iter_chunks(1 << 20):
        received += len(piece)
    if received != size:
        raise Failed(f"{bucket}/{key}: {received} bytes of {size}")


def gateway_list_page(client: httpx.Client, base: str, bucket: str, after: str | None) -> int:
    """One raw ListObjectsV2 page of up to 1000 keys (the server's time, no XML parsing on
    the client); returns the number of keys on it."""
    query = "list-type=2&max-keys=1000"
    if after is not None:
        query += "&start-after=" + quote(after, safe="")
    url = f"{base}/{bucket}?{query}"
    response = _check(client.get(url, headers=signed_headers("GET", url)), 200)
    return response.text.count("<Key>")
