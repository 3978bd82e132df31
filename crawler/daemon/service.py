"""What both daemon modes share: one runtime, signals, reload, the feed server with health and
metrics, and an orderly stop. A mode adds only its trigger (when jobs run); see runner.py and
cluster.py.

* SIGHUP reloads sources.yaml (read and checked off the event loop); an invalid file is reported
  and the old configuration kept; a valid one is handed to the runtime (which rebuilds the fetcher
  when its settings changed) and to the trigger (which reconciles its jobs);
* SIGTERM/SIGINT stop the trigger, let in-flight crawls finish within a timeout, then exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.config import Config
from crawler.daemon.options import DaemonOptions
from crawler.errors import ConfigError
from crawler.notify.notifier import Notifier
from crawler.runtime import ConfigChanges, Runtime, load
from storage import Store

log = logging.getLogger("procwatch.daemon")


class Service(ABC):
    """A long-running procwatch: the runtime plus a trigger that decides when its jobs run."""

    mode = "daemon"

    def __init__(self, config_path: Path, store: Store, options: DaemonOptions | None = None):
        self.config_path, self.store = config_path, store
        self.options = options = options or DaemonOptions()
        self.base_url = options.base_url or f"http://{options.host}:{options.port}"
        self.runtime = Runtime(
            load(config_path),  # ConfigError propagates: the CLI reports it and exits 2
            store,
            backoff=options.backoff,
            feeds_out=options.feeds_out,
            base_url=self.base_url,
            fetcher_options=options.fetcher_options,
        )
        self.stopping = asyncio.Event()
        self.background: set[asyncio.Future[Any]] = set()
        self.server: Any = None
        self.reload_error: str | None = None  # the last reload's failure, until one succeeds
        self.notifier = Notifier(
            store,
            lambda: self.runtime.config,
            link=self.base_url,
            lexicon=lambda: frozenset(self.runtime.catalog().known_campaigns),
            poll=options.notify_poll,
        )
        self.runtime.on_change.append(self.notifier.wake)

    @property
    def config(self) -> Config:
        return self.runtime.config

    # -- what a trigger provides -----------------------------------------------------------------

    @abstractmethod
    async def start_trigger(self) -> None:
        """Begin running jobs (the runtime is open)."""

    @abstractmethod
    async def stop_trigger(self) -> None:
        """Start no new job; let running ones finish within the shutdown timeout."""

    @abstractmethod
    def reconcile(self, changes: ConfigChanges) -> None:
        """Bring the jobs in line with a reloaded configuration."""

    @abstractmethod
    def next_runs(self, source_ids: Iterable[str]) -> Mapping[str, datetime | None]:
        """When each source runs next, as far as this trigger knows."""

    # -- reload and health -------------------------------------------------------------------------

    async def reload(self) -> bool:
        """Re-read sources.yaml; keep the running configuration if the new one is invalid."""
        try:
            new = await asyncio.to_thread(load, self.config_path)
        except ConfigError as exc:
            log.error("reload failed, keeping the previous configuration:\n%s", exc)
            # shown in /healthz until a reload succeeds: the file on disk is not what runs
            self.reload_error = str(exc).splitlines()[0][:500]
            return False
        self.reconcile(await self.runtime.reload(new))
        self.reload_error = None
        return True

    def _on_sighup(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self.background.add(task)  # a reference, so the task is not collected while it runs
        task.add_done_callback(self.background.discard)

    def health(self) -> dict[str, Any]:
        report = {"mode": self.mode, "reload_error": self.reload_error, **self.runtime.health(self.next_runs)}
        if self.reload_error and report["status"] == "ok":  # running, but not what sources.yaml says
            report["status"] = "degraded"
        return report

    # -- life cycle ----------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        async with self.runtime:
            await self.start_trigger()
            notifier = asyncio.create_task(self.notifier.run(self.stopping))
            server_task = self._start_server() if self.options.serve else None
            log.info(
                "procwatch %s running: %d sources, feeds on %s/all.xml",
                self.mode,
                len(self.config.enabled_sources),
                self.base_url,
            )
            await self.stopping.wait()
            log.info("stopping: no new crawls; waiting up to %.0f s for those in flight", self.options.shutdown_timeout)
            await self.stop_trigger()
            # a send in flight may end; one that does not is sent again by the next daemon (its lease ends)
            await asyncio.wait({notifier}, timeout=self.options.shutdown_timeout)
            notifier.cancel()
            if server_task is not None:
                self.server.should_exit = True
                await asyncio.wait({server_task}, timeout=5)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        log.info("stopped")
        return 0

    def _start_server(self) -> asyncio.Task[None]:
        import uvicorn
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        from feeds.http import TolerantH11Protocol
        from feeds.server import create_app

        class QuietServer(uvicorn.Server):
            """uvicorn without its own signal handling: the daemon decides when to stop."""

            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        options = self.options
        app = create_app(self.store, self.runtime.catalog, base_url=options.base_url, health=self.health)

        async def metrics(request: Request) -> Response:  # at /metrics itself: a Mount answered 307 to /metrics/
            body, media_type = self.runtime.metrics.exposition()
            return Response(body, media_type=media_type)

        app.router.routes.insert(0, Route("/metrics", metrics))
        config = uvicorn.Config(
            app, host=options.host, port=options.port, log_level="warning", lifespan="off", http=TolerantH11Protocol
        )
        self.server = QuietServer(config)
        return asyncio.create_task(self.server.serve())
