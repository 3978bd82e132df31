"""``procwatch history``, ``diff``, ``changes`` and ``recheck``: what changed, and when."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from crawler.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    find_source,
    open_store,
    option_date,
    print_json,
    read_config,
)
from crawler.dates import beijing_iso, beijing_minute
from storage.kinds import EventKind

if TYPE_CHECKING:
    from storage import ArticleWithVersions, Store


def _article(store: Store, url: str) -> ArticleWithVersions:
    found = store.history.get_article(url)
    if found is None:
        fail(f"no stored article at {url}", 1)
    return found


@app.command("history")
def history_command(
    url: Annotated[str, typer.Argument(help="the article's URL")], json: JsonOption = False, db: DbOption = None
) -> None:
    """Versions of one article with their dates and sizes, and its removals and restorations."""
    store = open_store(db)
    found = _article(store, url)
    events = [(e, a) for e, a in store.history.events(reported_only=False, limit=10_000) if a.id == found.article.id]
    if json:
        print_json(
            {
                "url": url,
                "status": found.article.status,
                "current_version": found.article.current_version,
                "versions": [
                    {
                        "version": v.version,
                        "fetched_at": v.fetched_at.isoformat(),
                        "title": v.title,
                        "chars": len(v.body_text),
                        "change_chars": v.change_chars,
                        "content_hash": v.content_hash,
                    }
                    for v in found.versions
                ],
                "events": [
                    {"kind": e.kind, "at": e.at.isoformat(), "reported": e.reported, "note": e.note}
                    for e, _ in reversed(events)
                ],
            }
        )
        return
    console.print(f"{found.article.title}\n{url}  ({found.article.status})", markup=False)
    table = Table("version", "fetched (Beijing)", "chars", "change", "title")
    for v in found.versions:
        marker = " *" if v.version == found.article.current_version else ""
        table.add_row(
            f"{v.version}{marker}", beijing_minute(v.fetched_at), str(len(v.body_text)), f"±{v.change_chars}", v.title
        )
    console.print(table)
    for event, _ in reversed(events):
        if event.kind != EventKind.published:
            quiet = "" if event.reported else " (not reported)"
            console.print(f"  {beijing_minute(event.at)}  {event.kind}{quiet}  {event.note or ''}", markup=False)


@app.command("diff")
def diff_command(
    url: Annotated[str, typer.Argument(help="the article's URL")],
    from_version: Annotated[
        int | None, typer.Option("--from", help="older version (default: the one before --to)")
    ] = None,
    to_version: Annotated[int | None, typer.Option("--to", help="newer version (default: the current one)")] = None,
    db: DbOption = None,
) -> None:
    """Character-level diff between two versions (coloured on a terminal)."""
    found = _article(open_store(db), url)
    numbers = {v.version: v for v in found.versions}
    to_number = to_version or found.article.version_count
    from_number = from_version or to_number - 1
    for number in (from_number, to_number):
        if number not in numbers:
            fail(f"{url} has versions 1 to {max(numbers)}; there is no version {number}", 2)
    old, new = numbers[from_number], numbers[to_number]
    old_text, new_text = f"{old.title}\n{old.body_text}", f"{new.title}\n{new.body_text}"
    console.print(
        f"version {from_number} ({beijing_minute(old.fetched_at)}) -> {to_number} ({beijing_minute(new.fetched_at)})",
        markup=False,
    )
    if old_text == new_text:
        console.print("no difference")
        return
    if sys.stdout.isatty():
        rendered = Text()
        from storage.diff import diff

        for op, part in diff(old_text, new_text):
            style = "" if op == 0 else ("bold green" if op > 0 else "red strike")
            rendered.append(part, style=style)
        console.print(rendered)
    else:
        from feeds.diff import diff_text

        for line in diff_text(old_text, new_text):
            sys.stdout.write(line + "\n")


@app.command("changes")
def changes_command(
    since: Annotated[str | None, typer.Option(help="only changes on or after DATE")] = None,
    all_events: Annotated[bool, typer.Option("--all", help="include unreported (boring) changes")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
    json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Edits, removals and restorations across all sources, newest first."""
    since_at = option_date(since, "--since")
    kinds = [EventKind.edited, EventKind.removed, EventKind.restored]
    rows = open_store(db).history.events(since=since_at, kinds=kinds, reported_only=not all_events, limit=limit)
    if json:
        print_json(
            [
                {
                    "kind": e.kind,
                    "at": beijing_iso(e.at),
                    "source": a.source_id,
                    "url": a.url,
                    "title": a.title,
                    "reported": e.reported,
                    "note": e.note,
                    "version_id": e.version_id,
                }
                for e, a in rows
            ]
        )
        return
    table = Table("when (Beijing)", "what", "source", "title", title=f"{len(rows)} changes")
    for event, article in rows:
        what = event.kind + ("" if event.reported else " (quiet)")
        table.add_row(beijing_minute(event.at), what, article.source_id, article.title)
    console.print(table)


@app.command("recheck")
def recheck_command(
    source_id: Annotated[str | None, typer.Argument(metavar="[SOURCE]", help="only this source")] = None,
    json: JsonOption = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Re-check the known articles that are due by age (settings.recheck), now."""
    from crawler.pipeline import CrawlReport
    from crawler.runtime import Runtime

    loaded = read_config(config)
    if source_id:
        find_source(loaded, source_id)
    store = open_store(db)

    async def run() -> list[CrawlReport]:
        async with Runtime(loaded, store) as runtime:
            return await runtime.recheck(source_id=source_id)

    reports = asyncio.run(run())
    if json:
        print_json([r.to_json() for r in reports])
        return
    if not reports:
        console.print("nothing is due for a re-check")
    for report in reports:
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in report.summary().items() if n)
        console.print(f"{report.source}: {len(report.articles)} re-checked ({counts})", markup=False)
