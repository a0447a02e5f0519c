"""Multipart uploads and their parts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KeyType = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.String(64), primary_key=True),
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", KeyType, nullable=False),
        sa.Column("initiated_ms", sa.BigInteger, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("checksum_algorithm", sa.String(16)),
        sa.Column("checksum_type", sa.String(16)),
        sa.Column("length", sa.BigInteger),
        sa.Column("completed_ms", sa.BigInteger),
        sa.Column("result", sa.JSON),
    )
    op.create_index("uploads_by_key", "uploads", ["bucket", "key", "upload_id"])
    op.create_table(
        "parts",
        sa.Column(
            "upload_id",
            sa.String(64),
            sa.ForeignKey("uploads.upload_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("part_number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("last_modified_ms", sa.BigInteger, nullable=False),
        sa.Column("manifest_digest", sa.String(80), nullable=False),
        sa.Column("checksum", sa.String(80)),
    )


def downgrade() -> None:
    op.drop_table("parts")
    op.drop_index("uploads_by_key", "uploads")
    op.drop_table("uploads")
