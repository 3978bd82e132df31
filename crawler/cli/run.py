"""``procwatch run``: the daemon."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from crawler.cli.app import ConfigOption, DbOption, app, fail, open_store, read_config
from crawler.config import config_path
from crawler.daemon.options import DaemonOptions
from crawler.durations import format_duration, parse_duration
from crawler.errors import ConfigError


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def _duration(value: str, option: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        fail(f"{option}: {exc}", 2)


@app.command("run")
def run_command(
    host: Annotated[str, typer.Option(help="feed server address")] = DaemonOptions.host,
    port: Annotated[int, typer.Option(min=0, max=65535, help="feed server port (0: no server)")] = DaemonOptions.port,
    base_url: Annotated[str | None, typer.Option(help="public URL of the feeds, when behind a proxy")] = None,
    log_format: Annotated[LogFormat, typer.Option(help="text, or json for log shippers")] = LogFormat.text,
    shutdown_timeout: Annotated[
        str, typer.Option(help="how long in-flight crawls may finish on SIGTERM")
    ] = format_duration(timedelta(seconds=DaemonOptions.shutdown_timeout)),
    recheck_every: Annotated[
        str, typer.Option(help="how often to look for articles due a re-check")
    ] = format_duration(DaemonOptions.recheck_every),
    feeds_out: Annotated[Path | None, typer.Option(help="also write static feeds here after each change")] = None,
    cluster: Annotated[bool, typer.Option("--cluster", help="run as a procrastinate worker (PostgreSQL)")] = False,
    tick: Annotated[str, typer.Option(help="cluster mode: how often due sources are looked for")] = "30s",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run the daemon: poll every source on its schedule, serve feeds, /healthz and /metrics."""
    from crawler.daemon.logs import setup_logging
    from crawler.daemon.runner import Daemon
    from crawler.daemon.service import Service

    path = config_path(config)
    read_config(path)  # a broken sources.yaml is reported before anything is opened or created
    options = DaemonOptions(
        host=host,
        port=port,
        base_url=base_url,
        serve=port != 0,
        shutdown_timeout=_duration(shutdown_timeout, "--shutdown-timeout").total_seconds(),
        recheck_every=_duration(recheck_every, "--recheck-every"),
        feeds_out=feeds_out,
    )
    store = open_store(db, create=True)
    service: Service
    try:
        if cluster:
            from crawler.daemon.cluster import ClusterWorker
            from crawler.errors import ClusterError

            try:
                service = ClusterWorker(path, store, options, tick=_duration(tick, "--tick"))
            except ClusterError as exc:
                fail(f"error: {exc}", 2)
        else:
            service = Daemon(path, store, options)
    except ConfigError as exc:
        fail(str(exc), 2)
    setup_logging(log_format.value)
    raise typer.Exit(asyncio.run(service.run()))
