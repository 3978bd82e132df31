"""change tracking: current version, listings, near-duplicate index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:14:05.467127
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "listing",
        sa.Column("list_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("urls", sa.Text(), nullable=False),
        sa.Column("checked_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("list_url"),
    )
    op.create_table(
        "article_signature",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("minhash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
        ),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.create_table(
        "signature_band",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("band", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["article.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signature_band", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_band_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signature_band_band"), ["band"], unique=False)

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_version", sa.Integer(), nullable=False, server_default="1"))
    # Until now the newest version was always the live one.
    op.execute("UPDATE article SET current_version = version_count")

    with op.batch_alter_table("republication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("title", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("body_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("republication", schema=None) as batch_op:
        batch_op.drop_column("body_text")
        batch_op.drop_column("title")
        batch_op.drop_column("content_hash")
        batch_op.drop_column("published_at")

    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("current_version")

    with op.batch_alter_table("signature_band", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_band_band"))
        batch_op.drop_index(batch_op.f("ix_signature_band_article_id"))

    op.drop_table("signature_band")
    op.drop_table("article_signature")
    op.drop_table("listing")
