"""Access keys (service accounts) bound to an identity.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(64), primary_key=True),
        sa.Column("secret_sealed", sa.Text, nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255)),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("policy", sa.Text),
        sa.Column("description", sa.String(256), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_ms", sa.BigInteger),
    )
    op.create_index("access_keys_by_owner", "access_keys", ["owner"])


def downgrade() -> None:
    op.drop_index("access_keys_by_owner", "access_keys")
    op.drop_table("access_keys")
