"""Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does
it: the holder renews ``renewTime`` every ``renew`` seconds; another replica takes the Lease
over once ``renewTime + leaseDurationSeconds`` has passed. Only the leader runs kopf's
handlers (kopf's own peering needs its own CRDs and pauses rather than elects)."""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from .kube import ApiError, Kube

Obj = dict[str, Any]
API = "coordination.k8s.io/v1"
log = logging.getLogger(__name__)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _format(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC)


def expired(lease: Obj, now: datetime.datetime) -> bool:
    """Whether the Lease's holder has let it lapse (or nobody holds it)."""
    spec = lease.get("spec", {})
    if not spec.get("holderIdentity") or not spec.get("renewTime"):
        return True
    until = _parse(spec["renewTime"]) + datetime.timedelta(
        seconds=spec.get("leaseDurationSeconds", 15)
    )
    return now > until


class LeaderElector:
    """Holds or waits for the Lease ``namespace/name`` as ``identity``; ``leading`` is set while
    this replica leads."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        identity: str,
        duration: int = 15,
        renew: float = 5,
    ) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.duration, self.renew = duration, renew
        self.leading = asyncio.Event()
        self.lost = asyncio.Event()
        self.connected = asyncio.Event()
        self.holder: str | None = None  # as last read

    def _spec(self, now: datetime.datetime, acquired: str | None, transitions: int) -> Obj:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "acquireTime": acquired or _format(now),
            "renewTime": _format(now),
            "leaseTransitions": transitions,
        }

    async def try_once(self) -> bool:
        """One round: create, renew or take over the Lease; True when this replica holds it."""
        now = _now()
        lease = await self.kube.get(API, "Lease", self.namespace, self.name)
        self.connected.set()
        if lease is None:
            created = await self.kube.create(
                {
                    "apiVersion": API,
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": self._spec(now, None, 0),
                }
            )
            self.holder = self.identity if created else None
            return created
        spec = lease.get("spec", {})
        self.holder = spec.get("holderIdentity")
        mine = self.holder == self.identity
        if not mine and not expired(lease, now):
            return False
        transitions = spec.get("leaseTransitions", 0) + (0 if mine else 1)
        lease["spec"] = self._spec(now, spec.get("acquireTime") if mine else None, transitions)
        try:
            await self.kube.replace(lease)  # resourceVersion: one winner per round
        except ApiError as error:
            if error.status == 409:
                return False
            raise
        self.holder = self.identity
        return True

    async def run(self) -> None:
        """Forever: acquire, then renew; a leader that cannot renew within the lease duration
        sets ``lost`` (the process then exits, as client-go's leaders do)."""
        last_renewal = _now()
        while True:
            try:
                held = await self.try_once()
            except Exception as error:  # an API hiccup: retry until the lease would lapse
                log.warning("lease round failed: %s", error)
                held = False
            if held:
                last_renewal = _now()
                if not self.leading.is_set():
                    log.info("leading as %s", self.identity)
                    self.leading.set()
            elif self.leading.is_set() and (
                self.holder not in (None, self.identity)
                or (_now() - last_renewal).total_seconds() >= self.duration
            ):
                log.error("lost the lease %s (holder %s)", self.name, self.holder)
                self.leading.clear()
                self.lost.set()
                return
            await asyncio.sleep(self.renew)
