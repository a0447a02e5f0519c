"""Object Lock: each version's retention and legal hold, on the live object's row and on the
other versions' rows.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns without a default: added in place on SQLite and PostgreSQL alike.
    op.add_column("objects", sa.Column("lock", sa.JSON))
    op.add_column("versions", sa.Column("lock", sa.JSON))


def downgrade() -> None:
    for table in ("versions", "objects"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lock")
