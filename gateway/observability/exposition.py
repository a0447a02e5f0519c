"""The body of ``/metrics``: the default registry of this process or, with worker processes
(``serve --workers``), the sum of what they all wrote.

Several processes keep their metrics apart; prometheus_client's multiprocess mode lets each
write its values to files in one shared directory, which any of them reads and adds up when
scraped (counters and histograms summed; each gauge as its ``multiprocess_mode`` says). The
mode is chosen when prometheus_client is imported, from ``PROMETHEUS_MULTIPROC_DIR``: the
supervisor sets it (``share``) before it starts the workers. Per-process collectors (process
memory, open files, garbage collection) are not part of the sum; a single process reports
them.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder

ENVIRONMENT = "PROMETHEUS_MULTIPROC_DIR"


def share(directory: Path) -> None:
    """Make ``directory`` where the processes started from now on keep their metrics,
    emptied first: an earlier run's counters must not add to this one's."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[ENVIRONMENT] = str(directory)


def process_gone(pid: int) -> None:
    """Forget a dead worker's live gauges (its in-flight counts), keep its counters."""
    directory = os.environ.get(ENVIRONMENT)
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The metrics in the format the scraper asked for (Prometheus text, or OpenMetrics),
    and its content type."""
    directory = os.environ.get(ENVIRONMENT)
    registry = REGISTRY
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type
