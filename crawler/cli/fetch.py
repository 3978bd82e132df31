"""``procwatch fetch SOURCE``: crawl one source now."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from crawler.cli.app import (
    DATABASE_EXIT,
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    console,
    err_console,
    fail,
    find_source,
    open_store,
    print_json,
    read_config,
)
from crawler.cli.extract import describe

if TYPE_CHECKING:
    from crawler.config import Config, Source
    from crawler.pipeline import CrawlReport, ProgressHook
    from storage import Store


async def crawl_once(
    config: Config, source: Source, store: Store, *, progress: ProgressHook | None = None, **options: Any
) -> CrawlReport:
    """Crawl one source now, with a runtime of its own."""
    from crawler.runtime import Runtime

    async with Runtime(config, store) as runtime:
        return await runtime.fetch(source, progress=progress, **options)


@app.command("fetch")
def fetch_command(
    source_id: Annotated[str, typer.Argument(metavar="SOURCE", help="a source id from sources.yaml")],
    limit: Annotated[int | None, typer.Option(min=1, help="fetch at most N articles")] = None,
    backfill: Annotated[int, typer.Option(min=0, metavar="PAGES", help="also read N older list pages")] = 0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="fetch and extract, store nothing")] = False,
    recheck: Annotated[bool, typer.Option(help="re-check listed known articles (conditional GET)")] = True,
    json: JsonOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Fetch one source now: new articles, and edits or removals of listed ones."""
    loaded = read_config(config)
    source = find_source(loaded, source_id)
    with contextlib.ExitStack() as cleanup:
        store = _dry_run_store(db, cleanup) if dry_run else open_store(db, create=True)
        options = {"limit": limit, "backfill": backfill, "dry_run": dry_run, "recheck_listed": recheck}
        report = _fetch(loaded, source, store, json=json, **options)
    if json:
        print_json(report.to_json())
    else:
        print_report(report, dry_run=dry_run)
    raise typer.Exit(0 if report.ok else 1)


def _dry_run_store(db: str | None, cleanup: contextlib.ExitStack) -> Store:
    """A dry run reads what is known from the database and writes nothing; with no database yet it uses
    an empty throw-away one, so that a dry run never creates the real one."""
    from storage.db import open_database
    from storage.errors import DatabaseError, NoDatabase
    from storage.store import Store

    try:
        return Store(open_database(db, create=False))
    except NoDatabase:
        directory = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="procwatch-dry-run-"))
        return Store(open_database(str(Path(directory) / "dry-run.sqlite3")))
    except DatabaseError as exc:
        fail(f"procwatch: {exc}", DATABASE_EXIT)


def _fetch(config: Config, source: Source, store: Store, *, json: bool, **options: Any) -> CrawlReport:
    if sys.stderr.isatty() and not json:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console) as bar:
            task = bar.add_task(f"{source.id}: list pages", total=None)

            def on_progress(stage: str, done: int, total: int) -> None:
                bar.update(task, description=f"{source.id}: {stage}s", completed=done, total=total)

            return asyncio.run(crawl_once(config, source, store, progress=on_progress, **options))
    return asyncio.run(crawl_once(config, source, store, **options))


def print_report(report: CrawlReport, *, dry_run: bool = False) -> None:
    for article in report.articles:
        if article.outcome in ("new", "changed", "removed", "duplicate"):
            extra = f" (same as {article.duplicate_of})" if article.duplicate_of else ""
            console.print(f"{article.outcome:>9}  {article.title or article.url}  {article.url}{extra}", markup=False)
        if article.extracted is not None:  # a dry run: what would be stored, as `procwatch extract` shows it
            for line in describe(article.extracted, body=False):
                console.print(f"           {line}", markup=False, highlight=False)
            preview = article.extracted.body_text.replace("\n", " ")
            console.print(f"           body:       {preview[:120]}{'…' if len(preview) > 120 else ''}", markup=False)
    counts = report.summary()
    line = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)
    prefix = "dry run: " if dry_run else ""
    console.print(
        f"{prefix}{report.source}: {report.list_pages} list pages, {len(report.articles)} articles"
        f" ({line or 'nothing new'}), {report.requests} requests"
        + (
            f"; {report.deferred} more listed, left for the next run (settings.max_articles_per_crawl)"
            if report.deferred
            else ""
        ),
        markup=False,
    )
    for error in report.errors:
        err_console.print(f"  error: {error}", markup=False, highlight=False)
