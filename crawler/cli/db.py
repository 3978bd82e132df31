"""``procwatch db``: schema management."""

from __future__ import annotations

import typer

from crawler.cli.app import DATABASE_EXIT, DbOption, console, fail

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(db: DbOption = None) -> None:
    """Create or migrate the database schema to this version of procwatch."""
    from storage.db import describe, make_engine, upgrade
    from storage.errors import DatabaseError

    try:
        engine = make_engine(db)
    except DatabaseError as exc:
        fail(f"procwatch: {exc}", DATABASE_EXIT)
    where = describe(engine)
    try:
        before, after = upgrade(engine)
    except Exception as exc:  # a migration failure must say which database and why
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        fail(f"procwatch: cannot upgrade database {where}: {cause[0] if cause else type(exc).__name__}", DATABASE_EXIT)
    if before == after:
        console.print(f"{where}: already at revision {after}")
    else:
        console.print(f"{where}: upgraded from {before or 'empty'} to {after}")
    if engine.dialect.name == "postgresql":
        try:
            from crawler.daemon.cluster import apply_schema
        except ImportError:
            console.print(
                "procrastinate is not installed: cluster mode unavailable (pip install 'procwatch[postgres]')"
            )
            return
        if apply_schema(engine):
            console.print(f"{where}: created procrastinate's tables for 'procwatch run --cluster'")


@db_app.command("status")
def status_command(db: DbOption = None) -> None:
    """Show the schema revision of the database and of this procwatch."""
    from storage.db import current_revision, describe, head_revision, open_database
    from storage.errors import DatabaseError, NoDatabase, RevisionMismatch

    try:
        engine = open_database(db, create=False)
    except NoDatabase as exc:
        fail(f"procwatch: {exc}", DATABASE_EXIT)
    except RevisionMismatch:  # at another revision: say which, since that is what status is for
        from storage.db import make_engine

        engine = make_engine(db, create=False)
    except DatabaseError as exc:
        fail(f"procwatch: {exc}", DATABASE_EXIT)
    console.print(f"database: {describe(engine)}")
    console.print(f"revision: {current_revision(engine) or 'empty'} (procwatch needs {head_revision()})")
