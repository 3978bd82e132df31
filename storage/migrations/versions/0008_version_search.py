"""full-text search over every version: SQLite FTS5 / PostgreSQL tsvector over character-pair tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:10:00
"""

import sys
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.search_terms import document_tokens

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 2000
REPORT_FROM = 5000  # versions: a smaller archive is indexed before anyone would wait for it


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        # contentless: the texts are in article_version already; detail=full keeps positions for phrases;
        # prefix='1': a one-character query reads one prefix entry, not every pair starting with it
        op.execute(
            "CREATE VIRTUAL TABLE version_search"
            " USING fts5(tokens, content='', columnsize=0, detail=full, prefix='1')"
        )
        insert = "INSERT INTO version_search (rowid, tokens) VALUES (:id, :tokens)"
    else:
        op.execute(
            "CREATE TABLE version_search (version_id INTEGER PRIMARY KEY REFERENCES article_version (id),"
            " document TSVECTOR NOT NULL)"
        )
        op.execute("CREATE INDEX ix_version_search_document ON version_search USING gin (document)")
        insert = "INSERT INTO version_search (version_id, document) VALUES (:id, to_tsvector('simple', :tokens))"
    total = connection.execute(sa.text("SELECT count(*) FROM article_version")).scalar_one()
    done, last = 0, 0
    while True:
        rows = connection.execute(
            sa.text("SELECT id, title, body_text FROM article_version WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": CHUNK},
        ).all()
        if not rows:
            break
        connection.execute(
            sa.text(insert), [{"id": i, "tokens": document_tokens(f"{title}\n{body}")} for i, title, body in rows]
        )
        done, last = done + len(rows), rows[-1][0]
        if total >= REPORT_FROM:
            print(f"indexing versions for search: {done:,}/{total:,}", file=sys.stderr, flush=True)


def downgrade() -> None:
    op.execute("DROP TABLE version_search")
