"""What every fault scenario asserts afterwards, as a client sees it: no acknowledged object
lost (each reads back with the bytes it was written with), nothing listed or readable that
was not acknowledged but the key of the operation in flight (whose view the scenario checks:
wholly old or wholly new)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.integration.faults.operations import KEY, Operation, View


def listed_keys(s3: Any, bucket: str) -> set[str]:
    return {
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    }


def assert_objects(op: Operation, view: View) -> None:
    """The bucket holds the acknowledged objects, byte for byte, and the operation's key
    only if its view has bytes; nothing else."""
    s3 = op.s3()
    expected = set(op.acked) | ({KEY} if view.body is not None else set())
    assert listed_keys(s3, op.bucket) == expected
    for key, body in op.acked.items():
        assert s3.get_object(Bucket=op.bucket, Key=key)["Body"].read() == body, key


class Background:
    """``work`` in a thread, as a client whose request is in flight; ``join`` gives what it
    raised (None: it succeeded)."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._thread.start()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # what the client got, for the test to judge
            self.error = exc

    def join(self, timeout: float = 120) -> BaseException | None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the client's request never ended"
        return self.error
