"""What the index's table families share: the engine their methods run on, times as epoch
milliseconds (the ``*_ms`` BIGINT columns), and ``Rows``: the row <-> record conversion each
family declares for its tables, one generic instead of a pair of hand-written functions per
table (a field goes to the column of its name unless its ``Column`` says otherwise)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


class SqlBase:
    """The engine every family's methods run on; ``SqlIndex.open`` makes it. Each method is
    one short transaction, and a write's commit is the moment it becomes visible."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def _same(value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True)
class Column:
    """Where a record's field is stored: ``dump`` makes the column's value from the field's,
    ``load`` the field's from the column's. ``written=False``: only read, as the statement
    that ends the row's life writes it (an upload's completion, a key's revocation)."""

    name: str
    dump: Callable[[Any], Any] = _same
    load: Callable[[Any], Any] = _same
    written: bool = True
    stored: bool = True  # False: a field this table has no column for (its default is read)


def absent() -> Column:
    """A record field the table does not store (e.g. ``delete_marker`` of the live object)."""
    return Column("", stored=False)


def millis(name: str) -> Column:
    """A datetime in a BIGINT column of epoch milliseconds."""
    return Column(name, to_ms, from_ms)


def copied(name: str) -> Column:
    """A dict in a JSON column, read back as a dict of the record's own."""
    return Column(name, load=dict)


class Rows(Generic[R]):
    """One table's rows <-> one record type. Each field of the record is stored as is in the
    column of its name, unless ``columns`` says otherwise; checked against the table once."""

    def __init__(self, table: sa.Table, record: type[R], **columns: Column) -> None:
        names = [field.name for field in dataclasses.fields(record)]
        self._record = record
        self._columns = {name: columns.get(name, Column(name)) for name in names}
        no_field = set(columns) - set(names)
        stored = {column.name for column in self._columns.values() if column.stored}
        no_column = stored - set(table.c.keys())
        if no_field or no_column:
            wrong = sorted(no_field | no_column)
            raise ValueError(f"{record.__name__} and table {table.name} disagree on {wrong}")

    def row(self, record: R, **extra: Any) -> dict[str, Any]:
        """The columns' values for ``record`` (and ``extra`` ones it does not hold)."""
        row = {
            column.name: column.dump(getattr(record, field))
            for field, column in self._columns.items()
            if column.written and column.stored
        }
        return row | extra

    def record(self, row: sa.Row[Any]) -> R:
        """The record a row holds (the row may have more columns, such as counts)."""
        values = row._mapping
        return self._record(
            **{
                field: column.load(values[column.name])
                for field, column in self._columns.items()
                if column.stored
            }
        )
