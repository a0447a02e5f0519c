"""What every domain function works with: the two ports and the mapping's settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.cache import BucketCache
from gateway.domain.locks import KeyLocks
from gateway.index.store import SqlIndex
from gateway.registry.client import RegistryClient


@dataclass
class Store:
    registry: RegistryClient
    index: SqlIndex
    prefix: str = "s3"
    region: str = "us-east-1"
    max_object_size: int = 5 * 1024**3
    min_part_size: int = 5 * 1024**2  # S3's: every part but the last
    locks: KeyLocks = field(default_factory=KeyLocks)
    buckets: BucketCache = field(default_factory=BucketCache)
