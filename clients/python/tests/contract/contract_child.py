"""A contract step run in a child process that the runner SIGKILLs mid-transfer. It prints
one line per progress event (``parts N`` / ``bytes N``) for the runner to watch."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from artifactstore import Progress
from artifactstore.planning import parse_size
from contract_support import data_file, download_path, make_client


def main() -> None:
    job = json.loads(sys.argv[1])
    env = dict(os.environ)
    workdir = Path(job["workdir"])
    client = make_client(env, job["auth"], Path(job["state_dir"]))
    step = job["step"]

    def report(event: Progress) -> None:
        print(f"parts {event.parts_done} bytes {event.bytes_done}", flush=True)

    if step["do"] == "upload":
        options = {
            k: step[k] for k in ("part_size", "threshold", "concurrency", "checksum") if k in step
        }
        client.upload(
            step["bucket"],
            step["key"],
            data_file(workdir, step["data"]),
            metadata=step.get("metadata"),
            progress=report,
            **options,
        )
    else:
        client.download(
            step["bucket"],
            step["key"],
            download_path(workdir, step["bucket"], step["key"]),
            part_size=parse_size(step.get("part_size", "8MiB")),
            concurrency=int(step.get("concurrency", 4)),
            progress=report,
        )
    print("finished", flush=True)


if __name__ == "__main__":
    main()
