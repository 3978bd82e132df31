"""``procwatch db``: schema management."""

from __future__ import annotations

import typer

from crawler.cli.app import DbOption, console, fail

db_app = typer.Typer(help="Database schema commands.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(db: DbOption = None) -> None:
    """Create or migrate the database schema to this version of procwatch."""
    from storage.db import current_revision, head_revision, make_engine, upgrade  # noqa: F401

    engine = make_engine(db)
    try:
        before, after = upgrade(engine)
    except Exception as exc:  # a migration failure must say which database and why
        fail(f"error: upgrading {engine.url.render_as_string(hide_password=True)} failed: {exc}")
    where = engine.url.render_as_string(hide_password=True)
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
    from storage.db import current_revision, head_revision, make_engine, upgrade  # noqa: F401

    engine = make_engine(db)
    console.print(f"database: {engine.url.render_as_string(hide_password=True)}")
    console.print(f"revision: {current_revision(engine) or 'empty'} (procwatch needs {head_revision()})")
