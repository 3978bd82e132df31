"""captures: the WARC record (file, offset, digest) of each response that made a version or a removal

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("fetched_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("record_offset", sa.BigInteger(), nullable=False),
        sa.Column("record_length", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("revisit", sa.Boolean(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["article_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_capture_digest", "capture", ["digest", "url"], unique=False)
    op.create_index("ix_capture_version_id", "capture", ["version_id"], unique=False)
    op.create_index("ix_capture_event_id", "capture", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_capture_event_id", table_name="capture")
    op.drop_index("ix_capture_version_id", table_name="capture")
    op.drop_index("ix_capture_digest", table_name="capture")
    op.drop_table("capture")
