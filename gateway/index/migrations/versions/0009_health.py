"""The health table: the readiness probe's committed write.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("checked_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("health")
