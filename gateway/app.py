"""The ASGI application: ``create_app`` builds it, ``lifespan`` opens and closes the ports."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from prometheus_fastapi_instrumentator import Instrumentator
from prometheus_fastapi_instrumentator.metrics import Info
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.access import Authorizer
from gateway.api import (
    buckets,
    keys,
    permissions,
    presign,
    problems,
    referrers,
    trust,
    tus,
    verify,
)
from gateway.api.audit import router as audit_router
from gateway.api.console import Console
from gateway.api.deletions import Deletions
from gateway.audit import AuditLog, AuditRecord
from gateway.auth.jwt import ClaimMapping, Issuer, TokenCheck, TokenVerifier
from gateway.auth.keyring import Keyring
from gateway.auth.password import PasswordLogin
from gateway.auth.sealing import Sealer
from gateway.config import Settings
from gateway.domain.cache import BucketCache
from gateway.domain.errors import DomainError
from gateway.domain.lifecycle import ABORT, EXPIRE, MARKER, NONCURRENT
from gateway.domain.locks import KeyLocks
from gateway.domain.multipart import expire_uploads
from gateway.domain.ports.registry import RegistryUnavailable
from gateway.domain.store import Store
from gateway.domain.supply import receipts
from gateway.domain.supply.state import SupplyState
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.sweeper import Action, Sweeper
from gateway.drain import Drain
from gateway.index.advisory import AdvisoryLocks
from gateway.index.store import Pool, SqlIndex, connect_args, is_postgresql
from gateway.observability import metrics, tracing
from gateway.observability.context import new_request_id
from gateway.observability.requests import Observed
from gateway.oci.login import Login
from gateway.oci.proxy import OciApp, is_oci_path
from gateway.oci.token_endpoint import TokenEndpoint
from gateway.oci.tokens import RegistryTokens
from gateway.oci.upstream import Upstream
from gateway.policy.document import parse_identity_policy
from gateway.registry.blobcache import BlobCache
from gateway.registry.blobfetch import BlobFetcher
from gateway.registry.circuit import Circuit
from gateway.registry.client import RegistryClient
from gateway.registry.retries import RetryBudget
from gateway.registry.session import SessionAuth, ZotSession
from gateway.s3.routing import S3App
from gateway.shedding import Draining, Limiter, Overloaded
from gateway.sts.web_identity import WebIdentitySts

log = logging.getLogger("gateway")
REQUEST_ID = "x-request-id"  # names the request id on /v2/ and the JSON API
S3_REQUEST_ID = "x-amz-request-id"  # ...and on S3 (added by s3/routing.py's Audited)


def registry_circuit(settings: Settings) -> Circuit:
    """The process's one circuit towards the registry: the port and ``/v2/`` share it."""
    return Circuit(settings.registry_circuit_failures, settings.registry_circuit_cooldown_seconds)


def registry_session(settings: Settings) -> ZotSession | None:
    """The process's one session at Zot: the port and ``/v2/`` share it (one login)."""
    auth = settings.registry_auth()
    if auth is None or settings.registry_session_seconds <= 0:
        return None
    return ZotSession(*auth, refresh=settings.registry_session_seconds)


async def open_store(
    settings: Settings, circuit: Circuit | None = None, session: ZotSession | None = None
) -> Store:
    cache = BlobCache(int(settings.blob_cache_mib * 1024 * 1024))
    registry = RegistryClient(
        settings.registry_url,
        auth=settings.registry_auth(),
        session=session,
        blob_cache=cache if cache.capacity > 0 else None,
        timeout=settings.registry_timeout_seconds,
        connect_timeout=settings.registry_connect_timeout_seconds,
        attempts=settings.registry_retry_attempts,
        budget=RetryBudget(ratio=settings.registry_retry_budget_ratio),
        circuit=circuit,
        traced=tracing.wanted(settings.tracing, os.environ),
    )
    index = await SqlIndex.open(settings.index_url, pool=index_pool(settings))
    return Store(
        registry=registry,
        index=index,
        locks=key_locks(settings),
        prefix=settings.repository_prefix,
        region=settings.region,
        max_object_size=settings.max_object_size,
        min_part_size=settings.min_part_size,
        buckets=BucketCache(ttl=settings.bucket_cache_seconds),
        supply=SupplyChainWing(
            SupplyState(
                signer=receipts.load_or_create(settings.receipt_key_path()),
                trusted_root=settings.trusted_root(),
            )
        ),
    )


def index_pool(settings: Settings) -> Pool:
    return Pool(
        size=settings.database_pool_size,
        overflow=settings.database_max_overflow,
        timeout=settings.database_pool_timeout_seconds,
    )


def key_locks(settings: Settings) -> KeyLocks:
    """Writers of one key take turns in this process (asyncio), across the worker processes
    of one host (file locks in the shared data directory), and across replicas on several
    hosts when the index is PostgreSQL (advisory locks: the one thing they all share).
    docs/ARCHITECTURE.md, Invariants."""
    url = settings.index_url
    if is_postgresql(url):
        shared = AdvisoryLocks(
            url,
            connections=settings.database_lock_connections,
            pool_timeout=settings.database_pool_timeout_seconds,
            connect_args=connect_args(url),
        )
        return KeyLocks(shared=shared)
    return KeyLocks(settings.data_dir / "locks" if settings.workers > 1 else None)


async def open_store_to_check(settings: Settings) -> Store:
    """The two ports, for ``reindex --check``, which must change nothing: the index is not
    migrated (``IndexNotReady`` if it would need to be) and no key file is made."""
    index = await SqlIndex.open(settings.index_url, migrate=False)
    registry = RegistryClient(settings.registry_url, auth=settings.registry_auth())
    return Store(registry=registry, index=index, prefix=settings.repository_prefix)


async def sweep_uploads(store: Store, settings: Settings) -> None:
    """Abort expired multipart uploads now and then; their part blobs become garbage for the
    registry's GC (part manifests protect live uploads' blobs whatever the GC delay)."""
    lifetime = timedelta(hours=settings.upload_lifetime_hours)
    while True:
        try:
            aborted = await expire_uploads(store, lifetime)
            if aborted:
                metrics.child(metrics.SWEEP_ACTIONS, "uploads", "abort").inc(aborted)
                log.info("aborted %d expired multipart uploads", aborted)
        except Exception:  # the sweeper must outlive a passing registry or index error
            metrics.child(metrics.SWEEP_FAILURES, "uploads").inc()
            log.exception("multipart upload sweep failed")
        await asyncio.sleep(settings.upload_sweep_seconds)


# The operation names S3's server access logs give lifecycle actions (a permanent removal
# is S3.EXPIRE.OBJECT, a delete marker put over the current version S3.CREATE.DELETEMARKER),
# with the IAM action a client would need to do the same.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-and-other-bucket-config.html
LIFECYCLE_OPERATIONS = {
    (EXPIRE, False): ("S3.EXPIRE.OBJECT", "s3:DeleteObject"),
    (EXPIRE, True): ("S3.CREATE.DELETEMARKER", "s3:DeleteObject"),
    (NONCURRENT, False): ("S3.EXPIRE.OBJECT", "s3:DeleteObjectVersion"),
    (MARKER, False): ("S3.EXPIRE.OBJECT", "s3:DeleteObjectVersion"),
    (ABORT, False): ("S3.DELETE.UPLOAD", "s3:AbortMultipartUpload"),
}


async def sweep_lifecycle(store: Store, settings: Settings, audit: AuditLog) -> None:
    """Apply the buckets' lifecycle rules now and then, each action one audit line."""

    async def report(action: Action) -> None:
        operation, decided = LIFECYCLE_OPERATIONS[action.kind, action.marker]
        record = AuditRecord(
            request_id=new_request_id(),
            principal="lifecycle",
            auth="system",
            access_key=None,
            source_ip=None,
            operation=operation,
            action=decided,
            resource=f"/{action.bucket}/{action.key}",
            decision="allow",
            rule=f"lifecycle:{action.rule}",
            status=204,
        )
        audit.write(record)
        metrics.child(metrics.SWEEP_ACTIONS, "lifecycle", action.kind).inc()

    sweeper = Sweeper(store, report, day=timedelta(seconds=settings.lifecycle_day_seconds))
    while True:
        try:
            done = await sweeper.sweep()
            if done:
                log.info("lifecycle: %d versions expired or removed, or uploads aborted", done)
        except Exception:  # the sweeper must outlive a passing registry or index error
            metrics.child(metrics.SWEEP_FAILURES, "lifecycle").inc()
            log.exception("lifecycle sweep failed")
        await asyncio.sleep(settings.lifecycle_sweep_seconds)


JwksCheck = Callable[[], Awaitable[tuple[bool, str]]]


def identity_providers(
    settings: Settings, keyring: Keyring
) -> tuple[TokenCheck | None, WebIdentitySts | None, JwksCheck | None]:
    """Bearer tokens from the configured Keycloak realm; STS for it and any extra (CI)
    issuers. Two verifiers, so that a CI system's token works only through STS. The third:
    whether the realm's signing keys are known (the readiness probe)."""
    if not settings.oidc_issuer:
        return None, None, None
    keycloak = Issuer(
        settings.oidc_issuer,
        settings.oidc_audience,
        settings.oidc_jwks_url or f"{settings.oidc_issuer}/protocol/openid-connect/certs",
    )
    extra = [
        Issuer(
            item["issuer"],
            item["audience"],
            item["jwks_url"],
            ClaimMapping(username=item.get("username_claim", "sub")),
        )
        for item in json.loads(settings.sts_extra_issuers or "[]")
    ]
    leeway, cooldown = settings.oidc_leeway_seconds, settings.oidc_jwks_cooldown_seconds
    verifier = TokenVerifier([keycloak], leeway=leeway, cooldown=cooldown)
    sts = WebIdentitySts(
        TokenVerifier([keycloak, *extra], leeway=leeway, cooldown=cooldown).web_identity,
        keyring,
        max_duration=settings.sts_max_duration_seconds,
        policy_check=parse_identity_policy,
    )
    return verifier.bearer, sts, functools.partial(verifier.keys_ready, keycloak.issuer)


def front_door(
    settings: Settings,
    store: Store,
    keyring: Keyring,
    bearer: TokenCheck | None,
    access: Authorizer,
    audit: AuditLog,
    limiter: Limiter,
    circuit: Circuit,
    session: ZotSession | None = None,
) -> tuple[OciApp, list[Callable[[], Awaitable[None]]]]:
    """``/v2/`` and its token endpoint, and what closes their clients at shutdown."""
    traced = tracing.wanted(settings.tracing, os.environ)
    fast = None
    connect = settings.registry_connect_timeout_seconds
    if BlobFetcher.usable(settings.registry_url):
        fast = BlobFetcher(
            settings.registry_url,
            auth=settings.registry_auth(),
            session=session,
            connect_timeout=connect,
            traced=traced,
        )
    upstream = Upstream(
        settings.registry_url,
        SessionAuth(session) if session is not None else settings.registry_auth(),
        fast_blobs=fast,
        connect_timeout=connect,
        breaker=circuit,
        traced=traced,
    )
    tokens = RegistryTokens(
        settings.credentials_keys()[0], settings.registry_service, settings.registry_token_seconds
    )
    password = None
    if bearer is not None and settings.oidc_issuer:
        password = PasswordLogin(
            f"{settings.oidc_issuer}/protocol/openid-connect/token",
            settings.oidc_password_client,
            bearer,
            client_secret=settings.oidc_password_client_secret(),
        )
    login = Login(keyring, tokens, bearer, password)
    oci = OciApp(
        store=store,
        upstream=upstream,
        login=login,
        tokens=TokenEndpoint(tokens, login, access, audit, store.prefix),
        access=access,
        audit=audit,
        service=settings.registry_service,
        limiter=limiter,
    )
    closers: list[Callable[[], Awaitable[None]]] = [upstream.aclose]
    if password is not None:
        closers.append(password.aclose)
    return oci, closers


async def close_store(store: Store) -> None:
    for task in list(store.background):  # receipts of multipart objects still being hashed
        task.cancel()
    await store.registry.aclose()
    await store.index.close()
    await store.locks.close()


class Gateway:
    """Routes ``/_artifacts`` to the JSON API (FastAPI) and everything else to S3."""

    def __init__(self, settings: Settings, *, sweep: bool = True) -> None:
        self.settings = settings
        self.sweep = sweep  # one worker process sweeps expired uploads, not every one
        self.store: Store | None = None
        self.s3: S3App | None = None
        self.oci: OciApp | None = None
        self.jwks_ready: JwksCheck | None = None  # set when Keycloak is configured
        self.limiter = Limiter(settings.max_inflight_requests, settings.shed_retry_after_seconds)
        self.drain = Drain(self._dispatch)
        self.api = FastAPI(
            title="Artifact Store",
            version="0.1.0",
            openapi_url="/_artifacts/openapi.json",
            docs_url="/_artifacts/docs",
            redoc_url=None,
            lifespan=self.lifespan,
        )
        self.api.get("/_artifacts/livez", tags=["health"])(self.livez)
        self.api.get(
            "/_artifacts/readyz",
            tags=["health"],
            responses=problems.problem_responses(problems.UNAVAILABLE),
        )(self.readyz)
        self.api.include_router(tus.router)
        self.api.include_router(keys.router)
        self.api.include_router(presign.router)
        self.api.include_router(referrers.router)
        self.api.include_router(trust.router)
        self.api.include_router(permissions.router)
        self.api.include_router(verify.router)
        self.api.include_router(buckets.router)
        self.api.include_router(audit_router)
        self.api.mount(
            "/_artifacts/ui",
            Console(settings.console_dir, settings.oidc_issuer, settings.console_client_id),
        )
        for kind in (
            problems.ApiError,
            DomainError,
            RegistryUnavailable,
            Overloaded,
            Draining,
            RequestValidationError,
            HTTPException,
        ):
            self.api.add_exception_handler(kind, self._problem)
        self.api.add_exception_handler(Exception, self._internal)
        self.api.openapi = self.openapi  # type: ignore[method-assign]
        Instrumentator().add(measure_api).instrument(self.api)
        self.traced = tracing.wanted(settings.tracing, os.environ)
        if self.traced:
            tracing.trace_fastapi(self.api)
        # Each protocol's requests: an id, a context for the log lines, an access line, and
        # (traced) a server span; the S3 layers name the id in their own headers.
        api: ASGIApp = tracing.fresh(self.api) if self.traced else self.api
        self.entries: dict[str, ASGIApp] = {
            "s3": Observed(self._traced(self._s3), "s3", S3_REQUEST_ID, adds_header=False),
            "oci": Observed(self._traced(self._oci), "oci", REQUEST_ID),
            "api": Observed(api, "api", REQUEST_ID),
        }

    def openapi(self) -> dict[str, Any]:
        if self.api.openapi_schema is None:
            self.api.openapi_schema = problems.document_problems(FastAPI.openapi(self.api))
        return self.api.openapi_schema

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        circuit = registry_circuit(self.settings)
        session = registry_session(self.settings)
        self.store = await open_store(self.settings, circuit, session)
        keyring = Keyring(
            (self.settings.root_access_key, self.settings.root_secret()),
            Sealer(self.settings.credentials_keys()),
            self.store.index,
        )
        self.audit = AuditLog(self.settings.audit_sink())
        bearer, web_identity, self.jwks_ready = identity_providers(self.settings, keyring)
        access = Authorizer(self.store)
        self.s3 = S3App(
            self.settings,
            self.store,
            keyring,
            bearer=bearer,
            web_identity=web_identity,
            audit=self.audit,
            access=access,
            limiter=self.limiter,
        )
        oci, closers = front_door(
            self.settings,
            self.store,
            keyring,
            bearer,
            access,
            self.audit,
            self.limiter,
            circuit,
            session,
        )
        self.oci = oci
        self.api.state.store = self.store
        self.api.state.keyring = keyring
        self.api.state.bearer = bearer
        self.api.state.region = self.settings.region
        self.api.state.check_policy = parse_identity_policy
        self.api.state.access = access
        self.api.state.audit = self.audit
        self.api.state.deletions = Deletions(self.settings.bucket_deletion_wait_seconds)
        self.api.state.limiter = self.limiter
        sweepers = []
        if self.sweep:
            sweepers = [
                asyncio.create_task(sweep_uploads(self.store, self.settings)),
                asyncio.create_task(sweep_lifecycle(self.store, self.settings, self.audit)),
            ]
        try:
            yield
        finally:
            # Requests cut or cancelled at shutdown unwind first, on open ports.
            if not await self.drain.settled(self.settings.drain_grace_seconds):
                log.warning("closing with %d requests still in flight", self.drain.in_flight)
            for sweeper in sweepers:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            for close in closers:
                await close()
            await close_store(self.store)
            self.audit.close()

    @staticmethod
    async def _problem(request: Request, exc: Exception) -> Response:
        answer = problems.as_problem(exc)
        if answer is None:  # pragma: no cover - only the kinds registered above arrive here
            raise exc
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            answer.headers["Allow"] = ", ".join(allowed_methods(request))
        return answer

    @staticmethod
    async def _internal(_request: Request, _exc: Exception) -> Response:
        """A failure of the gateway's own: a problem too (Starlette then re-raises the
        exception, and the server logs it with the request's id)."""
        return problems.problem(
            500, "Internal Server Error", "The server failed; the request id names its log lines."
        )

    def _virtual(self, scope: Scope) -> bool:
        """A virtual-hosted-style S3 request (``bucket.<domain>``): its path is a key, even
        one under ``v2/``."""
        domain = self.settings.virtual_host_domain
        if not domain:
            return False
        headers: dict[bytes, bytes] = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
        return host.lower().endswith(f".{domain}")

    async def livez(self) -> dict[str, str]:
        """The process is up. Kept for compatibility: probes belong on the management port
        (``management_port``), which answers ``/livez`` there."""
        return {"status": "ok"}

    async def readyz(self) -> dict[str, str]:
        """The registry and the index answer. Kept for compatibility: the management port's
        ``/readyz`` checks more (an index write, the JWKS) and names each check."""
        assert self.store is not None
        await self.store.registry.ping()
        await self.store.index.ping()
        return {"status": "ok"}

    def _traced(self, app: ASGIApp) -> ASGIApp:
        return tracing.traced(app) if self.traced else app

    async def _s3(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.s3 is not None
        await self.s3(scope, receive, send)

    async def _oci(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.oci is not None
        await self.oci(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.drain(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the lifespan
            await self.api(scope, receive, send)
        elif is_oci_path(scope["path"]) and not self._virtual(scope):
            await self.entries["oci"](scope, receive, send)
        elif not scope["path"].startswith("/_artifacts"):
            await self.entries["s3"](scope, receive, send)
        else:
            in_flight = metrics.child(metrics.HTTP_IN_FLIGHT, metrics.API)
            in_flight.inc()
            try:
                await self.entries["api"](scope, receive, send)
            finally:
                in_flight.dec()


def measure_api(info: Info) -> None:
    """The JSON API's requests in the gateway's HTTP metrics (prometheus-fastapi-instrumentator
    times them), named by the endpoint (``list_referrers``); bytes as Content-Length says."""
    route = info.request.scope.get("route")
    response_length = info.response.headers.get("content-length") if info.response else None
    metrics.observe_request(
        metrics.API,
        getattr(route, "name", None) or metrics.UNROUTED,
        info.response.status_code if info.response else 0,
        info.modified_duration,
        int(info.request.headers.get("content-length") or 0),
        int(response_length or 0),
    )


METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (RFC 9110 §15.5.6). Starlette's 405 names
    only the first matching route's, and FastAPI makes one route per method."""
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


def create_app(settings: Settings | None = None, *, sweep: bool = True) -> Gateway:
    return Gateway(settings or Settings(), sweep=sweep)
