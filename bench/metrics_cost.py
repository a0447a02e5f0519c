"""What the metrics cost one PutObject, in process: the updates the S3 edge, the Authorizer,
the index and the registry client make for it, timed in a loop. Once in a single process
(values in memory) and once in multiprocess mode (``serve --workers``: values in mmapped
files), each in a fresh interpreter since prometheus_client picks the mode at import.

    .venv/bin/python -m bench.metrics_cost
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

CALLS = 20_000
# A small PutObject: one S3 request, one decision, four index calls (get_bucket, get_object,
# put_object, and a listing's or upload's lookup) and three registry requests (upload blob,
# push manifest, and a HEAD for the shared config blob).
INDEX_CALLS, REGISTRY_CALLS = 4, 3


def measure() -> dict[str, float]:
    from gateway.observability import metrics

    def one_put() -> None:
        in_flight = metrics.child(metrics.HTTP_IN_FLIGHT, "s3")
        in_flight.inc()
        transfers = metrics.child(metrics.TRANSFERS_IN_FLIGHT, "upload")
        transfers.inc()
        metrics.child(metrics.AUTHZ_DECISIONS, "s3:PutObject", "allow", "role").inc()
        for call in ("get_bucket", "get_object", "put_object", "get_upload")[:INDEX_CALLS]:
            metrics.child(metrics.INDEX_DURATION, call).observe(0.0004)
        for call in ("upload blob", "push manifest", "head blob")[:REGISTRY_CALLS]:
            metrics.child(metrics.REGISTRY_DURATION, call).observe(0.002)
            metrics.child(metrics.REGISTRY_REQUESTS, call, "2xx").inc()
        transfers.dec()
        in_flight.dec()
        metrics.observe_request("s3", "PutObject", 200, 0.004, 10_000, 0)

    for _ in range(500):
        one_put()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(CALLS):
        one_put()
    return {
        "cpu_us": round((time.process_time() - cpu) / CALLS * 1e6, 2),
        "wall_us": round((time.perf_counter() - wall) / CALLS * 1e6, 2),
    }


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(measure()))
        return
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for mode, extra in (
            ("single process", {}),
            ("workers", {"PROMETHEUS_MULTIPROC_DIR": directory}),
        ):
            done = subprocess.run(
                [sys.executable, "-m", "bench.metrics_cost", "--child"],
                env={**os.environ, **extra},
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode] = json.loads(done.stdout)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
