"""SQLite: one writer at a time (BEGIN IMMEDIATE), bounded IN lists, ids after the largest."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Select,
    Table,
    column,
    create_engine,
    event,
    func,
    select,
    table,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ColumnElement

from storage.backends import CHUNK, READ_ONLY, SearchSource, bound_rows
from storage.errors import DatabaseError, NoDatabase
from storage.search_terms import Query, fts5_match

try:
    import fcntl
except ImportError:  # not on Windows: one process at a time is then the user's to ensure
    fcntl = None  # type: ignore[assignment]


class SQLite:
    name = "sqlite"
    writer_threads = 1
    optimize: str | None = "PRAGMA optimize"  # re-analyses only what changed enough

    def create_engine(self, url: str, *, echo: bool, create: bool) -> Engine:
        """WAL, a busy timeout, and the write lock taken at BEGIN by writers only."""
        database = url.split(":///", 1)[-1]
        if database and database != ":memory:" and create:
            try:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot open database {database}: {exc.strerror or exc}") from None
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

        # pysqlite's own transaction handling defers BEGIN and then upgrades a reader to a writer,
        # which is exactly what produces 'database is locked' under concurrent writers. Take the
        # write lock up front instead (SQLAlchemy's documented recipe).
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            # Readers (engine.execution_options(procwatch_read_only=True)) begin deferred: they never take
            # the write lock, so they neither wait for the crawler nor make it wait.
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine

    def check_writable(self, engine: Engine) -> None:
        """A file the crawler could read but not write would fail at its first article instead."""
        where = self.describe(engine)
        if where == ":memory:":
            return
        path = Path(where)
        if path.exists() and not os.access(path, os.W_OK):
            raise DatabaseError(f"cannot open database {where}: the file is read-only")
        if not path.exists() and not os.access(path.parent, os.W_OK):
            raise DatabaseError(f"cannot open database {where}: cannot create a file in {path.parent}")

    def check_exists(self, engine: Engine) -> None:
        """The file must be there before it is connected to: connecting would create it."""
        where = self.describe(engine)
        if where != ":memory:" and not Path(where).is_file():
            raise NoDatabase(f"no database at {where} (procwatch fetch or procwatch db upgrade creates one)")

    def upsert(self, table: Table) -> Insert:
        return sqlite.insert(table)

    def where_in(self, connection: Connection, query: Select[Any], key: Any, values: Iterable[Any]) -> Iterator[Any]:
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), CHUNK):
            yield from connection.execute(query.where(key.in_(wanted[start : start + CHUNK]))).all()

    def insert_rows(self, connection: Connection, table: Table, rows: list[dict[str, Any]], *, ids: bool) -> list[int]:
        """executemany straight to the driver, with each column's own conversion (SQLAlchemy's per-row
        work cost more than SQLite's). Ids follow the largest: a write transaction holds the database's
        write lock from its start, so no one else can take them meanwhile."""
        if not rows:
            return []
        new_ids: list[int] = []
        if ids:
            last = connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
            new_ids = list(range(last + 1, last + 1 + len(rows)))
            rows = [{"id": new_id, **row} for new_id, row in zip(new_ids, rows, strict=True)]
        columns = list(rows[0])
        values = bound_rows(connection, table, columns, rows)
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        connection.exec_driver_sql(sql, values)
        return new_ids

    @contextmanager
    def schema_lock(self, engine: Engine) -> Iterator[None]:
        """An flock on the directory that holds the database.

        Never a handle on the database file itself: closing any descriptor of a file drops every POSIX
        lock the process holds on it, SQLite's connections' included (SQLite's documented "how to
        corrupt" case). Another process then believes it is the last connection and deletes the WAL
        that this process goes on writing into: everything written after that was lost."""
        database = engine.url.database
        if not database or database == ":memory:" or fcntl is None:
            yield
            return
        try:  # a directory opens read-only whatever its permissions allow; opening it creates nothing
            descriptor = os.open(Path(database).resolve().parent, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            yield  # no such directory: connecting will say why
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def describe(self, engine: Engine) -> str:
        return engine.url.database or ":memory:"

    def search_insert(self, connection: Connection, rows: list[tuple[int, str]]) -> None:
        if rows:
            connection.exec_driver_sql("INSERT INTO version_search (rowid, tokens) VALUES (?, ?)", rows)

    def search_source(self, connection: Connection, query: Query) -> SearchSource:
        """FTS5 (a contentless table keyed by version id): MATCH, newest first by rowid, as it stores them."""
        index = table("version_search", column("rowid", Integer))
        condition = text("version_search MATCH :match").bindparams(match=fts5_match(query))
        return index, index.c.rowid, cast(ColumnElement[bool], condition)


BACKEND = SQLite()
