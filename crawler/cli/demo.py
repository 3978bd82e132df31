"""``procwatch demo``: try procwatch offline, against a simulated world of portals on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from crawler.cli.app import FAILED, app, console, fail, serve_app
from crawler.cli.feeds import DEFAULT_HOST, DEFAULT_PORT

MIRROR_PORT = 8781
SEED = 11  # one world for everyone: the same portals, texts and timeline on every run


@app.command("demo")
def demo_command(
    directory: Annotated[Path, typer.Option("--dir", help="where the demo database, config and feeds go")] = Path(
        "procwatch-demo"
    ),
    days: Annotated[int, typer.Option(min=2, max=120, help="simulated days to play")] = 21,
    serve: Annotated[
        bool, typer.Option("--serve", help="then keep serving the portals and the feeds until Ctrl-C")
    ] = False,
    port: Annotated[int, typer.Option(help="feed server port with --serve")] = DEFAULT_PORT,
    mirror_port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65530,
            help="first of the portals' six ports; fixed, so feed GUIDs survive a restart (0: any)",
        ),
    ] = MIRROR_PORT,
) -> None:
    """Play a few simulated weeks of six portals (publications, quiet edits, removals, restorations,
    republications, a campaign spreading across provinces), crawling once a simulated day; show and
    keep what was stored, and write the feeds."""
    from crawler.demo.world import PROVINCES, World, compare
    from crawler.runtime import Runtime, load
    from feeds.build import build_feeds
    from storage import Store, open_database

    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "demo.sqlite3"
    for stale in directory.glob("demo.sqlite3*"):
        stale.unlink()
    base_url = f"http://{DEFAULT_HOST}:{port}"
    # the timeline starts at a midnight: the same article URLs (and feed GUIDs) for every run of a day
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    try:
        world = World(SEED, start=start, days=days, first_port=mirror_port)
    except OSError as exc:
        last = mirror_port + len(PROVINCES) - 1
        fail(
            f"procwatch: cannot start the demo portals on 127.0.0.1:{mirror_port}-{last}: "
            f"{exc.strerror or exc} (pass --mirror-port)",
            FAILED,
        )
    with world:
        config = load(world.write_config(directory / "sources.yaml"))
        store = Store(open_database(str(database)))
        portals = ", ".join(f"{site} {world.mirror.url(site, '/')}" for site in world.mirror.sites)
        console.print(f"portals: {portals}", markup=False)
        for day in range(days):
            world.advance(timedelta(days=1))
            # the first crawl reads older list pages too: the archive starts with what the portals hold
            reports = asyncio.run(world.crawl(config, store, backfill=3 if day == 0 else 0))
            outcomes = Counter(str(article.outcome) for report in reports for article in report.articles)
            found = ", ".join(f"{outcomes[k]} {k}" for k in ("new", "changed", "removed", "duplicate") if outcomes[k])
            console.print(f"day {day + 1:>3}  {world.now:%Y-%m-%d}  {found or 'nothing new'}", markup=False)
        verdict = compare(world, store)
        served = world.figures()
        held = verdict.held
        console.print(
            f"\nthe portals served {served['articles']} articles, {served['edits']} quiet edits, "
            f"{served['removals']} removals, {served['restorations']} restorations, "
            f"{served['republications']} republications and a campaign in {served['campaign_sources']} provinces",
            markup=False,
        )
        console.print(
            f"stored {held['articles']} articles, {held['versions']} versions, {held['republications']} "
            f"republications and {held['events']} events in {database}"
            + (f"; {len(verdict.problems)} differences from what was served:" if verdict.problems else ""),
            markup=False,
        )
        for problem in verdict.problems:
            console.print(f"  {problem}", markup=False)
        catalog = Runtime(config, store).catalog()
        feeds = build_feeds(store, catalog, directory / "feeds", base_url=base_url)
        console.print(f"wrote {len(feeds)} feed files to {directory / 'feeds'}", markup=False)
        if not serve:
            console.print(
                f"run 'procwatch demo --serve' and open {base_url}/ or subscribe to {base_url}/all.xml", markup=False
            )
            return
        from feeds.server import create_app

        console.print(
            f"open {base_url}/; subscribe to {base_url}/all.xml (all feeds: {base_url}/feeds.opml); Ctrl-C stops",
            markup=False,
        )
        app = create_app(store, lambda: catalog)
        serve_app(app, DEFAULT_HOST, port)
