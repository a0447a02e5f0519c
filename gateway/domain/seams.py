"""The two seams where object storage lets the supply chain in, and nothing else.

Object code (``objects.py``, ``multipart.py``) reads and writes without knowing signatures
exist: it calls ``store.supply`` at these points only, and with the null ``NoSupplyChain`` it
is a plain object store. ``domain/supply/wing.py`` is the real one, wired by ``app.py``.

1. **After commit.** ``retire`` runs under the key's lock when a version stops being live
   (overwritten: ``keep`` is the new manifest; deleted: ``keep`` is None; one version of a
   versioned key removed for good: ``only`` is its manifest), so its referrers go
   with it; ``committed`` runs once the new version is live and the lock is released (receipts).
2. **Before download.** ``gate`` may refuse to hand an object out (require-signature); a GET
   and the source of a copy pass it, a HEAD does not.

``referrer_kinds`` are the referrer kinds whose counts GET and HEAD answer (one index query).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gateway.domain.store import Store
    from gateway.domain.values import BucketRecord, ObjectRecord


class SupplyChain(Protocol):
    referrer_kinds: tuple[str, ...]

    async def retire(
        self, store: Store, bucket: str, key: str, *, keep: str | None, only: str | None = None
    ) -> None: ...

    async def committed(self, store: Store, record: ObjectRecord) -> None: ...

    async def gate(self, store: Store, bucket: BucketRecord, record: ObjectRecord) -> None: ...


class NoSupplyChain:
    """Objects without signatures, SBOMs, attestations or receipts."""

    referrer_kinds: tuple[str, ...] = ()

    async def retire(
        self, store: Store, bucket: str, key: str, *, keep: str | None, only: str | None = None
    ) -> None:
        return None

    async def committed(self, store: Store, record: ObjectRecord) -> None:
        return None

    async def gate(self, store: Store, bucket: BucketRecord, record: ObjectRecord) -> None:
        return None
