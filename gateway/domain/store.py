"""What every domain function works with: the two ports and the mapping's settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.domain.cache import BucketCache, VerdictCache
from gateway.domain.locks import KeyLocks
from gateway.index.store import SqlIndex
from gateway.registry.client import RegistryClient

if TYPE_CHECKING:
    from gateway.domain.receipts import ReceiptSigner


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
    verdicts: VerdictCache = field(default_factory=VerdictCache)
    receipts: ReceiptSigner | None = None  # the gateway's own signing key, for receipts
    trusted_root: str | None = None  # the deployment's sigstore trusted root (JSON text)
    background: set[asyncio.Task[None]] = field(default_factory=set)
