"""campaign mentions indexed by (campaign, article): counting a campaign's articles reads the index alone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the campaigns feed counted each campaign's articles row by row: 29 ms at 40,000 mentions
    with op.batch_alter_table("campaign_mention", schema=None) as batch_op:
        batch_op.create_index("ix_mention_campaign_article", ["campaign_id", "article_id"], unique=False)
        batch_op.drop_index("ix_campaign_mention_campaign_id")  # a prefix of the new one


def downgrade() -> None:
    with op.batch_alter_table("campaign_mention", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_mention_campaign_id", ["campaign_id"], unique=False)
        batch_op.drop_index("ix_mention_campaign_article")
