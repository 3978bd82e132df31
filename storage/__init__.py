"""procwatch's storage: every article and every version of it, on SQLite or PostgreSQL."""

from storage.db import SchemaError, default_database_url, make_engine, open_database, upgrade
from storage.repository import ArticleWithVersions, Backoff, Extracted, Outcome, OutcomeKind, Store, Validators

__all__ = [
    "ArticleWithVersions",
    "Backoff",
    "Extracted",
    "Outcome",
    "OutcomeKind",
    "SchemaError",
    "Store",
    "Validators",
    "default_database_url",
    "make_engine",
    "open_database",
    "upgrade",
]
