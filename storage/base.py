"""What every repository mixin of :class:`storage.Store` relies on: the engine and its transactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

CHUNK = 500  # values per IN (...): well inside every database's limit on bound parameters


class Repository:
    """Mixed into :class:`storage.Store`, which provides the engine and transactions."""

    engine: Engine
    read_engine: Engine  # the same database; its transactions never take SQLite's write lock
    transaction: Callable[[], AbstractContextManager[Session]]

    @staticmethod
    def _values_present(session: Session, column: Any, values: Sequence[str], *where: Any) -> set[str]:
        """Which of ``values`` appear in ``column`` (rows also matching ``where``), asked in chunks."""
        found: set[str] = set()
        for start in range(0, len(values), CHUNK):
            chunk = list(values[start : start + CHUNK])
            found.update(session.exec(select(column).where(col(column).in_(chunk), *where)).all())
        return found
