"""Object versions: the live object's version id, and a table of the other versions and
delete markers of versioned buckets.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from gateway.index.schema import KeyType

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: added in place on SQLite and PostgreSQL alike.
    op.add_column("objects", sa.Column("version_id", sa.String(64)))
    op.create_table(
        "versions",
        sa.Column("bucket", sa.String(63), primary_key=True),
        sa.Column("key", KeyType, primary_key=True),
        sa.Column("version_id", sa.String(64), primary_key=True),
        sa.Column("delete_marker", sa.Boolean, nullable=False),
        sa.Column("manifest_digest", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(80), nullable=False),
        sa.Column("last_modified_ms", sa.BigInteger, nullable=False),
        sa.Column("layers", sa.JSON, nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("checksums", sa.JSON, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("tagging", sa.String(80)),
    )
    op.create_index("versions_by_time", "versions", ["bucket", "key", "last_modified_ms"])


def downgrade() -> None:
    op.drop_index("versions_by_time", table_name="versions")
    op.drop_table("versions")
    with op.batch_alter_table("objects") as batch:
        batch.drop_column("version_id")
