"""What every domain function works with: the ports and the mapping's settings.

Typed against the ports only (``domain/ports``); ``app.py`` puts the adapters in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gateway.domain.cache import BucketCache
from gateway.domain.locks import KeyLocks
from gateway.domain.ports import Index, Registry
from gateway.domain.seams import NoSupplyChain, SupplyChain


@dataclass
class Store:
    registry: Registry
    index: Index
    prefix: str = "s3"
    region: str = "us-east-1"
    max_object_size: int = 5 * 1024**3
    min_part_size: int = 5 * 1024**2  # S3's: every part but the last
    locks: KeyLocks = field(default_factory=KeyLocks)
    buckets: BucketCache = field(default_factory=BucketCache)
    supply: SupplyChain = field(default_factory=NoSupplyChain)  # the two seams
    background: set[asyncio.Task[None]] = field(default_factory=set)
