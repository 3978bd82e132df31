"""What differs between the databases procwatch runs on: one module per backend, chosen by dialect.

Everything else in storage is written once, against :class:`Backend`. A new backend is a module here
with a ``BACKEND`` object and a line in :data:`_MODULES`.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Engine, Select, Table
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

if TYPE_CHECKING:
    from storage.search_terms import Query

#: what a backend's search index is to a query: a FROM item, its version-id column, the condition
SearchSource = tuple[FromClause, ColumnElement[int], ColumnElement[bool]]
CHUNK = 500  # values per IN (...): well inside every database's limit on bound parameters
READ_ONLY = "procwatch_read_only"  # execution option of the engine that only reads


class Backend(Protocol):
    name: str
    #: threads that write at once: SQLite has one writer at a time, so more would only queue on its lock
    writer_threads: int
    #: the statement that refreshes planner statistics cheaply, to run often (None: the server does it)
    optimize: str | None

    def create_engine(self, url: str, *, echo: bool, create: bool) -> Engine:
        """An engine configured for concurrent use; ``create=False`` makes nothing (no directory)."""

    def check_writable(self, engine: Engine) -> None:
        """Raise DatabaseError when writes would fail later, at the first article, for a reason known now."""

    def check_exists(self, engine: Engine) -> None:
        """Raise NoDatabase when there is nothing to read, without creating anything."""

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

    def search_insert(self, connection: Connection, rows: list[tuple[int, str]]) -> None:
        """Index versions: (version id, its tokens, storage.search_terms.document_tokens)."""

    def search_source(self, connection: Connection, query: Query) -> SearchSource:
        """The search index as a FROM item, its version-id column and the condition matching ``query``,
        for statements run on ``connection`` (which may be asked first how many versions match)."""


def bound_rows(
    connection: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows as the driver takes them, each column's own conversion applied (a naive datetime is
    refused here as in any ORM write): for bulk paths that hand rows to the driver directly."""
    dialect = connection.dialect
    converters = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    active = [(index, convert) for index, convert in enumerate(converters) if convert is not None]
    out = []
    for row in rows:
        values = [row[column] for column in columns]
        for index, convert in active:  # most columns have no conversion: touch only those that do
            if values[index] is not None:
                values[index] = convert(values[index])
        out.append(tuple(values))
    return out


_MODULES = {"sqlite": "storage.backends.sqlite", "postgresql": "storage.backends.postgresql"}
SUPPORTED = tuple(_MODULES)


@functools.cache
def backend_named(name: str) -> Backend:
    """The backend for a URL scheme's dialect name (``sqlite``, ``postgresql``)."""
    found: Backend = importlib.import_module(_MODULES[name]).BACKEND
    return found


def backend(bind: Engine | Connection) -> Backend:
    """The backend of an engine or connection."""
    return backend_named(bind.dialect.name)
