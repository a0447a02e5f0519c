"""The metadata index's tables (SQLAlchemy Core; SQLite by default, PostgreSQL for replicas)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# S3 lists keys in UTF-8 binary order: SQLite's BINARY collation is that; PostgreSQL needs "C".
KeyType = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")

buckets = sa.Table(
    "buckets",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("region", sa.String(64), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
)

objects = sa.Table(
    "objects",
    metadata,
    sa.Column("bucket", sa.String(63), sa.ForeignKey("buckets.name"), primary_key=True),
    sa.Column("key", KeyType, primary_key=True),
    sa.Column("manifest_digest", sa.String(80), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("etag", sa.String(80), nullable=False),
    sa.Column("last_modified_ms", sa.BigInteger, nullable=False),
    sa.Column("layers", sa.JSON, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("checksums", sa.JSON, nullable=False),
)
