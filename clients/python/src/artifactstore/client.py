"""The synchronous client: S3 through a botocore client (what boto3 would make; boto3 itself
is not imported), the JSON API through httpx, one error model.

Authentication (``Client.__init__``): SigV4 keys; a Keycloak token (a fixed one or a
refreshing login) sent as ``Authorization: Bearer`` on every call, S3 ones included, by a
botocore ``before-send`` hook on an unsigned client; or that token exchanged for STS session
credentials that botocore renews before they expire."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote

import botocore.exceptions
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.credentials import CredentialProvider, RefreshableCredentials
from botocore.session import Session as BotoSession

from . import planning
from . import resume as state_files
from .auth import KeycloakSession, StaticToken, TokenSource, assume_role_with_web_identity
from .checksums import CHUNK, HashBehind, checksum_of, hasher
from .config import Config, resolve_config
from .errors import (
    ArtifactStoreError,
    InvalidRequest,
    NotFound,
    Unavailable,
    VerificationFailed,
    error_for,
    from_problem,
    retry_after_of,
)

if TYPE_CHECKING:
    import httpx

    from . import signing
    from ._generated.models import ReferrerInfo, TrustModel, VerdictInfo

# httpx (the JSON API) and the generated pydantic models are imported on first use, not
# with the client: a transfer needs neither, and each process pays its imports.

T = TypeVar("T")
Source = str | os.PathLike[str] | IO[bytes]
Destination = str | os.PathLike[str] | IO[bytes]
ReferrerKind = Literal["signature", "sbom", "attestation"]


@dataclass(frozen=True)
class Progress:
    """What a transfer has done so far; ``parts_done`` counts parts stored (uploads) or
    ranges written (downloads)."""

    bytes_done: int
    total: int
    parts_done: int
    parts_total: int


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class UploadResult:
    bucket: str
    key: str
    etag: str | None
    size: int
    parts: int  # 1 for a single PUT
    resumed_parts: int  # parts found stored by an earlier, interrupted run
    version_id: str | None = None


@dataclass(frozen=True)
class DownloadResult:
    bucket: str
    key: str
    size: int
    etag: str | None
    sha256: str  # hex, of the bytes kept
    resumed_bytes: int  # bytes of a partial file kept from an interrupted run
    checksum_verified: str | None  # the stored checksum's algorithm that matched, if any
    path: Path | None = None


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str | None
    last_modified: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    referrer_counts: dict[str, int] = field(default_factory=dict)


class _Counter:
    def __init__(self, total: int, parts_total: int, callback: ProgressCallback | None) -> None:
        self.lock = threading.Lock()
        self.bytes = 0
        self.parts = 0
        self.total = total
        self.parts_total = parts_total
        self.callback = callback

    def add(self, nbytes: int = 0, parts: int = 0) -> None:
        with self.lock:
            self.bytes += nbytes
            self.parts += parts
            event = Progress(self.bytes, self.total, self.parts, self.parts_total)
            if self.callback is not None:
                self.callback(event)


class _StaticCredentialProvider(CredentialProvider):  # type: ignore[misc]
    METHOD = "artifact-store-sts"
    CANONICAL_NAME = "ArtifactStoreSts"

    def __init__(self, credentials: RefreshableCredentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> RefreshableCredentials:
        return self._credentials


def _is_path(value: object) -> bool:
    return isinstance(value, str | os.PathLike)


class Client:
    """Artifact Store client. Arguments override ``ARTIFACT_STORE_*`` and the profile
    (docs/sdk.md). ``token`` may be a string or a token source (a ``KeycloakSession``);
    with ``role_arn`` as well, the token is exchanged for STS session credentials."""

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        profile: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        token: str | TokenSource | None = None,
        role_arn: str | None = None,
        region: str | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        max_attempts: int = 4,
        max_pool_connections: int = 16,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config: Config = resolve_config(
            profile,
            env,
            endpoint=endpoint,
            access_key_id=access_key_id,
            secret_access_key=secret_access_key,
            session_token=session_token,
            token=token if isinstance(token, str) else None,
            role_arn=role_arn,
            region=region,
            state_dir=str(state_dir) if state_dir is not None else None,
        )
        if not self.config.endpoint:
            raise InvalidRequest("no endpoint: pass one or set ARTIFACT_STORE_ENDPOINT")
        self.endpoint = self.config.endpoint.rstrip("/")
        self.max_attempts = max_attempts
        self.tokens: TokenSource | None = None
        if token is not None and not isinstance(token, str):
            self.tokens = token
        elif self.config.token:
            self.tokens = StaticToken(self.config.token)
        self.state_dir = self.config.resolved_state_dir()
        self.timeout = timeout
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()
        self.mode: Literal["keys", "bearer", "sts", "anonymous"]
        boto_config = BotoConfig(
            region_name=self.config.region,
            s3={"addressing_style": "path"},
            retries={"max_attempts": max_attempts, "mode": "standard"},
            max_pool_connections=max_pool_connections,
            connect_timeout=10,
            read_timeout=timeout,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        botocore_session = BotoSession()
        botocore_session.set_config_variable("credentials_file", os.devnull)
        botocore_session.set_config_variable("config_file", os.devnull)
        if self.tokens is not None and self.config.role_arn:
            self.mode = "sts"
            tokens, arn = self.tokens, self.config.role_arn

            def fetch() -> dict[str, str]:
                creds = assume_role_with_web_identity(
                    self.endpoint, tokens.token(), arn, http=self.http
                )
                return {
                    "access_key": creds.access_key_id,
                    "secret_key": creds.secret_access_key,
                    "token": creds.session_token,
                    "expiry_time": creds.expiration.isoformat(),
                }

            refreshable = RefreshableCredentials.create_from_metadata(
                fetch(), fetch, _StaticCredentialProvider.METHOD
            )
            resolver = botocore_session.get_component("credential_provider")
            resolver.insert_before("env", _StaticCredentialProvider(refreshable))
        elif self.tokens is not None:
            self.mode = "bearer"
            boto_config = boto_config.merge(BotoConfig(signature_version=UNSIGNED))
        elif self.config.access_key_id and self.config.secret_access_key:
            self.mode = "keys"
            botocore_session.set_credentials(
                self.config.access_key_id,
                self.config.secret_access_key,
                self.config.session_token,
            )
        else:
            self.mode = "anonymous"
            boto_config = boto_config.merge(BotoConfig(signature_version=UNSIGNED))
        self.s3: Any = botocore_session.create_client(
            "s3", endpoint_url=self.endpoint, config=boto_config
        )
        if self.mode == "bearer":
            self.s3.meta.events.register("before-send.s3", self._add_bearer)

    # -- construction helpers -------------------------------------------------------------

    @classmethod
    def login_password(
        cls,
        username: str,
        password: str,
        *,
        issuer: str | None = None,
        client_id: str | None = None,
        role_arn: str | None = None,
        **kwargs: Any,
    ) -> Client:
        """Log in with the password grant on the realm's public client; the token refreshes."""
        session = _keycloak_session(issuer, client_id, kwargs)
        session.login_password(username, password)
        return cls(token=session, role_arn=role_arn, **kwargs)

    @classmethod
    def login_device(
        cls,
        *,
        prompt: Callable[[str, str], None] | None = None,
        issuer: str | None = None,
        client_id: str | None = None,
        role_arn: str | None = None,
        **kwargs: Any,
    ) -> Client:
        """Log in with the device flow: ``prompt(url, code)`` shows where to approve it."""
        session = _keycloak_session(issuer, client_id, kwargs)
        session.login_device(prompt or (lambda url, code: print(f"Open {url} (code {code})")))
        return cls(token=session, role_arn=role_arn, **kwargs)

    @property
    def http(self) -> httpx.Client:
        """The JSON API's HTTP client, made on first use."""
        with self._http_lock:
            if self._http is None:
                import httpx

                self._http = httpx.Client(base_url=self.endpoint, timeout=self.timeout)
            return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.s3.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _add_bearer(self, request: Any, **_: Any) -> None:
        assert self.tokens is not None
        request.headers["Authorization"] = f"Bearer {self.tokens.token()}"

    def _s3(self, operation: str, **params: Any) -> Any:
        """One botocore call (botocore retries throttling and 5xx itself) in our error model."""
        try:
            return getattr(self.s3, operation)(**params)
        except botocore.exceptions.ClientError as error:
            raise self._client_error(error) from error
        except (
            botocore.exceptions.EndpointConnectionError,
            botocore.exceptions.ConnectionClosedError,
            botocore.exceptions.ReadTimeoutError,
            botocore.exceptions.ConnectTimeoutError,
        ) as error:
            raise Unavailable(str(error)) from error

    @staticmethod
    def _client_error(error: botocore.exceptions.ClientError) -> ArtifactStoreError:
        response: dict[str, Any] = error.response
        info = response.get("Error", {})
        meta = response.get("ResponseMetadata", {})
        headers = meta.get("HTTPHeaders", {})
        status = meta.get("HTTPStatusCode")
        code = info.get("Code")
        message = info.get("Message") or (f"HTTP {status}" if status else str(error))
        return error_for(
            str(code) if code else None,
            str(message),
            int(status) if status else None,
            meta.get("RequestId") or headers.get("x-amz-request-id"),
            retry_after_of(headers.get("retry-after")),
        )

    def _auth_headers(self) -> dict[str, str]:
        if self.tokens is not None:
            return {"Authorization": f"Bearer {self.tokens.token()}"}
        if self.config.access_key_id and self.config.secret_access_key:
            pair = f"{self.config.access_key_id}:{self.config.secret_access_key}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return {}

    def _api(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """One JSON API call, repeated with backoff on 429/503 and connection failures.
        Every route the SDK calls is safe to repeat (attaching the same document again
        answers the referrer attached before)."""
        import httpx

        delay = 0.2
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.http.request(
                    method,
                    path,
                    params=params,
                    json=json_body,
                    content=content,
                    headers={**self._auth_headers(), **(headers or {})},
                )
            except httpx.TransportError as error:
                if attempt == self.max_attempts:
                    raise Unavailable(f"{method} {path}: {error}") from error
            else:
                if response.status_code in ok:
                    return response
                failure = from_problem(
                    response.status_code, response.content, dict(response.headers)
                )
                if not failure.retryable or attempt == self.max_attempts:
                    raise failure
                delay = max(delay, failure.retry_after or 0)
            time.sleep(min(delay, 10))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    # -- buckets ----------------------------------------------------------------------------

    def create_bucket(self, bucket: str) -> None:
        self._s3("create_bucket", Bucket=bucket)

    def delete_bucket(self, bucket: str, *, recursive: bool = False, poll: float = 0.5) -> None:
        """Delete a bucket; ``recursive`` first removes everything in it (the JSON API's
        deletion job, waited for)."""
        from ._generated.models import DeletionStatus, State

        if not recursive:
            self._s3("delete_bucket", Bucket=bucket)
            return
        response = self._api(
            "DELETE",
            f"/_artifacts/buckets/{quote(bucket, safe='')}",
            params={"recursive": "true"},
            ok=(200, 202, 204),
        )
        if response.status_code != 202:
            return
        while True:
            time.sleep(poll)
            answer = self._api("GET", f"/_artifacts/buckets/{quote(bucket, safe='')}/deletion")
            status = DeletionStatus.model_validate(answer.json())
            if status.state == State.done:
                return
            if status.state == State.failed:
                problem = status.problem
                raise from_problem(
                    problem.status if problem else 409,
                    problem.model_dump_json().encode() if problem else b"",
                    {},
                )

    def put_bucket_policy(self, bucket: str, policy: dict[str, Any] | str) -> None:
        text = policy if isinstance(policy, str) else json.dumps(policy)
        self._s3("put_bucket_policy", Bucket=bucket, Policy=text)

    def get_bucket_policy(self, bucket: str) -> dict[str, Any]:
        answer = self._s3("get_bucket_policy", Bucket=bucket)
        policy: dict[str, Any] = json.loads(answer["Policy"])
        return policy

    # -- objects ----------------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        answer = self._s3("head_object", Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        counts = {
            kind: int(headers[f"x-artifact-store-{kind}"])
            for kind in ("signatures", "sboms", "attestations")
            if f"x-artifact-store-{kind}" in headers
        }
        checksums = {
            name.removeprefix("Checksum").upper(): str(value)
            for name, value in answer.items()
            if name.startswith("Checksum") and name != "ChecksumType" and value
        }
        return ObjectInfo(
            key=key,
            size=int(answer.get("ContentLength", 0)),
            etag=answer.get("ETag"),
            last_modified=answer.get("LastModified"),
            metadata=dict(answer.get("Metadata") or {}),
            checksums=checksums,
            referrer_counts=counts,
        )

    def list_objects(
        self, bucket: str, prefix: str = "", *, page_size: int = 1000
    ) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, following continuation tokens lazily."""
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": page_size}
            if token:
                params["ContinuationToken"] = token
            page = self._s3("list_objects_v2", **params)
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    key=item["Key"],
                    size=int(item.get("Size", 0)),
                    etag=item.get("ETag"),
                    last_modified=item.get("LastModified"),
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def delete(self, bucket: str, keys: str | Iterable[str]) -> None:
        """Delete one key, or many with DeleteObjects (1000 a call); the first key that
        could not be deleted raises its error."""
        if isinstance(keys, str):
            self._s3("delete_object", Bucket=bucket, Key=keys)
            return
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == 1000:
                self._delete_batch(bucket, batch)
                batch = []
        if batch:
            self._delete_batch(bucket, batch)

    def _delete_batch(self, bucket: str, keys: list[str]) -> None:
        answer = self._s3(
            "delete_objects",
            Bucket=bucket,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True},
        )
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            status = {"AccessDenied": 403, "NoSuchKey": 404}.get(first.get("Code", ""), 400)
            raise error_for(
                first.get("Code"),
                f"{first.get('Key')}: {first.get('Message', '')} ({len(errors)} failed)",
                status,
                answer.get("ResponseMetadata", {}).get("RequestId"),
            )

    def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes | IO[bytes],
        *,
        metadata: dict[str, str] | None = None,
        checksum: str | None = None,
    ) -> UploadResult:
        """One plain PUT (no part planning, no resume)."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
        if metadata:
            params["Metadata"] = metadata
        if checksum:
            params["ChecksumAlgorithm"] = checksum
        answer = self._s3("put_object", **params)
        size = len(body) if isinstance(body, bytes) else -1
        return UploadResult(bucket, key, answer.get("ETag"), size, 1, 0, answer.get("VersionId"))

    def presign(
        self, bucket: str, key: str, *, method: Literal["GET", "PUT"] = "GET", expires: int = 3600
    ) -> str:
        """A URL anyone can use until it expires. Token callers ask the gateway to sign it
        with a session key of their own (their rights, their expiry)."""
        from ._generated.models import PresignedUrl

        if self.mode == "bearer":
            answer = self._api(
                "POST",
                "/_artifacts/presign",
                json_body={"method": method, "bucket": bucket, "key": key, "expires": expires},
            )
            return PresignedUrl.model_validate(answer.json()).url
        operation = "get_object" if method == "GET" else "put_object"
        url: str = self.s3.generate_presigned_url(
            operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )
        return url

    # -- upload -----------------------------------------------------------------------------

    def upload(
        self,
        bucket: str,
        key: str,
        source: Source,
        *,
        part_size: int | str = planning.DEFAULT_PART_SIZE,
        threshold: int | str = planning.DEFAULT_THRESHOLD,
        concurrency: int = 4,
        checksum: str | None = "CRC64NVME",
        metadata: dict[str, str] | None = None,
        progress: ProgressCallback | None = None,
        resume: bool = True,
    ) -> UploadResult:
        """Upload a file (resumable) or a readable stream: one PUT below ``threshold``,
        parallel multipart at or above it, each part with its ``checksum``."""
        wanted = planning.parse_size(part_size)
        limit = planning.parse_size(threshold)
        if _is_path(source):
            path = Path(source)  # type: ignore[arg-type]
            size = path.stat().st_size
            if size < limit:
                with path.open("rb") as body:
                    result = self._single_put(bucket, key, body, size, checksum, metadata)
                _Counter(size, 1, progress).add(size, 1)
                return result
            part = planning.part_size_for(size, wanted)
            return self._multipart_file(
                bucket, key, path, size, part, concurrency, checksum, metadata, progress, resume
            )
        stream: IO[bytes] = source  # type: ignore[assignment]
        head = _read_up_to(stream, limit)
        if len(head) < limit:
            result = self._single_put(bucket, key, head, len(head), checksum, metadata)
            _Counter(len(head), 1, progress).add(len(head), 1)
            return result
        return self._multipart_stream(
            bucket, key, head, stream, max(wanted, planning.MIN_PART_SIZE), concurrency,
            checksum, metadata, progress,
        )  # fmt: skip

    def _single_put(
        self,
        bucket: str,
        key: str,
        body: bytes | IO[bytes],
        size: int,
        checksum: str | None,
        metadata: dict[str, str] | None,
    ) -> UploadResult:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": body}
        if metadata:
            params["Metadata"] = metadata
        if checksum:
            params["ChecksumAlgorithm"] = checksum
        answer = self._s3("put_object", **params)
        return UploadResult(bucket, key, answer.get("ETag"), size, 1, 0, answer.get("VersionId"))

    def _create_upload(
        self, bucket: str, key: str, checksum: str | None, metadata: dict[str, str] | None
    ) -> str:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if metadata:
            params["Metadata"] = metadata
        if checksum:
            params["ChecksumAlgorithm"] = checksum
            if checksum == "CRC64NVME":
                params["ChecksumType"] = "FULL_OBJECT"
        upload_id: str = self._s3("create_multipart_upload", **params)["UploadId"]
        return upload_id

    def _upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        number: int,
        data: bytes,
        checksum: str | None,
    ) -> state_files.StoredPart:
        params: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload_id,
            "PartNumber": number,
            "Body": data,
        }
        value = None
        if checksum:
            value = checksum_of(data, checksum)
            params[f"Checksum{checksum}"] = value
        answer = self._s3("upload_part", **params)
        return state_files.StoredPart(str(answer["ETag"]), len(data), value)

    def _list_parts(self, bucket: str, key: str, upload_id: str) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        marker = 0
        while True:
            page = self._s3(
                "list_parts", Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
            )
            for item in page.get("Parts", []):
                found[int(item["PartNumber"])] = item
            if not page.get("IsTruncated"):
                return found
            marker = int(page.get("NextPartNumberMarker", 0))

    def _complete(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: dict[int, state_files.StoredPart],
        checksum: str | None,
    ) -> dict[str, Any]:
        listed = []
        for number, stored in sorted(parts.items()):
            entry: dict[str, Any] = {"PartNumber": number, "ETag": stored.etag}
            if checksum and stored.checksum:
                entry[f"Checksum{checksum}"] = stored.checksum
            listed.append(entry)
        answer: dict[str, Any] = self._s3(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": listed},
        )
        return answer

    def _multipart_file(
        self,
        bucket: str,
        key: str,
        path: Path,
        size: int,
        part_size: int,
        concurrency: int,
        checksum: str | None,
        metadata: dict[str, str] | None,
        progress: ProgressCallback | None,
        use_state: bool,
    ) -> UploadResult:
        plan = planning.plan_parts(size, part_size)
        store = state_files.UploadStateStore(self.state_dir)
        fp = state_files.fingerprint(path)
        state = store.load(bucket, key, fp) if use_state else None
        stored: dict[int, state_files.StoredPart] = {}
        if state is not None:
            kept = self._reconcile(bucket, key, path, plan, state, part_size, checksum)
            if kept is None:
                state = None
            else:
                stored = kept
        if state is None:
            state = state_files.UploadState(
                bucket, key, fp.token(), self._create_upload(bucket, key, checksum, metadata),
                part_size, checksum,
            )  # fmt: skip
            stored = {}
        state.parts = dict(stored)
        if use_state:
            store.save(state, fp)
        resumed = len(stored)
        counter = _Counter(size, len(plan), progress)
        counter.add(sum(p.size for p in stored.values()), resumed)
        todo = [p for p in plan if p.number not in stored]
        lock = threading.Lock()
        upload_id = state.upload_id

        def send(part: planning.Part) -> None:
            with path.open("rb") as source:
                source.seek(part.offset)
                data = source.read(part.length)
            result = self._upload_part(bucket, key, upload_id, part.number, data, checksum)
            with lock:
                state.parts[part.number] = result
                if use_state:
                    store.save(state, fp)
            counter.add(part.length, 1)

        _run_all(send, todo, concurrency)
        answer = self._complete(bucket, key, upload_id, state.parts, checksum)
        if use_state:
            store.delete(bucket, key, fp)
        return UploadResult(
            bucket, key, answer.get("ETag"), size, len(plan), resumed, answer.get("VersionId")
        )

    def _reconcile(
        self,
        bucket: str,
        key: str,
        path: Path,
        plan: list[planning.Part],
        state: state_files.UploadState,
        part_size: int,
        checksum: str | None,
    ) -> dict[int, state_files.StoredPart] | None:
        """The parts of an interrupted upload that may be kept: listed by ListParts with the
        planned size and the ETag the state recorded, or (a part stored just before the
        kill, not yet recorded) the checksum of the local bytes. None: start over."""
        if state.part_size != part_size or state.checksum_algorithm != checksum:
            return None
        try:
            listed = self._list_parts(bucket, key, state.upload_id)
        except NotFound:
            return None
        by_number = {p.number: p for p in plan}
        kept: dict[int, state_files.StoredPart] = {}
        with path.open("rb") as source:
            for number, item in listed.items():
                part = by_number.get(number)
                if part is None or int(item.get("Size", -1)) != part.length:
                    continue
                etag = str(item.get("ETag"))
                remote = item.get(f"Checksum{checksum}") if checksum else None
                recorded = state.parts.get(number)
                if recorded is not None and recorded.etag == etag:
                    if not checksum or remote in (None, recorded.checksum):
                        kept[number] = recorded
                    continue
                if checksum and remote:
                    source.seek(part.offset)
                    local = checksum_of(source.read(part.length), checksum)
                    if local == remote:
                        kept[number] = state_files.StoredPart(etag, part.length, local)
        return kept

    def _multipart_stream(
        self,
        bucket: str,
        key: str,
        head: bytes,
        stream: IO[bytes],
        part_size: int,
        concurrency: int,
        checksum: str | None,
        metadata: dict[str, str] | None,
        progress: ProgressCallback | None,
    ) -> UploadResult:
        upload_id = self._create_upload(bucket, key, checksum, metadata)
        counter = _Counter(-1, -1, progress)
        parts: dict[int, state_files.StoredPart] = {}
        lock = threading.Lock()
        slots = threading.BoundedSemaphore(concurrency)  # parts in memory at most
        buffer = io.BytesIO(head)
        number = 0
        size = 0
        try:
            with ThreadPoolExecutor(concurrency) as pool:
                futures: list[Future[None]] = []

                def send(n: int, data: bytes) -> None:
                    try:
                        result = self._upload_part(bucket, key, upload_id, n, data, checksum)
                        with lock:
                            parts[n] = result
                        counter.add(len(data), 1)
                    finally:
                        slots.release()

                while True:
                    data = buffer.read(part_size)
                    if len(data) < part_size:
                        data += _read_up_to(stream, part_size - len(data))
                    if not data and number > 0:
                        break
                    number += 1
                    size += len(data)
                    slots.acquire()
                    futures.append(pool.submit(send, number, data))
                    if any(f.done() and f.exception() for f in futures):
                        break
                    if len(data) < part_size:
                        break
                for future in futures:
                    future.result()
        except BaseException:
            with contextlib.suppress(ArtifactStoreError):
                self._s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        answer = self._complete(bucket, key, upload_id, parts, checksum)
        return UploadResult(
            bucket, key, answer.get("ETag"), size, len(parts), 0, answer.get("VersionId")
        )

    # -- download ---------------------------------------------------------------------------

    def download(
        self,
        bucket: str,
        key: str,
        destination: Destination,
        *,
        part_size: int | str = planning.DEFAULT_PART_SIZE,
        concurrency: int = 4,
        require_signature: bool = False,
        progress: ProgressCallback | None = None,
        resume: bool = True,
    ) -> DownloadResult:
        """Download to a file (parallel ranges, resumable) or a writable stream. The bytes
        are checked against the stored full-object checksum (or, with
        ``require_signature``, the SHA-256 the signed verdict names) before they are kept;
        ``require_signature`` first asks for the gateway's verdict and raises
        ``VerificationFailed`` unless the object is signed by a key the bucket trusts."""
        verdict = None
        if require_signature:
            verdict = self.verify(bucket, key)
            if not verdict.signed:
                raise VerificationFailed(
                    f"{bucket}/{key} is not signed by a trusted key: {verdict.reason}",
                    code="SignatureRequired",
                )
        info = self.head(bucket, key)
        range_size = max(1, planning.parse_size(part_size))
        if not _is_path(destination):
            return self._download_stream(bucket, key, destination, info, range_size, verdict)  # type: ignore[arg-type]
        target = Path(destination)  # type: ignore[arg-type]
        partial, state_path = state_files.partial_paths(target)
        plan = planning.plan_ranges(info.size, range_size) if info.size else []
        state = state_files.load_download_state(state_path) if resume else None
        usable = (
            state is not None
            and (state.bucket, state.key, state.etag, state.size, state.range_size)
            == (bucket, key, info.etag, info.size, range_size)
            and partial.exists()
            and partial.stat().st_size == info.size
        )
        if not usable or state is None:
            state = state_files.DownloadState(bucket, key, info.etag or "", info.size, range_size)
            target.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as out:
                out.truncate(info.size)
        done = set(state.done) & {p.number for p in plan}
        resumed_bytes = sum(p.length for p in plan if p.number in done)
        counter = _Counter(info.size, len(plan), progress)
        counter.add(resumed_bytes, len(done))
        state_files.write_json_atomically(state_path, state.to_json())
        lock = threading.Lock()
        index = {p.number: i for i, p in enumerate(plan)}
        # The stored full-object checksums (a composite one, "-N", cannot be recomputed from
        # the bytes) and the SHA-256, fed in file order while later ranges still download;
        # ranges kept from an interrupted run are read and hashed once, like the rest.
        sha = hashlib.sha256()
        full = {a: v for a, v in info.checksums.items() if "-" not in v}
        stored = {a: hasher(a) for a in full}
        fd = os.open(partial, os.O_RDWR)
        behind = HashBehind(
            fd,
            [(p.offset, p.length) for p in plan],
            [sha, *stored.values()],
            present=(index[n] for n in done),
        )
        try:
            behind.start()

            def fetch(part: planning.Part) -> None:
                params: dict[str, Any] = {
                    "Bucket": bucket,
                    "Key": key,
                    "Range": f"bytes={part.offset}-{part.end}",
                }
                if info.etag:
                    params["IfMatch"] = info.etag
                body = self._s3("get_object", **params)["Body"]
                offset = part.offset
                try:
                    while chunk := body.read(CHUNK):
                        os.pwrite(fd, chunk, offset)
                        offset += len(chunk)
                        counter.add(len(chunk))
                finally:
                    body.close()
                if offset != part.offset + part.length:
                    raise Unavailable(f"range {part.number} ended early", code="IncompleteBody")
                behind.written(index[part.number])
                os.fsync(fd)
                with lock:
                    state.done.append(part.number)
                    state_files.write_json_atomically(state_path, state.to_json())
                counter.add(0, 1)

            _run_all(fetch, [p for p in plan if p.number not in done], concurrency)
        except BaseException:
            behind.abandon()
            raise
        finally:
            hash_error = behind.join()
            os.close(fd)
        if hash_error is not None:
            raise hash_error
        if behind.hashed != info.size:  # pragma: no cover - every range reported written
            raise Unavailable(f"{bucket}/{key}: hashed {behind.hashed} of {info.size} bytes")
        sha256 = sha.hexdigest()
        computed = {a: h.value() for a, h in stored.items()}
        verified = self._check_digests(partial, full, computed, sha256, verdict, bucket, key)
        os.replace(partial, target)
        with contextlib.suppress(FileNotFoundError):
            state_path.unlink()
        return DownloadResult(
            bucket, key, info.size, info.etag, sha256, resumed_bytes, verified, target
        )

    @staticmethod
    def _check_digests(
        partial: Path,
        full: dict[str, str],
        computed: dict[str, str],
        sha256: str,
        verdict: VerdictInfo | None,
        bucket: str,
        key: str,
    ) -> str | None:
        """Compare the file's digests with the stored full-object checksums and the verdict's
        SHA-256; on a mismatch the partial file goes (its bytes are not the object's)."""
        verified = None
        for algorithm, expected in full.items():
            if computed[algorithm] != expected:
                partial.unlink(missing_ok=True)
                raise VerificationFailed(
                    f"{bucket}/{key}: {algorithm} {computed[algorithm]} != stored {expected}",
                    code="BadDigest",
                )
            verified = algorithm
        if verdict is not None and verdict.sha256 and verdict.sha256 != sha256:
            partial.unlink(missing_ok=True)
            raise VerificationFailed(
                f"{bucket}/{key}: the bytes are not the signed ones (sha256 {sha256})",
                code="BadDigest",
            )
        return verified

    def _download_stream(
        self,
        bucket: str,
        key: str,
        out: IO[bytes],
        info: ObjectInfo,
        range_size: int,
        verdict: VerdictInfo | None,
    ) -> DownloadResult:
        """Sequential ranges into a stream: constant memory, no resume (a stream cannot be
        rewound), SHA-256 computed on the way."""
        digest = hashlib.sha256()
        for part in planning.plan_ranges(info.size, range_size) if info.size else []:
            params: dict[str, Any] = {
                "Bucket": bucket,
                "Key": key,
                "Range": f"bytes={part.offset}-{part.end}",
            }
            if info.etag:
                params["IfMatch"] = info.etag
            body = self._s3("get_object", **params)["Body"]
            try:
                while chunk := body.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            finally:
                body.close()
        sha256 = digest.hexdigest()
        if verdict is not None and verdict.sha256 and verdict.sha256 != sha256:
            raise VerificationFailed(f"{bucket}/{key}: the bytes are not the signed ones")
        return DownloadResult(bucket, key, info.size, info.etag, sha256, 0, None, None)

    def sha256(self, bucket: str, key: str) -> bytes:
        """The object's SHA-256, computed from its bytes (streamed, constant memory)."""
        digest = hashlib.sha256()
        body = self._s3("get_object", Bucket=bucket, Key=key)["Body"]
        try:
            while chunk := body.read(CHUNK):
                digest.update(chunk)
        finally:
            body.close()
        return digest.digest()

    # -- supply chain -----------------------------------------------------------------------

    def _referrers_path(self, bucket: str) -> str:
        return f"/_artifacts/referrers/{quote(bucket, safe='')}"

    def attach(
        self,
        bucket: str,
        key: str,
        kind: ReferrerKind,
        document: bytes | dict[str, Any] | str | os.PathLike[str],
        *,
        media_type: str | None = None,
    ) -> ReferrerInfo:
        """Attach a signature bundle, SBOM or attestation (bytes, an object, or a file)."""
        from ._generated.models import ReferrerInfo

        if isinstance(document, dict):
            content = json.dumps(document).encode()
        elif isinstance(document, bytes):
            content = document
        else:
            content = Path(document).read_bytes()
        response = self._api(
            "POST",
            self._referrers_path(bucket),
            params={"key": key, "kind": kind},
            content=content,
            headers={"Content-Type": media_type or "application/json"},
            ok=(201,),
        )
        return ReferrerInfo.model_validate(response.json())

    def referrers(
        self, bucket: str, key: str, *, kind: ReferrerKind | None = None
    ) -> list[ReferrerInfo]:
        from ._generated.models import ReferrerInfo

        params = {"key": key}
        if kind:
            params["kind"] = kind
        response = self._api("GET", self._referrers_path(bucket), params=params)
        return [ReferrerInfo.model_validate(item) for item in response.json()]

    def get_referrer(self, bucket: str, key: str, digest: str) -> bytes:
        response = self._api("GET", f"{self._referrers_path(bucket)}/{digest}", params={"key": key})
        return response.content

    def sign(
        self, bucket: str, key: str, keys: signing.KeyPair, *, sha256: bytes | None = None
    ) -> ReferrerInfo:
        """Sign the object with a local key and attach the bundle. Without ``sha256`` the
        object is read to compute it: what is signed is the bytes, never a server's claim."""
        from . import signing

        digest = sha256 if sha256 is not None else self.sha256(bucket, key)
        bundle = signing.build_bundle(keys, digest, name=key)
        return self.attach(bucket, key, "signature", bundle, media_type=signing.BUNDLE_MEDIA_TYPE)

    def get_trust(self, bucket: str) -> TrustModel:
        from ._generated.models import TrustModel

        try:
            response = self._api("GET", f"/_artifacts/trust/{quote(bucket, safe='')}")
        except NotFound:
            return TrustModel()
        return TrustModel.model_validate(response.json())

    def put_trust(self, bucket: str, trust: TrustModel) -> TrustModel:
        from ._generated.models import TrustModel

        response = self._api(
            "PUT",
            f"/_artifacts/trust/{quote(bucket, safe='')}",
            json_body=trust.model_dump(mode="json", exclude_none=True),
        )
        return TrustModel.model_validate(response.json())

    def trust_key(
        self,
        bucket: str,
        name: str,
        public_key: str | signing.KeyPair,
        *,
        require_signature: bool | None = None,
    ) -> TrustModel:
        """Add (or replace, by name) a trusted public key, keeping the rest of the trust."""
        from . import signing
        from ._generated.models import TrustedKeyModel

        pem = public_key.public_pem() if isinstance(public_key, signing.KeyPair) else public_key
        trust = self.get_trust(bucket)
        keys = [k for k in (trust.keys or []) if k.name != name]
        keys.append(TrustedKeyModel(name=name, public_key=pem))
        update: dict[str, Any] = {"keys": keys}
        if require_signature is not None:
            update["require_signature"] = require_signature
        return self.put_trust(bucket, trust.model_copy(update=update))

    def verify(self, bucket: str, key: str, *, fresh: bool = False) -> VerdictInfo:
        """The gateway's verdict: signatures, SBOMs and attestations judged against the
        bucket's trust."""
        from ._generated.models import VerdictInfo

        params = {"key": key}
        if fresh:
            params["fresh"] = "true"
        response = self._api("GET", f"/_artifacts/verify/{quote(bucket, safe='')}", params=params)
        return VerdictInfo.model_validate(response.json())

    def verify_local(
        self,
        bucket: str,
        key: str,
        public_key: str | signing.KeyPair | signing.PublicKey,
        *,
        sha256: bytes | None = None,
    ) -> bool:
        """Offline check: does a signature referrer of the object verify with this public
        key over the object's bytes? Trusts nothing the server says: the SHA-256 is
        ``sha256`` (of a local copy) or computed by reading the object, which is only done
        when there is a signature to check."""
        from . import signing

        if isinstance(public_key, signing.KeyPair):
            key_object = public_key.public_key
        elif isinstance(public_key, str):
            key_object = signing.load_public_key(public_key)
        else:
            key_object = public_key
        found = self.referrers(bucket, key, kind="signature")
        if not found:
            return False
        digest = sha256 if sha256 is not None else self.sha256(bucket, key)
        for referrer in found:
            document = self.get_referrer(bucket, key, referrer.digest)
            if signing.verify_bundle(document, key_object, digest):
                return True
        return False


def _keycloak_session(
    issuer: str | None, client_id: str | None, kwargs: dict[str, Any]
) -> KeycloakSession:
    """The realm and client a login uses: the arguments, else the profile/environment."""
    config = resolve_config(kwargs.get("profile"), kwargs.get("env"))
    issuer = issuer or config.oidc_issuer
    if not issuer:
        raise InvalidRequest("no OIDC issuer: pass one or set ARTIFACT_STORE_OIDC_ISSUER")
    return KeycloakSession(issuer, client_id or config.oidc_client)


def _read_up_to(stream: IO[bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = stream.read(min(left, CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _run_all(work: Callable[[T], None], items: list[T], concurrency: int) -> None:
    """Run ``work`` over ``items`` on ``concurrency`` threads; the first failure cancels
    what has not started and is raised."""
    if not items:
        return
    if concurrency <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(min(concurrency, len(items))) as pool:
        futures = [pool.submit(work, item) for item in items]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            error = future.exception()
            if error is not None:
                raise error
        for future in futures:
            if not future.cancelled():
                future.result()
