"""Every index call timed under its method's name (``artifact_store_index_call_*``), and a
lock wait that ran out answered as ``IndexBusy`` rather than an internal error: one class
decorator on ``SqlIndex`` rather than a line in each of its methods."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy.exc

from gateway.domain.errors import DomainError
from gateway.domain.ports.index import IndexBusy
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
        except sqlalchemy.exc.DBAPIError as exc:
            metrics.child(metrics.INDEX_ERRORS, call).inc()
            if busy(exc):
                raise IndexBusy(f"{call}: {exc.orig}") from exc
            raise
        except Exception:
            metrics.child(metrics.INDEX_ERRORS, call).inc()
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.child(metrics.INDEX_DURATION, call).observe(elapsed)

    return timed


# SQLite: the busy timeout ran out ("database is locked", or "database table is locked");
# PostgreSQL: lock_not_available (lock_timeout) and query_canceled (statement_timeout).
_BUSY_MESSAGES = ("database is locked", "database table is locked")
_BUSY_SQLSTATES = ("55P03", "57014")


def busy(exc: sqlalchemy.exc.DBAPIError) -> bool:
    """Whether the database refused for a lock held by another writer (worth a retry)."""
    if getattr(exc.orig, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    return any(message in str(exc.orig) for message in _BUSY_MESSAGES)
