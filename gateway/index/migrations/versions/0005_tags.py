"""Object tags: the current tag set of each object (and of each multipart upload, for the
object it makes), and the tagging manifest that holds an object's tags set after its write.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: SQLite and PostgreSQL both take it in place,
    # without rewriting a large objects table.
    op.add_column(
        "objects", sa.Column("tags", sa.JSON, nullable=False, server_default=sa.text("'{}'"))
    )
    op.add_column("objects", sa.Column("tagging", sa.String(80)))
    op.add_column(
        "uploads", sa.Column("tags", sa.JSON, nullable=False, server_default=sa.text("'{}'"))
    )


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("tags")
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("tagging")
        batch.drop_column("tags")
