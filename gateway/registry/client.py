"""A streaming client for the OCI distribution API (the only way the gateway reaches Zot).

It knows OCI and nothing of S3. Bodies go in and out as async iterators; nothing here holds
a whole blob in memory. Spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState
from tenacity.wait import wait_base, wait_random_exponential

from gateway.domain.ports.registry import (
    Blob,
    Manifest,
    PushedManifest,
    RegistryDigestInvalid,
    RegistryError,
    RegistryNotFound,
    RegistryRejected,
    RegistryUnavailable,
)
from gateway.observability import metrics
from gateway.registry.blobcache import BlobCache, CachedBlob, recorded
from gateway.registry.blobfetch import CALL, BlobFetcher
from gateway.registry.circuit import Circuit, Unbroken
from gateway.registry.retries import (
    REFUSED,
    RETRIES,
    RetryBudget,
    call_name,
    repeatable,
    transient,
    unreachable,
)
from gateway.registry.session import SessionAuth, ZotSession, no_cookies

MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
EMPTY_BLOB = b"{}"  # the OCI empty descriptor's blob: what probes the upload flow
_TRANSPORT_ERRORS = (httpx.TransportError,)
PAGE = 1000
# A blob this small is read whole before it is sent: one request even when its digest is
# only known at the end, a body that retries and the session cookie can send again, and
# memory bounded by this, not by the object.
WHOLE_BODY = 256 * 1024
# The pause before try n+1 of a repeatable call: random (full jitter) up to 0.1 * 2**(n-1) s,
# at most 2 s; with 4 tries at most 0.7 s in all, about 0.35 s on average.
PAUSE = wait_random_exponential(multiplier=0.1, max=2.0)
T = TypeVar("T")
# How a registry refuses a manifest that names a blob it does not have (Zot: MANIFEST_INVALID).
_MISSING_BLOB_CODES = frozenset({"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "MANIFEST_INVALID"})
if TYPE_CHECKING:
    from opentelemetry.instrumentation.httpx import RequestInfo
    from opentelemetry.trace import Span

# What a measured request ends with when no answer came (blobfetch raises the latter).
_NO_ANSWER = (httpx.TransportError, RegistryUnavailable)
log = logging.getLogger("gateway.registry")


async def _name_span(span: Span, request: RequestInfo) -> None:
    """A registry call's span is named by what it does (``registry push manifest``), not by
    its method alone."""
    call = (request.extensions or {}).get(CALL)
    if call and span.is_recording():
        span.update_name(f"registry {call}")
        span.set_attribute(CALL, call)


def referrers_tag(digest: str) -> str:
    """The distribution spec's referrers tag of a subject: ``<alg>-<hex>``."""
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm[:32]}-{encoded[:64]}"


def _sha256(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def descriptor_of(body: bytes) -> dict[str, Any]:
    """A manifest's descriptor as a referrers index lists it: with its ``artifactType`` (or
    its config's media type) and its annotations."""
    document = json.loads(body)
    descriptor: dict[str, Any] = {
        "mediaType": document.get("mediaType", MANIFEST_MEDIA_TYPE),
        "digest": _sha256(body),
        "size": len(body),
    }
    artifact_type = document.get("artifactType") or document.get("config", {}).get("mediaType")
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    if document.get("annotations"):
        descriptor["annotations"] = document["annotations"]
    return descriptor


def _index_manifests(body: bytes) -> list[dict[str, Any]]:
    try:
        manifests = json.loads(body).get("manifests") or []
    except (ValueError, AttributeError):
        return []
    return [item for item in manifests if isinstance(item, dict)]


class _Measured:
    """One registry request's duration (until its answer's headers) and outcome, under its
    call name: a bounded label, never the URL. A request that ends without an answer and
    without a transport error (cancelled, or the gateway's own client stopped sending the
    body) is ``aborted``: nothing the registry did."""

    __slots__ = ("call", "started", "status")

    def __init__(self, call: str) -> None:
        self.call = call
        self.status: int | None = None
        self.started = time.perf_counter()

    def __enter__(self) -> _Measured:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        if error is not None:
            outcome = "transport_error" if isinstance(error, _NO_ANSWER) else "aborted"
        elif self.status is None:
            return  # nothing was asked (the fast blob path handed the request back)
        else:
            outcome = metrics.status_class(self.status)
        metrics.child(metrics.REGISTRY_DURATION, self.call).observe(
            time.perf_counter() - self.started
        )
        metrics.child(metrics.REGISTRY_REQUESTS, self.call, outcome).inc()


class BlobStream:
    """An open blob download through httpx; the caller iterates it and must close it."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.length = int(response.headers.get("content-length", "0"))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except _TRANSPORT_ERRORS as exc:
            raise RegistryUnavailable(f"blob stream broke: {exc}") from exc

    async def aclose(self) -> None:
        await self._response.aclose()


class _Remembered:
    """A whole small blob read from the registry, handed to the cache once fully read."""

    def __init__(self, blob: Blob, keep: Callable[[bytes], None]) -> None:
        self._blob, self._keep = blob, keep
        self.status, self.length = blob.status, blob.length

    def __aiter__(self) -> AsyncIterator[bytes]:
        return recorded(self._blob, self.length, self._keep).__aiter__()


def _with_digest(location: str, digest: str) -> str:
    """Append ``digest`` to an upload URL without re-encoding the registry's own state
    parameter (re-encoding distribution's base64 ``_state`` breaks it)."""
    return f"{location}{'&' if '?' in location else '?'}digest={quote(digest, safe='')}"


def _error_from(response: httpx.Response, what: str) -> RegistryError:
    try:
        content = response.content
    except httpx.ResponseNotRead:
        content = b""
    return _error(response.status_code, content, what)


def _error(status: int, content: bytes, what: str) -> RegistryError:
    """The error for an answer >= 400, from its status and OCI error document."""
    code = None
    message = f"{what}: HTTP {status}"
    try:
        document = json.loads(content)
        # The spec's {"errors": [...]}; Zot answers an auth failure with one bare error.
        errors = document.get("errors") or ([document] if "code" in document else [])
        if errors:
            code = errors[0].get("code")
            message = f"{what}: {code} {errors[0].get('message', '')}".strip()
    except (ValueError, AttributeError):
        pass
    if status >= 500 or status == 429:
        return RegistryUnavailable(message, status=status, code=code)
    if status == 404:
        return RegistryNotFound(message, status=status, code=code)
    if code == "DIGEST_INVALID" or (
        status == 400 and code in {"BLOB_UPLOAD_INVALID", "SIZE_INVALID"}
    ):
        return RegistryDigestInvalid(message, status=status, code=code)
    return RegistryRejected(message, status=status, code=code)


class RegistryClient:
    """The registry port. One instance per process; it owns an ``httpx.AsyncClient``.

    Blob downloads from an ``http://`` registry take a faster path of their own
    (``blobfetch.BlobFetcher``) unless ``fast_blobs`` is false or a ``transport`` is given;
    it hands anything unusual (redirects, auth challenges) back to httpx.

    With a ``session`` (session.py) the requests carry Zot's session cookie where that is
    safe, else ``auth`` (Basic) on every request.

    Every attempt passes the ``circuit`` (circuit.py); a repeatable call is tried up to
    ``attempts`` times after transient failures, with jittered exponential pauses
    (``pause``, a tenacity wait), as the ``budget`` allows (retries.py).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: tuple[str, str] | None = None,
        session: ZotSession | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 5.0,
        fast_blobs: bool = True,
        blob_cache: BlobCache | None = None,
        attempts: int = 4,
        budget: RetryBudget | None = None,
        circuit: Circuit | Unbroken | None = None,
        pause: wait_base | None = None,
        traced: bool = False,
        whole_body: int = WHOLE_BODY,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=SessionAuth(session) if session is not None else auth,
            cookies=no_cookies(),
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=64),
            follow_redirects=False,
        )
        if traced:  # a client span per call, and its traceparent to the registry
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor.instrument_client(self._client, request_hook=_name_span)
        # (repository, digest) -> bytes of the small blobs ensure_blob made sure of.
        self._has_blob: dict[tuple[str, str], bytes] = {}
        self._ensuring: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._cache = blob_cache
        # Whether the registry takes a blob in its opening POST (None: not known yet).
        self._single_post: bool | None = None
        self._fetcher = (
            BlobFetcher(
                base_url,
                auth=auth,
                session=session,
                timeout=timeout,
                connect_timeout=connect_timeout,
                traced=traced,
            )
            if fast_blobs and transport is None and BlobFetcher.usable(base_url)
            else None
        )
        self._whole_body = whole_body
        self._attempts, self._pause = attempts, pause or PAUSE
        self._budget = budget or RetryBudget()
        self.circuit = circuit or Unbroken()

    async def aclose(self) -> None:
        if self._fetcher is not None:
            await self._fetcher.aclose()
        await self._client.aclose()

    async def _request(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """One registry call: sent once, or -- when repeatable -- tried again after transient
        failures (retries.py). A registry can fail one of several requests that touch the
        same blob at once (distribution's filesystem store answers 500 to a HEAD, or
        DIGEST_INVALID to a manifest, while another request rewrites that blob's link); a
        keep-alive connection the registry closed meanwhile fails the next request that
        takes it. What still fails after the last try is RegistryUnavailable: the caller's
        client may retry later."""
        if not repeatable(method, url, kwargs.get("content")):
            return await self._attempt(method, url, what, **kwargs)
        return await self._retried(
            what, method, url, lambda: self._attempt(method, url, what, **kwargs)
        )

    async def _retried(
        self, what: str, method: str, url: str, attempt: Callable[[], Awaitable[T]]
    ) -> T:
        self._budget.deposit()
        call = call_name(what)

        def worth(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome is not None else None
            if error is None or not transient(error, method, url):
                return False
            if state.attempt_number >= self._attempts:
                return False
            if not self._budget.withdraw():
                REFUSED.labels(call).inc()
                return False
            return True

        def before_sleep(state: RetryCallState) -> None:
            RETRIES.labels(call).inc()
            error = state.outcome.exception() if state.outcome is not None else None
            pause = state.next_action.sleep if state.next_action is not None else 0.0
            log.debug("%s: %s; trying again in %.2f s", what, error, pause)

        try:
            async for trying in AsyncRetrying(
                retry=worth, wait=self._pause, before_sleep=before_sleep, reraise=True
            ):
                with trying:
                    return await attempt()
        except RegistryDigestInvalid as exc:  # still refused: the registry's trouble
            if not transient(exc, method, url):
                raise
            raise RegistryUnavailable(str(exc), status=exc.status, code=exc.code) from exc
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    async def _attempt(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        """Send once through the circuit; an answer >= 400 raises its RegistryError."""
        ticket = self.circuit.admit(call_name(what))
        kwargs["extensions"] = {CALL: what}  # names the call's span when traced
        try:
            with _Measured(what) as measured:
                response = await self._client.request(method, url, **kwargs)
                measured.status = response.status_code
        except _TRANSPORT_ERRORS as exc:
            self.circuit.record(ticket, False)
            raise RegistryUnavailable(f"{what}: {exc.__class__.__name__} {exc}") from exc
        except BaseException:
            self.circuit.record(ticket, None)
            raise
        if response.status_code < 400:
            self.circuit.record(ticket, True)
            return response
        error = _error_from(response, what)
        self.circuit.record(ticket, not unreachable(error))
        raise error

    async def ping(self) -> None:
        await self._request("GET", "/v2/", "ping")

    # -- blobs -------------------------------------------------------------------------------

    async def _start_upload(self, repository: str) -> str:
        response = await self._request("POST", f"/v2/{repository}/blobs/uploads/", "start upload")
        return str(response.headers["location"])

    async def push_blob(
        self,
        repository: str,
        body: AsyncIterable[bytes],
        size: int | None,
        *,
        digest: str | None,
        final_digest: Callable[[], str],
    ) -> str:
        """Stream ``size`` bytes into a new blob; return its digest.

        With the digest and size known up front the bytes go in one request where the
        registry takes them (:meth:`_push_whole`); otherwise they are PATCHed and the digest,
        computed by the caller while the bytes passed, closes the upload. ``size`` None: one
        streamed PATCH without Content-Length or Content-Range (the distribution spec's
        streamed upload), and the small-blob cache is not fed. A body of 1 to ``whole_body``
        bytes is read first and pushed whole by the digest it turned out to have.
        """
        if size is not None and 0 < size <= self._whole_body:
            data = b"".join([piece async for piece in body])
            whole = digest or final_digest()
            await self.push_small_blob(repository, data, whole)
            return whole
        stream_headers = {"Content-Type": "application/octet-stream"}
        patch_headers = dict(stream_headers)
        sent: list[bytes] = []  # a small blob's bytes, kept once the registry confirmed them
        if size is not None:
            stream_headers["Content-Length"] = str(size)
            patch_headers = {**stream_headers, "Content-Range": f"0-{size - 1}"}
            if self._cache is not None and self._cache.fits(size):
                body = recorded(body, size, sent.append)
            if digest is not None:
                await self._push_whole(repository, body, digest, stream_headers)
                self._remember(digest, sent)
                return digest
        location = await self._start_upload(repository)
        response = await self._request(
            "PATCH", location, "upload blob", content=body, headers=patch_headers
        )
        computed = final_digest()
        await self._request(
            "PUT",
            _with_digest(response.headers["location"], computed),
            "finish blob upload",
            headers={"Content-Length": "0"},
        )
        self._remember(computed, sent)
        return computed

    def _remember(self, digest: str, data: list[bytes]) -> None:
        if self._cache is not None and data:
            self._cache.put(digest, data[0])

    async def push_small_blob(self, repository: str, data: bytes, digest: str) -> None:
        await self._push_whole(
            repository, data, digest, {"Content-Type": "application/octet-stream"}
        )
        self._remember(digest, [data])

    async def _push_whole(
        self,
        repository: str,
        content: bytes | AsyncIterable[bytes],
        digest: str,
        headers: dict[str, str],
    ) -> None:
        """A blob whose digest is known, in the fewest requests the registry allows.

        Zot takes the bytes with the POST that opens the upload (the spec's optional
        single-request form: one request less, and it hashes while it writes); a registry
        without it opens an upload instead (202), which the bytes then go to in a PUT. Which
        of the two is learnt from the first small blob (bytes can be sent again; a stream
        cannot), and a stream waits for that answer."""
        if self._single_post is None and not isinstance(content, bytes):
            await self._push_whole(repository, EMPTY_BLOB, _sha256(EMPTY_BLOB), headers={})
        if self._single_post is not False and (self._single_post or isinstance(content, bytes)):
            response = await self._request(
                "POST",
                f"/v2/{repository}/blobs/uploads/",
                "upload blob",
                params={"digest": digest},
                content=content,
                headers={"Content-Type": "application/octet-stream", **headers},
            )
            if response.status_code == 201:
                self._single_post = True
                return
            self._single_post = False  # 202: an upload was opened instead, the body ignored
            location = str(response.headers["location"])
        else:
            location = await self._start_upload(repository)
        await self._request(
            "PUT", _with_digest(location, digest), "upload blob", content=content, headers=headers
        )

    async def ensure_blob(self, repository: str, data: bytes, digest: str) -> None:
        """Upload a small well-known blob (the empty config) once per repository and process.

        Concurrent callers (the parts of one upload arrive together) share one check and one
        upload. Pushing the same blob several times at once is wasted work, and it is what
        trips distribution (a HEAD, or a manifest naming the blob, fails while another push
        rewrites the blob's link): the retries in ``_request`` are the backstop, not the plan."""
        wanted = (repository, digest)
        if wanted in self._has_blob:
            return
        pending = self._ensuring.get(wanted)
        if pending is None:
            pending = asyncio.ensure_future(self._ensure_blob(repository, data, digest))
            self._ensuring[wanted] = pending
            pending.add_done_callback(lambda done: self._settled(wanted, done))
        # One caller giving up (a client that hung up) must not cancel the others' upload.
        await asyncio.shield(pending)

    async def _ensure_blob(self, repository: str, data: bytes, digest: str) -> None:
        if not await self.blob_exists(repository, digest):
            await self.push_small_blob(repository, data, digest)
        self._has_blob[(repository, digest)] = data

    def _settled(self, wanted: tuple[str, str], done: asyncio.Future[None]) -> None:
        del self._ensuring[wanted]
        if not done.cancelled():
            done.exception()  # seen by the waiters, if any are left; never "never retrieved"

    async def blob_exists(self, repository: str, digest: str) -> bool:
        try:
            await self._request("HEAD", f"/v2/{repository}/blobs/{digest}", "head blob")
        except RegistryNotFound:
            return False
        return True

    async def mount_blob(self, repository: str, digest: str, source: str) -> bool:
        """Cross-repository mount: reuse a blob without copying bytes. False if not mounted."""
        if repository == source:
            return await self.blob_exists(repository, digest)
        response = await self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            "mount blob",
            params={"mount": digest, "from": source},
        )
        if response.status_code == 201:
            return True
        # 202: the registry opened an upload instead; cancel it.
        location = response.headers.get("location")
        if location:
            with suppress(RegistryError):
                await self._request("DELETE", location, "cancel upload")
        return False

    @asynccontextmanager
    async def open_blob(
        self, repository: str, digest: str, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[Blob]:
        """Open a blob (or an inclusive byte range of it) for streaming.

        A registry that ignores the range answers 200 with the whole blob: the caller checks
        ``status``. Errors are raised before anything is yielded.
        """
        cached = self._cache.get(digest) if self._cache is not None else None
        if cached is not None and (byte_range is None or byte_range[1] < len(cached)):
            yield CachedBlob(cached, byte_range)
            return
        async with self._open_blob(repository, digest, byte_range) as blob:
            cache = self._cache
            whole = byte_range is None and blob.status == 200
            if cache is not None and whole and cache.fits(blob.length):
                yield _Remembered(blob, lambda data: cache.put(digest, data))
            else:
                yield blob

    @asynccontextmanager
    async def _open_blob(
        self, repository: str, digest: str, byte_range: tuple[int, int] | None
    ) -> AsyncIterator[Blob]:
        """The blob's answer, opened through the circuit and tried again (a GET is
        repeatable) until its head arrives; once bytes flow, a break is the caller's."""
        path = f"/v2/{repository}/blobs/{digest}"
        blob, close = await self._retried(
            "get blob", "GET", path, lambda: self._open_attempt(path, byte_range)
        )
        try:
            yield blob
        finally:
            await close()

    async def _open_attempt(
        self, path: str, byte_range: tuple[int, int] | None
    ) -> tuple[Blob, Callable[[], Awaitable[None]]]:
        ticket = self.circuit.admit("get_blob")
        try:
            opened = await self._open_once(path, byte_range)
        except RegistryError as exc:
            self.circuit.record(ticket, not unreachable(exc))
            raise
        except BaseException:
            self.circuit.record(ticket, None)
            raise
        self.circuit.record(ticket, True)
        return opened

    async def _open_once(
        self, path: str, byte_range: tuple[int, int] | None
    ) -> tuple[Blob, Callable[[], Awaitable[None]]]:
        fetcher = self._fetcher
        if fetcher is not None and fetcher.enabled:
            with _Measured("get blob") as measured:
                fast = await fetcher.open(path, byte_range)
                measured.status = fast.status if fast is not None else None
            if fast is not None:
                if fast.status < 400:
                    return fast, fast.aclose
                try:
                    content = await fast.read_small()
                except RegistryUnavailable:
                    content = b""
                finally:
                    await fast.aclose()
                raise _error(fast.status, content, "get blob")
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        request = self._client.build_request(
            "GET", path, headers=headers, extensions={CALL: "get blob"}
        )
        try:
            with _Measured("get blob") as measured:
                response = await self._client.send(request, stream=True, follow_redirects=True)
                measured.status = response.status_code
        except _TRANSPORT_ERRORS as exc:
            raise RegistryUnavailable(f"get blob: {exc}") from exc
        if response.status_code >= 400:
            try:
                await response.aread()
            finally:
                await response.aclose()
            raise _error_from(response, "get blob")
        return BlobStream(response), response.aclose

    # -- manifests ---------------------------------------------------------------------------

    async def push_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> str:
        return (await self.put_manifest(repository, reference, body, media_type)).digest

    async def put_manifest(
        self, repository: str, reference: str, body: bytes, media_type: str
    ) -> PushedManifest:
        """Push a manifest; the answer tells whether the registry processed its ``subject``.

        A blob ``ensure_blob`` remembered may have gone since: the registry's GC takes the
        empty config of a repository whose manifests were all deleted (after its gcDelay).
        A manifest refused as invalid there gets the remembered blobs pushed again, once."""
        url = f"/v2/{repository}/manifests/{reference}"
        headers = {"Content-Type": media_type}
        try:
            response = await self._request(
                "PUT", url, "push manifest", content=body, headers=headers
            )
        except RegistryRejected as exc:
            remembered = {key: data for key, data in self._has_blob.items() if key[0] == repository}
            if exc.code not in _MISSING_BLOB_CODES or not remembered:
                raise
            for (_, digest), data in remembered.items():
                self._has_blob.pop((repository, digest), None)
                await self.ensure_blob(repository, data, digest)
            response = await self._request(
                "PUT", url, "push manifest", content=body, headers=headers
            )
        return PushedManifest(
            digest=str(response.headers.get("docker-content-digest", "")),
            subject=response.headers.get("oci-subject"),
        )

    async def get_manifest(self, repository: str, reference: str) -> Manifest:
        response = await self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            "get manifest",
            headers={"Accept": MANIFEST_ACCEPT},
        )
        return Manifest(
            body=response.content,
            digest=response.headers.get("docker-content-digest", ""),
            media_type=response.headers.get("content-type", ""),
        )

    async def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest; a missing one is not an error."""
        with suppress(RegistryNotFound):
            await self._request("DELETE", f"/v2/{repository}/manifests/{digest}", "delete manifest")

    # -- referrers (OCI 1.1) -----------------------------------------------------------------

    async def push_referrer(self, repository: str, body: bytes) -> PushedManifest:
        """Push a manifest that has a ``subject`` by its digest (untagged).

        A registry without the referrers API does not answer ``OCI-Subject``; then the
        referrers tag schema of the distribution spec is kept instead: the manifest's
        descriptor is added to the image index tagged ``referrers_tag(subject)``. That is a
        read-modify-write: the caller serialises pushes and removals per subject.
        """
        document = json.loads(body)
        digest = _sha256(body)
        pushed = await self.put_manifest(
            repository, digest, body, document.get("mediaType", MANIFEST_MEDIA_TYPE)
        )
        if pushed.subject is None:
            descriptor = descriptor_of(body)
            await self._edit_referrers_tag(
                repository,
                document["subject"]["digest"],
                lambda found: [d for d in found if d.get("digest") != digest] + [descriptor],
            )
        return pushed

    async def remove_referrer(self, repository: str, subject: str, digest: str) -> None:
        """Take a referrer out of the fallback index (if there is one), then delete it."""
        await self._edit_referrers_tag(
            repository, subject, lambda found: [d for d in found if d.get("digest") != digest]
        )
        await self.delete_manifest(repository, digest)

    async def drop_referrers_tag(self, repository: str, subject: str) -> None:
        """Delete the fallback index of ``subject`` (when the subject itself is gone)."""
        await self._edit_referrers_tag(repository, subject, lambda _found: [])

    async def referrers(
        self, repository: str, subject: str, artifact_type: str | None = None
    ) -> list[dict[str, Any]]:
        """The descriptors of the manifests whose subject is ``subject``: from the referrers
        API where the registry answers it (200 with an index), else from the fallback tag
        (none if it is missing), filtered by ``artifact_type`` when given."""
        params = {"artifactType": artifact_type} if artifact_type else {}
        try:
            response = await self._request(
                "GET",
                f"/v2/{repository}/referrers/{subject}",
                "list referrers",
                params=params,
                headers={"Accept": INDEX_MEDIA_TYPE},
            )
            found = _index_manifests(response.content)
            filtered = "artifactType" in response.headers.get("oci-filters-applied", "")
        except RegistryNotFound:
            try:
                index = await self.get_manifest(repository, referrers_tag(subject))
            except RegistryNotFound:
                return []
            found, filtered = _index_manifests(index.body), False
        if artifact_type and not filtered:
            found = [d for d in found if d.get("artifactType") == artifact_type]
        return found

    async def _edit_referrers_tag(
        self,
        repository: str,
        subject: str,
        change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    ) -> None:
        tag = referrers_tag(subject)
        try:
            current: Manifest | None = await self.get_manifest(repository, tag)
        except RegistryNotFound:
            current = None
        before = _index_manifests(current.body) if current is not None else []
        after = change(before)
        if after == before:
            return
        if after:
            index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": after}
            body = json.dumps(index, separators=(",", ":")).encode()
            await self.push_manifest(repository, tag, body, INDEX_MEDIA_TYPE)
        if current is not None:
            # The previous index is no longer tagged (or, with nothing left, goes with its
            # tag): deleting it by digest keeps untagged indexes from piling up.
            await self.delete_manifest(repository, _sha256(current.body))

    # -- listings ----------------------------------------------------------------------------

    async def _paged(self, path: str, field: str, what: str) -> AsyncIterator[str]:
        last: str | None = None
        while True:
            params: dict[str, str | int] = {"n": PAGE}
            if last is not None:
                params["last"] = last
            try:
                response = await self._request("GET", path, what, params=params)
            except RegistryNotFound:
                return
            names = response.json().get(field) or []
            for name in names:
                yield name
            link = response.headers.get("link")
            if not names or not link:
                return
            target = link.split(";")[0].strip().strip("<>")
            last = parse_qs(urlsplit(target).query).get("last", [names[-1]])[0]

    def catalog(self) -> AsyncIterator[str]:
        return self._paged("/v2/_catalog", "repositories", "catalog")

    def tags(self, repository: str) -> AsyncIterator[str]:
        return self._paged(f"/v2/{repository}/tags/list", "tags", "list tags")
