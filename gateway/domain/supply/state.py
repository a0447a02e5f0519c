"""What the supply chain keeps per process, beside object storage's Store: the deployment's
receipt key and sigstore trusted root, and the verdict cache.

It lives in the ``SupplyChainWing`` the Store's ``supply`` seam holds (``wing.py``), so the
core Store knows nothing of it; supply code reaches it with ``state_of(store)``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.ports import Signer
from gateway.domain.store import Store


class VerdictCache:
    """Verdicts of ``verify.py`` by (manifest digest, trust fingerprint), so a GET from a
    ``require-signature`` bucket costs a dict lookup after the first.

    A manifest digest pins the object's bytes, and the fingerprint the bucket's trust; what
    else changes a verdict is its referrers: this process forgets a subject's verdicts when
    it attaches or removes one. Other writers (oras, cosign, another replica) are seen when
    an entry expires: refusals after ``negative_ttl`` seconds (a new signature counts soon),
    admitting verdicts after ``positive_ttl`` (a signature removed elsewhere stops counting).
    Whole-object SHA-256s (multipart objects) are kept by manifest digest: they never
    change."""

    def __init__(
        self, size: int = 10_000, negative_ttl: float = 10.0, positive_ttl: float = 300.0
    ) -> None:
        self.size = size
        self.negative_ttl = negative_ttl
        self.positive_ttl = positive_ttl
        self._entries: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()
        self._digests: OrderedDict[str, str] = OrderedDict()

    def get(self, subject: str, fingerprint: str) -> Any | None:
        entry = self._entries.get((subject, fingerprint))
        if entry is None:
            return None
        expires, verdict = entry
        if time.monotonic() > expires:
            del self._entries[(subject, fingerprint)]
            return None
        self._entries.move_to_end((subject, fingerprint))
        return verdict

    def put(self, subject: str, fingerprint: str, verdict: Any, *, admits: bool) -> None:
        expires = time.monotonic() + (self.positive_ttl if admits else self.negative_ttl)
        self._entries[(subject, fingerprint)] = (expires, verdict)
        self._entries.move_to_end((subject, fingerprint))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, subject: str) -> None:
        for entry in [entry for entry in self._entries if entry[0] == subject]:
            del self._entries[entry]

    def sha256(self, subject: str) -> str | None:
        return self._digests.get(subject)

    def remember_sha256(self, subject: str, sha256_hex: str) -> None:
        self._digests[subject] = sha256_hex
        while len(self._digests) > self.size:
            self._digests.popitem(last=False)


@dataclass
class SupplyState:
    signer: Signer | None = None  # the gateway's own key, for receipts
    trusted_root: str | None = None  # the deployment's sigstore trusted root (JSON text)
    verdicts: VerdictCache = field(default_factory=VerdictCache)


def state_of(store: Store) -> SupplyState:
    """The store's supply-chain state; a Store without the wing (``NoSupplyChain``) has none."""
    state = getattr(store.supply, "state", None)
    if not isinstance(state, SupplyState):
        raise TypeError("this Store has no supply chain: give it supply=SupplyChainWing()")
    return state
