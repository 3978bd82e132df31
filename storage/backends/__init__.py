"""What differs between the databases procwatch runs on: one module per backend, chosen by dialect.

Everything else in storage is written once, against :class:`Backend`. A new backend is a module here
with a ``BACKEND`` object and a line in :data:`_MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, Select, Table
from sqlalchemy.sql.dml import Insert

CHUNK = 500  # values per IN (...): well inside every database's limit on bound parameters


class Backend(Protocol):
    name: str
    #: threads that write at once: SQLite has one writer at a time, so more would only queue on its lock
    writer_threads: int

    def upsert(self, table: Table) -> Insert:
        """An INSERT that can take ON CONFLICT (``on_conflict_do_nothing``/``do_update``)."""

    def where_in(self, connection: Connection, query: Select[Any], key: Any, values: Iterable[Any]) -> Iterator[Any]:
        """Rows of ``query`` whose ``key`` is one of ``values``, however many there are."""

    def insert_rows(self, connection: Connection, table: Table, rows: list[dict[str, Any]], *, ids: bool) -> list[int]:
        """Insert ``rows`` in bulk, in this transaction; with ``ids``, the new ids in the order of ``rows``."""

    def schema_lock(self, engine: Engine) -> AbstractContextManager[None]:
        """Held while the schema is created or checked: one process at a time."""

    def describe(self, engine: Engine) -> str:
        """The database as the user named it, without a password."""


def bound_rows(
    connection: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows as the driver takes them, each column's own conversion applied (a naive datetime is
    refused here as in any ORM write): for bulk paths that hand rows to the driver directly."""
    dialect = connection.dialect
    converters = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    return [
        tuple(
            value if convert is None or value is None else convert(value)
            for convert, value in zip(converters, (row[column] for column in columns), strict=True)
        )
        for row in rows
    ]


_MODULES = {"sqlite": "storage.backends.sqlite", "postgresql": "storage.backends.postgresql"}
SUPPORTED = tuple(_MODULES)


def backend(bind: Engine | Connection) -> Backend:
    """The backend of an engine or connection."""
    module = importlib.import_module(_MODULES[bind.dialect.name])
    found: Backend = module.BACKEND
    return found
