"""What the index's table families share: the engine their methods run on, and times as
epoch milliseconds (the ``*_ms`` BIGINT columns)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine


class SqlBase:
    """The engine every family's methods run on; ``SqlIndex.open`` makes it. Each method is
    one short transaction, and a write's commit is the moment it becomes visible."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
