"""The ``procwatch`` Typer application and what every command shares: --config, --db, errors."""

from __future__ import annotations

import difflib
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from crawler.config import CONFIG_ENV, Config, Source
from crawler.dates import parse_date
from crawler.errors import ConfigError

if TYPE_CHECKING:
    from storage import Store

DATABASE_ENV = "PROCWATCH_DATABASE_URL"  # storage.db's; repeated so that --help need not import storage

app = typer.Typer(
    name="procwatch",
    help="Watch Chinese procuratorate and political-legal portals: new articles, edits, removals, campaigns.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(soft_wrap=True)  # never hard-wrap lines that scripts and pipes read
err_console = Console(stderr=True, soft_wrap=True)  # an error line is never broken mid-word

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", envvar=CONFIG_ENV, help="sources file [default: ./sources.yaml]", show_default=False
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar=DATABASE_ENV, help="database URL or SQLite path [default: user data dir]", show_default=False
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


#: exit codes, as the README documents them
OK, FAILED, USAGE_EXIT, DATABASE_EXIT, ADDRESS_EXIT = 0, 1, 2, 3, 4


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr, no traceback."""
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def serve_app(app: Any, host: str, port: int) -> None:
    """Serve the feeds and web view until interrupted. The address is taken first, so a port in use is
    one line naming it and exit 4 (uvicorn's own error said nothing of it and left exit 3)."""
    import socket

    import uvicorn

    from feeds.http import TolerantH11Protocol

    try:
        listener = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
    except OSError as exc:
        fail(f"procwatch: cannot listen on {host}:{port}: {exc.strerror or exc}", ADDRESS_EXIT)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", http=TolerantH11Protocol))
    with listener:
        server.run(sockets=[listener])


def read_config(path: Path | None) -> Config:
    """sources.yaml, checked completely (adapters resolve, the lexicon loads), or a one-line error."""
    from crawler.validate import load

    try:
        return load(path)
    except ConfigError as exc:
        fail(str(exc), 2)


def find_source(config: Config, source_id: str) -> Source:
    try:
        return config.get(source_id)
    except KeyError:
        ids = [s.id for s in config.sources]
        close = difflib.get_close_matches(source_id, ids, n=3, cutoff=0.5)
        hint = f"; did you mean: {', '.join(close)}?" if close else f"; known: {', '.join(ids) or 'none'}"
        fail(f"unknown source {source_id!r}{hint}", 2)


def open_store(db: str | None, *, create: bool = False) -> Store:
    """The database, or one line and exit 3. Only commands that write new data (fetch, run, demo, db
    upgrade) pass ``create``: the others never create a file, a directory or a table."""
    from storage import Store
    from storage.db import open_database
    from storage.errors import DatabaseError

    try:
        return Store(open_database(db, create=create))
    except DatabaseError as exc:
        fail(f"procwatch: {exc}", DATABASE_EXIT)


def option_date(value: str | None, option: str) -> datetime | None:
    """A date option (``--since 2024-07-01``), or a one-line usage error."""
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        fail(f"{option}: expected a date like 2024-07-01, got {value!r}", 2)
    return parsed


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
