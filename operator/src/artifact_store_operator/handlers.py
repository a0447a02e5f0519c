"""kopf's handlers for ArtifactStore: reconcile on create, spec change, operator start and
every ``ARTIFACT_STORE_OPERATOR_RESYNC_SECONDS`` (status from the workloads, drift repaired);
clean up on delete (kopf holds its finalizer on the CR until :func:`cleanup` succeeds).
Progress is kept in annotations so the status belongs to the operator's conditions alone."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from typing import Any

import kopf

from . import GROUP, PLURAL, VERSION
from .reconcile import cleanup, reconcile

RESYNC_SECONDS = float(os.environ.get("ARTIFACT_STORE_OPERATOR_RESYNC_SECONDS", "30"))
# A failed reconcile is retried after this long (kopf's default is 60 s; while a create or
# update handler waits for its retry, kopf holds back the next spec change).
RETRY_SECONDS = min(RESYNC_SECONDS, 10.0)
# One reconcile of a CR at a time: kopf runs the resync timer beside the change handlers, and
# two concurrent passes would race (two creations of one Keycloak client, seen in a test).
_LOCKS: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="artifactstore.dev"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="artifactstore.dev", key="last-handled-configuration"
    )
    settings.persistence.finalizer = "artifactstore.dev/cleanup"
    settings.posting.level = 30  # warnings and errors become Events
    settings.watching.server_timeout = 300
    # A deletion that arrives while the resync timer runs waits for the timer to stop before
    # the finalizer goes; kopf polls for that every 60 s by default, so a CR could hang for a
    # minute after its cleanup had succeeded (seen in CI). Poll every second instead.
    settings.background.cancellation_polling = 1


@kopf.on.create(GROUP, VERSION, PLURAL, backoff=RETRY_SECONDS)
@kopf.on.update(GROUP, VERSION, PLURAL, field="spec", backoff=RETRY_SECONDS)
@kopf.on.resume(GROUP, VERSION, PLURAL, backoff=RETRY_SECONDS)
async def changed(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    async with _LOCKS[body["metadata"]["uid"]]:
        await reconcile(memo["kube"], _plain(body), logger)


@kopf.timer(
    GROUP,
    VERSION,
    PLURAL,
    interval=RESYNC_SECONDS,
    initial_delay=RESYNC_SECONDS,
    backoff=RETRY_SECONDS,
)
async def resync(body: kopf.Body, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    async with _LOCKS[body["metadata"]["uid"]]:
        await reconcile(memo["kube"], _plain(body), logger)


@kopf.on.delete(GROUP, VERSION, PLURAL, backoff=RETRY_SECONDS)
async def deleted(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    uid = body["metadata"]["uid"]
    async with _LOCKS[uid]:
        await cleanup(memo["kube"], _plain(body))
    _LOCKS.pop(uid, None)


def _plain(body: kopf.Body) -> dict[str, Any]:
    import copy

    return copy.deepcopy(dict(body))
