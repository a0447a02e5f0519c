"""``bench.soak --tracemalloc SECONDS``: where a growing gateway's Python memory goes.

Every gateway process (the supervisor and each spawned worker) starts ``tracemalloc`` from a
``sitecustomize`` put first on its ``PYTHONPATH``, once its imports are done (``start``
seconds after it began: traced imports take minutes on a loaded machine), and dumps a
snapshot every SECONDS; only what is allocated after the start is traced; after
the run each process's last snapshot is compared with the one nearest the start of the run's
second half, by allocation traceback. tracemalloc sees Python's allocator only: memory that
SQLite, OpenSSL or the C allocator's own fragmentation hold shows in RSS but not here, so the
traced total beside RSS tells which of the two grew. Tracing slows the gateway and its own
bookkeeping adds to RSS: a traced run's RSS is not the plain run's.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path
from typing import Any

HOOK = '''\
"""Written by bench/soak_trace.py: tracemalloc snapshots of this process for the soak run."""
import os
import threading
import time
import tracemalloc

_DIR = os.environ.get("SOAK_TRACEMALLOC_DIR")
if _DIR:

    def _dump(every=float(os.environ.get("SOAK_TRACEMALLOC_EVERY", "60"))):
        time.sleep(float(os.environ.get("SOAK_TRACEMALLOC_START", "60")))  # imports untraced
        tracemalloc.start(int(os.environ.get("SOAK_TRACEMALLOC_FRAMES", "10")))
        while True:
            time.sleep(every)
            snapshot = tracemalloc.take_snapshot()
            name = f"{os.getpid()}-{time.time():.1f}.snap"
            snapshot.dump(os.path.join(_DIR, name + ".part"))
            os.replace(os.path.join(_DIR, name + ".part"), os.path.join(_DIR, name))

    threading.Thread(target=_dump, name="soak-tracemalloc", daemon=True).start()
'''


def environment(work: Path, every: float, start: float) -> dict[str, str]:
    """The gateway's extra environment: the hook first on its path, where to dump, how often."""
    hook, dumps = work / "tracemalloc-hook", work / "tracemalloc"
    hook.mkdir(parents=True, exist_ok=True)
    dumps.mkdir(parents=True, exist_ok=True)
    (hook / "sitecustomize.py").write_text(HOOK)
    path = os.pathsep.join(p for p in (str(hook), os.environ.get("PYTHONPATH", "")) if p)
    return {
        "PYTHONPATH": path,
        "SOAK_TRACEMALLOC_DIR": str(dumps),
        "SOAK_TRACEMALLOC_EVERY": f"{every:g}",
        "SOAK_TRACEMALLOC_START": f"{start:g}",
    }


def _frames(stat: tracemalloc.StatisticDiff, depth: int = 5) -> list[str]:
    """The innermost ``depth`` frames, innermost first, paths from the project or the venv."""
    shown = []
    for frame in list(stat.traceback)[-depth:][::-1]:
        name = frame.filename
        for marker in ("site-packages/", "/gateway/", "python3.11/"):
            if marker in name:
                name = marker.strip("/") + "/" + name.split(marker, 1)[1]
                break
        shown.append(f"{name}:{frame.lineno}")
    return shown


def analyse(work: Path, wall_began: float, since: float, top: int = 12) -> dict[str, Any]:
    """Per process: traced MiB at each snapshot (seconds since the sampler's start), and the
    ``top`` allocation tracebacks that grew most from the snapshot nearest ``since`` to the
    last one."""
    by_pid: dict[str, list[tuple[float, Path]]] = {}
    for path in sorted((work / "tracemalloc").glob("*.snap")):
        pid, _, stamp = path.name.removesuffix(".snap").partition("-")
        by_pid.setdefault(pid, []).append((float(stamp) - wall_began, path))
    result: dict[str, Any] = {}
    for pid, dumps in by_pid.items():
        dumps.sort()
        loaded = [(t, tracemalloc.Snapshot.load(str(p))) for t, p in dumps]
        series = [
            [round(t, 1), round(sum(s.size for s in snap.statistics("filename")) / (1 << 20), 2)]
            for t, snap in loaded
        ]
        first_t, first = min(loaded, key=lambda item: abs(item[0] - since))
        last_t, last = loaded[-1]
        growth = [
            {
                "size_diff_kib": round(stat.size_diff / 1024, 1),
                "size_kib": round(stat.size / 1024, 1),
                "count_diff": stat.count_diff,
                "frames": _frames(stat),
            }
            for stat in last.compare_to(first, "traceback")[:top]
        ]
        result[pid] = {
            "traced_mib": series,
            "compared_s": [round(first_t, 1), round(last_t, 1)],
            "top_growth": growth,
        }
    return result
