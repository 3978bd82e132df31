"""``procwatch`` command line. Each command group lives in its own module."""

from __future__ import annotations

from crawler.cli import (  # noqa: F401  (register the commands)
    article,
    campaigns,
    changes,
    check,
    db,
    demo,
    export,
    extract,
    feeds,
    fetch,
    notify,
    run,
    search,
    sources,
    verify,
)
from crawler.cli.app import app

app.add_typer(db.db_app, name="db")
app.add_typer(campaigns.campaigns_app, name="campaigns")
app.add_typer(feeds.feed_app, name="feed")
app.add_typer(notify.notify_app, name="notify")
app.add_typer(export.export_app, name="export")


def main() -> None:
    app()


__all__ = ["app", "main"]
