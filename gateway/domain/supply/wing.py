"""The supply chain behind object storage's two seams (``domain/seams.py``)."""

from __future__ import annotations

from gateway.domain.store import Store
from gateway.domain.supply import receipts, referrer_mapping, referrers, verify
from gateway.domain.supply.state import SupplyState
from gateway.domain.values import BucketRecord, ObjectRecord


class SupplyChainWing:
    referrer_kinds: tuple[str, ...] = referrer_mapping.KINDS

    def __init__(self, state: SupplyState | None = None) -> None:
        self.state = state or SupplyState()

    async def retire(
        self, store: Store, bucket: str, key: str, *, keep: str | None, only: str | None = None
    ) -> None:
        await referrers.forget(store, bucket, key, keep=keep, only=only)

    async def committed(self, store: Store, record: ObjectRecord) -> None:
        await receipts.issue(store, record)

    async def gate(self, store: Store, bucket: BucketRecord, record: ObjectRecord) -> None:
        await verify.gate(store, bucket, record)
