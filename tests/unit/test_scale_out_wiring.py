"""Which key locks and pool a gateway gets from its settings (``app.key_locks``,
``app.index_pool``): advisory locks exactly when the index is PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.app import index_pool, key_locks
from gateway.config import Settings
from gateway.domain.locks import FileLocks
from gateway.index.advisory import AdvisoryLocks
from gateway.index.store import Pool

POSTGRES = "postgresql+asyncpg://store@db.example:5432/store"


def test_postgresql_gets_advisory_locks_on_a_pool_of_their_own(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=POSTGRES, database_lock_connections=7)
    locks = key_locks(settings)
    shared = locks._shared
    assert isinstance(shared, AdvisoryLocks)
    engine = shared._engine
    assert engine.pool.size() == 7  # type: ignore[attr-defined]
    assert engine.url.database == "store"
    asyncio.run(locks.close())


def test_sqlite_gets_file_locks_only_with_several_workers(tmp_path: Path) -> None:
    assert key_locks(Settings(data_dir=tmp_path))._shared is None
    several = key_locks(Settings(data_dir=tmp_path, workers=2))
    assert isinstance(several._shared, FileLocks)
    assert (tmp_path / "locks").is_dir()


def test_the_pool_settings_reach_postgresql_only(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_pool_size=3,
        database_max_overflow=4,
        database_pool_timeout_seconds=5,
    )
    pool = index_pool(settings)
    assert pool == Pool(size=3, overflow=4, timeout=5)
    assert pool.engine_options(POSTGRES) == {"pool_size": 3, "max_overflow": 4, "pool_timeout": 5}
    assert pool.engine_options("sqlite+aiosqlite:///index.db") == {}
