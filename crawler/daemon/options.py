"""How a daemon runs: the one set of defaults for ``procwatch run`` and for code that starts one.
Light on purpose: the CLI reads these defaults for its --help without loading the daemon."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawler.daemon.backoff import Backoff


@dataclass
class DaemonOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None
    shutdown_timeout: float = 8.0
    recheck_every: timedelta = timedelta(minutes=5)
    feeds_out: Path | None = None
    backoff: Backoff = field(default_factory=Backoff)
    serve: bool = True
    notify_poll: timedelta = timedelta(seconds=5)  # how often the outbox is looked at between wake-ups
    fetcher_options: dict[str, Any] = field(default_factory=dict)  # tests: no politeness delays
