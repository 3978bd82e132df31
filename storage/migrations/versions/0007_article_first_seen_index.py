"""articles indexed by when procwatch first found them: the overview counts today's finds from the index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_article_first_seen", "article", ["first_seen"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_article_first_seen", table_name="article")
