"""Every index call timed under its method's name (``artifact_store_index_call_*``): one
class decorator on ``SqlIndex`` rather than a line in each of its methods."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gateway.domain.errors import DomainError
from gateway.observability import metrics

T = TypeVar("T")
Call = Callable[..., Awaitable[Any]]


def measured(cls: type[T]) -> type[T]:
    """Wrap each public coroutine method of ``cls`` (classmethods aside: ``open``). An
    answer given as a domain error (``NoSuchUpload``) is an answer, not a failure."""
    for name in dir(cls):
        member = inspect.getattr_static(cls, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        setattr(cls, name, _timed(name, member))
    return cls


def _timed(call: str, method: Call) -> Call:
    @functools.wraps(method)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        except DomainError:
            raise
        except Exception:
            metrics.child(metrics.INDEX_ERRORS, call).inc()
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.child(metrics.INDEX_DURATION, call).observe(elapsed)

    return timed
