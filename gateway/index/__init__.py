"""The adapter of the domain's ``Index`` port: SQLAlchemy Core (async) over SQLite or
PostgreSQL. Zot holds the truth; this can be rebuilt from it (``reindex``).

One module per table family, as ``gateway.domain.ports.index`` declares the port: buckets.py,
objects.py, uploads.py (uploads and their parts), access_keys.py, referrers.py; each holds its
tables' ``Rows`` (row <-> record) and a class with the family's methods, on the engine of
base.py. store.py composes them into ``SqlIndex`` and keeps what spans every family (open,
close, ping, replace_all and its read-only
counterpart contents). schema.py is the tables, migrations/ their Alembic history.

Rows and records convert through one small generic (``base.Rows``, a codec per field that is
not stored as is) rather than eleven hand-written functions; SQLAlchemy TypeDecorators were
not used, as they would change the values ``schema``'s tables give any other reader (the
tests read them raw) and still leave each field's ``*_ms`` column name to map.
"""

from gateway.index.store import IndexNotReady, SqlIndex

__all__ = ["IndexNotReady", "SqlIndex"]
