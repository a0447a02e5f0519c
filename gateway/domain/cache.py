"""Caches of the data path.

``BucketCache``: a short-lived cache of bucket records: every S3 request looks its bucket up,
and the row changes only when the bucket is created, deleted or reconfigured.

Only records found are kept (a bucket created by another replica is seen at once), for
``ttl`` seconds; this process forgets a bucket the moment it deletes it. Another replica
deleting or reconfiguring a bucket is seen within ``ttl`` (``bucket_cache_seconds``); with
``ttl`` 0 nothing is kept and every request reads the index.
"""

from __future__ import annotations

import time

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
        if self.ttl <= 0:
            return
        if len(self._entries) > 10_000:  # bounded: drop everything, it refills on demand
            self._entries.clear()
        self._entries[record.name] = (time.monotonic(), record)

    def forget(self, name: str) -> None:
        self._entries.pop(name, None)
