"""Buckets and objects.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KeyType = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "buckets",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
    )
    op.create_table(
        "objects",
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


def downgrade() -> None:
    op.drop_table("objects")
    op.drop_table("buckets")
