"""CPU seconds per GiB of each hash the gateway may run over a body, in process.

    .venv/bin/python -m bench.hash_cost --out bench/results/X.json

1 MiB pieces of random bytes (as the hash threads get them), ``--gib`` GiB per algorithm and
round, ``--rounds`` rounds; each algorithm's median round. CRC32 both ways: awscrt (what the
gateway used before) and zlib (what it uses now: the same values).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from awscrt import checksums  # type: ignore[import-untyped]

MiB = 1 << 20


def _crc(fn: Callable[[bytes, int], int]) -> Callable[[list[bytes]], None]:
    def run(pieces: list[bytes]) -> None:
        value = 0
        for piece in pieces:
            value = fn(piece, value)

    return run


def _hash(name: str) -> Callable[[list[bytes]], None]:
    def run(pieces: list[bytes]) -> None:
        digest = hashlib.new(name, usedforsecurity=False)
        for piece in pieces:
            digest.update(piece)

    return run


ALGORITHMS = {
    "MD5 (ETag)": _hash("md5"),
    "SHA-256": _hash("sha256"),
    "CRC32 awscrt": _crc(checksums.crc32),
    "CRC32 zlib": _crc(zlib.crc32),
    "CRC32C awscrt": _crc(checksums.crc32c),
    "CRC64NVME awscrt": _crc(checksums.crc64nvme),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--gib", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    block = os.urandom(MiB)
    pieces = [block] * (args.gib * 1024)
    rounds: dict[str, list[float]] = {name: [] for name in ALGORITHMS}
    for _ in range(args.rounds):
        for name, run in ALGORITHMS.items():
            began = time.process_time()
            run(pieces)
            rounds[name].append(round((time.process_time() - began) / args.gib, 3))
    report = {
        "what": __doc__.split("\n\n")[0],
        "cpu_s_per_gib_rounds": rounds,
        "cpu_s_per_gib_median": {name: sorted(v)[len(v) // 2] for name, v in rounds.items()},
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["cpu_s_per_gib_median"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
