"""Caches of the data path.

``BucketCache``: a short-lived cache of bucket records: every S3 request looks its bucket up,
and the row changes only when the bucket is created, deleted or reconfigured.

Only records found are kept (a bucket created by another replica is seen at once), for
``ttl`` seconds; this process forgets a bucket the moment it deletes it. Another replica
deleting a bucket is seen within ``ttl``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from gateway.domain.values import BucketRecord


class BucketCache:
    def __init__(self, ttl: float = 2.0) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, BucketRecord]] = {}

    def get(self, name: str) -> BucketRecord | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.ttl:
            del self._entries[name]
            return None
        return entry[1]

    def put(self, record: BucketRecord) -> None:
        if len(self._entries) > 10_000:  # bounded: drop everything, it refills on demand
            self._entries.clear()
        self._entries[record.name] = (time.monotonic(), record)

    def forget(self, name: str) -> None:
        self._entries.pop(name, None)


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
