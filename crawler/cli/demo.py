"""``procwatch demo``: try procwatch offline against a local mirror of three portals."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from crawler.cli.app import FAILED, app, console, fail, serve_app
from crawler.cli.feeds import DEFAULT_HOST, DEFAULT_PORT
from crawler.cli.fetch import crawl_once, print_report
from crawler.dates import beijing_iso

MIRROR_PORT = 8781


@app.command("demo")
def demo_command(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo database, config and feeds go")] = Path(
        "procwatch-demo"
    ),
    serve: Annotated[
        bool, typer.Option("--serve", help="then keep serving the mirror and the feeds until Ctrl-C")
    ] = False,
    port: Annotated[int, typer.Option(help="feed server port with --serve")] = DEFAULT_PORT,
    mirror_port: Annotated[
        int,
        typer.Option(
            min=0, max=65533, help="first of the mirror's three ports; fixed, so feed GUIDs survive a restart (0: any)"
        ),
    ] = MIRROR_PORT,
) -> None:
    """Serve a mirror of three portals on 127.0.0.1, fetch them all, write the feeds, show what was stored."""
    from crawler.demo.mirror import Mirror
    from crawler.runtime import Runtime, load
    from feeds.build import build_feeds
    from storage import Store, open_database

    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.sqlite3"
    for stale in directory.glob("demo.sqlite3*"):
        stale.unlink()
    base_url = f"http://{DEFAULT_HOST}:{port}"
    try:
        mirror = Mirror(first_port=mirror_port)
    except OSError as exc:
        fail(f"procwatch: cannot start the demo mirror on 127.0.0.1:{mirror_port}-{mirror_port + 2}: "
             f"{exc.strerror or exc} (pass --mirror-port)", FAILED)
    with mirror:
        config_path = mirror.write_config(directory / "sources.yaml")
        config = load(config_path)
        store = Store(open_database(str(database)))
        sites = ", ".join(f"{site} {mirror.url(site, '/')}" for site in mirror.sites)
        console.print(f"mirror: {sites}", markup=False)
        for source in config.sources:
            print_report(asyncio.run(crawl_once(config, source, store, backfill=5)))
        console.print()
        for article in store.latest_articles(limit=100):
            published = beijing_iso(article.published_at) or "?"
            console.print(f"{article.source_id:>6}  {published}  {article.title}", markup=False)
        counts = store.counts()
        campaigns = store.campaigns()
        console.print(
            f"\nstored {counts['articles']} articles, {counts['versions']} versions, "
            f"{counts['republications']} republications, {len(campaigns)} campaigns and formulations in {database}",
            markup=False,
        )
        catalog = Runtime(config, store).catalog()
        feeds = build_feeds(store, catalog, directory / "feeds", base_url=base_url)
        console.print(f"wrote {len(feeds)} feed files to {directory / 'feeds'}", markup=False)
        if not serve:
            console.print(f"run 'procwatch demo --serve' and subscribe to {base_url}/all.xml", markup=False)
            return
        from feeds.server import create_app

        console.print(f"subscribe to {base_url}/all.xml (all feeds: {base_url}/feeds.opml); Ctrl-C stops", markup=False)
        app = create_app(store, lambda: catalog)
        serve_app(app, DEFAULT_HOST, port)
