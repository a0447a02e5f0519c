"""Referrers (signatures, SBOMs, attestations) of objects.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KeyType = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "referrers",
        sa.Column("bucket", sa.String(63), primary_key=True),
        sa.Column("key", KeyType, primary_key=True),
        sa.Column("digest", sa.String(80), primary_key=True),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("artifact_type", sa.String(255), nullable=False),
        sa.Column("media_type", sa.String(255), nullable=False),
        sa.Column("blob_digest", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("manifest_size", sa.BigInteger, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("predicate_type", sa.String(255)),
    )
    op.create_index("referrers_by_subject", "referrers", ["bucket", "key", "subject", "kind"])


def downgrade() -> None:
    op.drop_index("referrers_by_subject", "referrers")
    op.drop_table("referrers")
