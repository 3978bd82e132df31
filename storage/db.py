"""Engines and schema migrations.

SQLite is the default (a file in the user's data directory); any SQLAlchemy URL for PostgreSQL
(``postgresql+psycopg://...``) works too. The schema is owned by Alembic from the first revision on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event, inspect

DATABASE_ENV = "PROCWATCH_DATABASE_URL"
MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaError(Exception):
    """The database schema does not match this version of procwatch."""


def default_database_url() -> str:
    """``$PROCWATCH_DATABASE_URL``, else a SQLite file in the user data directory."""
    if url := os.environ.get(DATABASE_ENV):
        return url
    directory = Path(user_data_dir("procwatch", appauthor=False))
    return f"sqlite:///{directory / 'procwatch.sqlite3'}"


def normalise_url(url: str) -> str:
    """Accept plain paths and ``postgresql://`` URLs; pick the psycopg 3 driver for the latter."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """An engine configured for concurrent use: WAL and a busy timeout on SQLite."""
    url = normalise_url(url or default_database_url())
    if url.startswith("sqlite"):
        database = url.split(":///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(None))  # type: ignore[arg-type]
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to the newest (or the given) revision; returns (before, after)."""
    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), revision)
    return before, current_revision(engine)


def ensure_schema(engine: Engine) -> None:
    """Create the schema in an empty database; refuse a database at an older revision.

    An existing database is never migrated implicitly: the user decides when to run
    ``procwatch db upgrade`` (and can back up first).
    """
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        tables = set(inspect(engine).get_table_names())
        if tables - {"alembic_version"}:
            raise SchemaError(
                f"database {engine.url.render_as_string(hide_password=True)} has tables but no procwatch "
                "schema version; it was not created by procwatch"
            )
        upgrade(engine)
        return
    try:
        known = ScriptDirectory.from_config(_alembic_config(engine)).get_revision(current) is not None
    except CommandError:
        known = False
    if not known:
        raise SchemaError(
            f"database schema revision {current} is newer than this procwatch knows ({head}); upgrade procwatch"
        )
    raise SchemaError(
        f"database schema is at revision {current}, this procwatch needs {head}: run 'procwatch db upgrade'"
    )


def open_database(url: str | None = None) -> Engine:
    """An engine whose schema is ready to use."""
    engine = make_engine(url)
    ensure_schema(engine)
    return engine
