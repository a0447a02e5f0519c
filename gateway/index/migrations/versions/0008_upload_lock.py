"""Object Lock of a multipart upload: the x-amz-object-lock-* headers of
CreateMultipartUpload, kept until Complete gives them to the version it makes.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: added in place on SQLite and PostgreSQL alike.
    op.add_column("uploads", sa.Column("lock", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.drop_column("lock")
