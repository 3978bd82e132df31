"""extraction fields (displayed vs meta date, body status, attachments) and campaign status

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meta_published_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="ok"))
        batch_op.add_column(sa.Column("attachments", sa.Text(), nullable=True))
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("status")
    with op.batch_alter_table("article_version", schema=None) as batch_op:
        batch_op.drop_column("attachments")
        batch_op.drop_column("status")
        batch_op.drop_column("meta_published_at")
