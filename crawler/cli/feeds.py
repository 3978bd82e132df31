"""``procwatch feed build`` and ``procwatch serve``: the feeds, as files or over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crawler.cli.app import ConfigOption, DbOption, app, console, open_store, read_config, serve_app
from crawler.daemon.options import DaemonOptions

feed_app = typer.Typer(help="Build the RSS/Atom feeds.", no_args_is_help=True)

DEFAULT_HOST, DEFAULT_PORT = DaemonOptions.host, DaemonOptions.port


@feed_app.command("build")
def build_command(
    out: Annotated[Path, typer.Option("--out", help="directory to write the feeds to")],
    base_url: Annotated[
        str, typer.Option(help="URL the directory is served at")
    ] = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
    limit: Annotated[int, typer.Option(min=1, max=500, help="items per feed")] = 50,
    fulltext: Annotated[bool, typer.Option(help="full article text instead of a summary")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write every feed as static files (NAME.xml, NAME.atom, feeds.opml, index.html)."""
    from crawler.runtime import Runtime
    from feeds.build import build_feeds
    from feeds.items import FeedQuery

    store = open_store(db)
    catalog = Runtime(read_config(config), store).catalog()
    written = build_feeds(store, catalog, out, base_url=base_url, query=FeedQuery(limit=limit, fulltext=fulltext))
    console.print(f"wrote {len(written)} files to {out} (subscribe to {base_url.rstrip('/')}/all.xml)", markup=False)


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="address to bind (127.0.0.1 unless you mean to publish)")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535)] = DEFAULT_PORT,
    base_url: Annotated[str | None, typer.Option(help="public URL, when behind a proxy")] = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Serve the feeds over HTTP (with ETag/304, filters, OPML and /healthz)."""
    from crawler.runtime import Runtime
    from feeds.server import create_app

    loaded = read_config(config)
    store = open_store(db)
    catalog = Runtime(loaded, store).catalog()
    console.print(f"serving feeds on http://{host}:{port}/ (all sources: http://{host}:{port}/all.xml)", markup=False)
    app = create_app(store, lambda: catalog, base_url=base_url)
    serve_app(app, host, port)
