"""One upload or download with the Python SDK, as a process of its own, so bench/sdk.py
times and reads the CPU time of every contender the same way (each is one child process).

    python -m bench.sdk_python up|down <bucket> <key> <file> <part_bytes> <concurrency>

Endpoint and keys come from ARTIFACT_STORE_* in the environment. With
BENCH_SDK_NO_FSYNC=1 (``--sdk-diagnose``'s ``python_sdk_no_fsync``) the SDK's os.fsync after
every downloaded range is skipped, to show what those cost; never in the SDK's own figures."""

from __future__ import annotations

import json
import os
import sys
import time

import artifactstore.client
from artifactstore import Client


def main(argv: list[str]) -> int:
    way, bucket, key, file, part, threads = argv
    if os.environ.get("BENCH_SDK_NO_FSYNC") == "1":
        artifactstore.client.os.fsync = lambda fd: None  # type: ignore[attr-defined]
    concurrency = int(threads)
    with Client(max_pool_connections=concurrency + 2) as store:
        began = time.perf_counter()
        if way == "up":
            up = store.upload(
                bucket, key, file, part_size=int(part), threshold=int(part), concurrency=concurrency
            )
            said: dict[str, object] = {"parts": up.parts}
        else:
            down = store.download(bucket, key, file, part_size=int(part), concurrency=concurrency)
            said = {"size": down.size}
        print(json.dumps({**said, "seconds": time.perf_counter() - began}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
