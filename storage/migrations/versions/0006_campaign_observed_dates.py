"""campaign novelty by observation: first_seen_at is when procwatch saw a mention, first_published_at the
article's date beside it, baseline marks names first seen while the archive was filled

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN (both databases have it): a batch copy of campaign would drop a table that
    # campaign_mention and campaign_source reference, which SQLite refuses with foreign keys on
    for table in ("campaign", "campaign_source"):
        op.add_column(table, sa.Column("first_published_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("baseline", sa.Boolean(), nullable=False, server_default=sa.false()))
    # first_seen_at held the publication date: keep it as such, then date each row by the recorded time of
    # the earliest version mentioning it (unchanged when no version is known, e.g. a republication's row)
    op.execute("UPDATE campaign SET first_published_at = first_seen_at")
    op.execute("UPDATE campaign_source SET first_published_at = first_seen_at")
    op.execute(
        "UPDATE campaign SET first_seen_at = COALESCE((SELECT MIN(v.fetched_at) FROM campaign_mention m"
        " JOIN article_version v ON v.id = m.version_id WHERE m.campaign_id = campaign.id), first_seen_at)"
    )
    op.execute(
        "UPDATE campaign_source SET first_seen_at = COALESCE((SELECT MIN(v.fetched_at) FROM campaign_mention m"
        " JOIN article_version v ON v.id = m.version_id WHERE m.campaign_id = campaign_source.campaign_id"
        " AND m.source_id = campaign_source.source_id), first_seen_at)"
    )


def downgrade() -> None:
    op.execute("UPDATE campaign SET first_seen_at = first_published_at WHERE first_published_at IS NOT NULL")
    op.execute("UPDATE campaign_source SET first_seen_at = first_published_at WHERE first_published_at IS NOT NULL")
    for table in ("campaign", "campaign_source"):  # SQLite 3.35+ drops a column in place
        op.drop_column(table, "baseline")
        op.drop_column(table, "first_published_at")
