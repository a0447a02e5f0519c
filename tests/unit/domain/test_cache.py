"""The bucket cache keeps what was found, for a short while, and forgets on demand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.domain import cache as cache_module
from gateway.domain.cache import BucketCache
from gateway.domain.values import BucketRecord

RECORD = BucketRecord("b", datetime(2026, 1, 1, tzinfo=UTC))


def test_found_records_are_kept_until_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: now[0])
    cache = BucketCache(ttl=2.0)
    assert cache.get("b") is None
    cache.put(RECORD)
    now[0] += 1.9
    assert cache.get("b") == RECORD
    now[0] += 0.2
    assert cache.get("b") is None


def test_forget_and_the_size_bound() -> None:
    cache = BucketCache()
    cache.put(RECORD)
    cache.forget("b")
    cache.forget("never-there")
    assert cache.get("b") is None
    for n in range(10_002):
        cache.put(BucketRecord(f"b{n}", RECORD.created))
    assert cache.get("b0") is None  # the cache was cleared once it outgrew its bound
    assert cache.get("b10001") is not None


def test_a_ttl_of_zero_keeps_nothing() -> None:
    """``bucket_cache_seconds = 0``: replicas behind one load balancer read every change of a
    bucket made through another at once (its deletion, its CORS, lifecycle, policy)."""
    cache = BucketCache(ttl=0)
    cache.put(RECORD)
    assert cache.get("b") is None
