"""What every repository mixin of :class:`storage.Store` relies on: the engine and its transactions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlmodel import Session


class Repository:
    """Mixed into :class:`storage.Store`, which provides the engine and transactions."""

    engine: Engine
    read_engine: Engine  # the same database; its transactions never take SQLite's write lock
    transaction: Callable[[], AbstractContextManager[Session]]
