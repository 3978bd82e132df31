"""``procwatch demo``: try procwatch offline against a local mirror of three portals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from crawler.cli.app import app, console
from crawler.cli.fetch import crawl_once, print_report
from crawler.config import load_config
from crawler.demo.mirror import Mirror
from storage import Store, open_database


@app.command("demo")
def demo_command(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo database, config and feeds go")] = Path(
        "procwatch-demo"
    ),
) -> None:
    """Serve a mirror of three portals on 127.0.0.1, fetch them all, and show what was stored."""
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.sqlite3"
    for stale in directory.glob("demo.sqlite3*"):
        stale.unlink()
    with Mirror() as mirror:
        config_path = mirror.write_config(directory / "sources.yaml")
        config = load_config(config_path)
        store = Store(open_database(str(database)))
        sites = ", ".join(f"{site} {mirror.url(site, '/')}" for site in mirror.sites)
        console.print(f"mirror: {sites}", markup=False)
        for source in config.sources:
            report = asyncio.run(crawl_once(config, source, store, backfill=5))
            print_report(report)
        console.print()
        for article in store.latest_articles(limit=100):
            published = article.published_at.isoformat() if article.published_at else "?"
            console.print(f"{article.source_id:>6}  {published}  {article.title}", markup=False)
        counts = store.counts()
        console.print(
            f"\nstored {counts['articles']} articles, {counts['versions']} versions, "
            f"{counts['republications']} republications in {database}",
            markup=False,
        )
