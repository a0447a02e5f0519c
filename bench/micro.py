"""What one call of a gateway layer costs, in process, without HTTP or a registry:
the SQLite index (SQLAlchemy async over aiosqlite), SigV4 verification, and the
require-signature gate with a cached verdict.

    .venv/bin/python -m bench.micro

CPU is process time (the aiosqlite worker thread included); wall time is per call on an
idle event loop (uvloop, as ``python -m gateway serve`` runs).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvloop
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench import clients
from bench.measure import summary
from bench.procs import ACCESS_KEY, SECRET_KEY
from gateway.auth import sigv4
from gateway.domain.store import Store
from gateway.domain.supply import trust, verify
from gateway.domain.supply.wing import SupplyChainWing
from gateway.domain.values import BucketRecord, Layer, ObjectRecord
from gateway.index.store import SqlIndex

CALLS = 2000


async def _time(call: Callable[[int], Awaitable[Any]], count: int = CALLS) -> dict[str, float]:
    for i in range(50):  # warm caches (SQLAlchemy's compiled statements, the pool)
        await call(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        await call(i)
    return {
        "cpu_ms": round((time.process_time() - cpu) / count * 1000, 3),
        "wall_ms": round((time.perf_counter() - wall) / count * 1000, 3),
    }


async def _concurrent(
    call: Callable[[int], Awaitable[Any]], workers: int, count: int
) -> dict[str, Any]:
    """``count`` calls from ``workers`` tasks at once: the latency each call saw."""
    latencies: list[float] = []
    indices = iter(range(count))

    async def worker() -> None:
        for i in indices:
            began = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - began)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    elapsed = time.perf_counter() - wall
    return {
        "cpu_ms": round((time.process_time() - cpu) / count * 1000, 3),
        **summary(latencies, wall=elapsed),
    }


def _record(key: str) -> ObjectRecord:
    return ObjectRecord(
        bucket="micro",
        key=key,
        manifest_digest="sha256:" + "1" * 64,
        size=16,
        etag='"' + "2" * 32 + '"',
        last_modified=datetime.now(UTC),
        layers=(Layer(digest="sha256:" + "3" * 64, size=16),),
        headers={"Content-Type": "binary/octet-stream"},
        checksums={"SHA256": "x"},
    )


async def index_costs(directory: Path) -> dict[str, Any]:
    index = await SqlIndex.open(f"sqlite+aiosqlite:///{directory / 'index.db'}")
    try:
        await index.create_bucket(BucketRecord(name="micro", created=datetime.now(UTC)))
        concurrent: dict[str, Any] = {}
        for i in range(CALLS + 50):
            await index.put_object(_record(f"k/{i:07d}"))
        for writers in (1, 2, 4, 8, 16):

            async def put(i: int, writers: int = writers) -> None:
                await index.put_object(_record(f"w{writers}/{i:07d}"))

            concurrent[f"put_object, {writers} concurrent writers"] = await _concurrent(
                put, writers, 1000
            )
        return {
            **concurrent,
            "get_bucket": await _time(lambda i: index.get_bucket("micro")),
            "get_object": await _time(lambda i: index.get_object("micro", f"k/{i:07d}")),
            "put_object (replace)": await _time(lambda i: index.put_object(_record(f"k/{i:07d}"))),
            "scan 1000 rows": await _time(
                lambda i: index.scan("micro", "", inclusive=True, limit=1000), 50
            ),
        }
    finally:
        await index.close()


async def sigv4_cost() -> dict[str, Any]:
    url = "http://127.0.0.1:9000/micro/some/key"
    headers = clients.signed_headers("GET", url)
    request = sigv4.SignedRequest(
        method="GET",
        raw_path="/micro/some/key",
        query_string="",
        headers=[("host", "127.0.0.1:9000"), *((k.lower(), v) for k, v in headers.items())],
    )

    async def lookup(access_key: str) -> str | None:
        return SECRET_KEY if access_key == ACCESS_KEY else None

    now = datetime.now(UTC)
    return {"verify (header auth)": await _time(lambda i: sigv4.verify(request, lookup, now))}


async def gate_cost() -> dict[str, Any]:
    """The require-signature gate on GET once the verdict is cached (issue #6): parse the
    bucket's trust (remembered by its text), look the verdict up, admit."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    document = {"require_signature": True, "keys": [{"name": "k", "public_key": pem}]}
    settings = {trust.TRUST_SETTING: trust.dump_document(document)}
    guarded = BucketRecord(name="micro", created=datetime.now(UTC), settings=settings)
    plain = BucketRecord(name="micro", created=datetime.now(UTC))
    wing = SupplyChainWing()
    store = Store(registry=None, index=None, supply=wing)  # type: ignore[arg-type]  # the cache answers
    record = _record("k")
    fingerprint = trust.settings_of(settings).fingerprint
    admitted = verify.Verdict("micro", "k", record.manifest_digest, None, True, True)
    wing.state.verdicts.put(record.manifest_digest, fingerprint, admitted, admits=True)
    return {
        "gate, ordinary bucket": await _time(lambda i: verify.gate(store, plain, record), 20000),
        "gate, require-signature, cached verdict": await _time(
            lambda i: verify.gate(store, guarded, record), 20000
        ),
    }


async def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="artifact-micro-") as directory:
        return {
            "index": await index_costs(Path(directory)),
            "sigv4": await sigv4_cost(),
            "supply": await gate_cost(),
        }


if __name__ == "__main__":
    result = uvloop.run(main())
    json.dump(result, sys.stdout, indent=2)
    print()
