"""procwatch's storage: every article and every version of it, on SQLite or PostgreSQL.

Names are imported on first use (PEP 562): ``import storage.clock`` must not load SQLAlchemy and
alembic, so that commands which never open a database start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ArticleWithVersions": "storage.history",
    "BackoffPolicy": "storage.sources",
    "Extracted": "storage.decide",
    "Outcome": "storage.decide",
    "OutcomeKind": "storage.decide",
    "SchemaError": "storage.errors",
    "Store": "storage.store",
    "Validators": "storage.sources",
    "default_database_url": "storage.db",
    "make_engine": "storage.db",
    "open_database": "storage.db",
    "upgrade": "storage.db",
}

if TYPE_CHECKING:
    from storage.db import default_database_url, make_engine, open_database, upgrade
    from storage.decide import Extracted, Outcome, OutcomeKind
    from storage.errors import SchemaError
    from storage.history import ArticleWithVersions
    from storage.sources import BackoffPolicy, Validators
    from storage.store import Store

__all__ = [
    "ArticleWithVersions",
    "BackoffPolicy",
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
