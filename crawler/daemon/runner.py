"""The embedded daemon: APScheduler jobs per source, the feed server, health and metrics, signals.

* one job per enabled source (interval with jitter, or cron), ``max_instances=1``, coalescing,
  a misfire grace time; the age-based re-check as its own job;
* a failing source backs off exponentially (capped) and recovers by itself; an exception in one
  job is logged and recorded against its source, never raised into the scheduler;
* SIGHUP reloads sources.yaml and reconciles jobs (an invalid file is reported, the old one kept);
  SIGTERM/SIGINT stop scheduling, let in-flight crawls finish within a timeout, then exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.routing import Mount

from crawler.campaigns import CampaignExtractor
from crawler.config import Config, ConfigError, Source, load_config
from crawler.daemon.metrics import Metrics
from crawler.daemon.triggers import trigger_for
from crawler.dates import BEIJING
from crawler.fetch import Fetcher
from crawler.pipeline import Crawl, CrawlReport, FetchLog, log_fetch
from crawler.recheck import recheck_due
from feeds.build import build_feeds
from feeds.server import create_app
from storage import Backoff, Store
from storage.db import analyze
from storage.types import utcnow

log = logging.getLogger("procwatch.daemon")
MISFIRE_GRACE = 300
RECHECK_JOB = "__recheck__"


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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


class Runtime:
    """What a crawl needs, shared by the embedded scheduler and cluster workers."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        *,
        metrics: Metrics | None = None,
        backoff: Backoff | None = None,
        feeds_out: Path | None = None,
        base_url: str = "",
    ):
        self.config, self.store, self.fetcher = config, store, fetcher
        self.metrics = metrics or Metrics()
        self.backoff = backoff or Backoff()
        self.feeds_out, self.base_url = feeds_out, base_url
        self._campaigns = CampaignExtractor.for_config(config)

    def set_config(self, config: Config) -> None:
        self.config = config
        self._campaigns = CampaignExtractor.for_config(config)

    def _on_fetch(self, entry: FetchLog) -> None:
        log_fetch(entry)
        self.metrics.observe_fetch(entry)

    async def crawl(self, source_id: str, *, respect_backoff: bool = True) -> CrawlReport | None:
        """One scheduled crawl of one source. Never raises: failures are logged and recorded."""
        source = next((s for s in self.config.enabled_sources if s.id == source_id), None)
        if source is None:
            return None
        if respect_backoff:
            state = await asyncio.to_thread(self.store.source_state, source_id)
            if state and state.backoff_until and state.backoff_until > utcnow():
                log.info(
                    "%s: backing off until %s after %d failures",
                    source_id,
                    state.backoff_until.astimezone(BEIJING).isoformat(),
                    state.consecutive_failures,
                )
                return None
        try:
            crawl = Crawl(
                source,
                self.fetcher,
                self.store,
                recheck_listed=False,
                campaigns=self._campaigns,
                on_fetch=self._on_fetch,
                backoff=self.backoff,
            )
            report = await crawl.run()
        except Exception as exc:  # a bug or a broken database must not take the daemon down
            log.exception("%s: crawl failed", source_id)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    self.store.record_source_run,
                    source_id,
                    ok=False,
                    error=f"{type(exc).__name__}: {exc}"[:2000],
                    backoff=self.backoff,
                )
            return None
        self.metrics.observe_report(report)
        counts = ", ".join(f"{n} {k}" for k, n in report.summary().items() if n) or "nothing new"
        if report.ok:
            log.info("%s: %d list pages, %s", source_id, report.list_pages, counts)
        else:
            log.warning("%s: failed: %s", source_id, "; ".join(report.list_errors)[:500])
        if report.changed_anything:
            await self.rebuild_feeds()
        return report

    async def recheck(self) -> None:
        try:
            reports = await recheck_due(self.config, self.store, self.fetcher, campaigns=self._campaigns)
            await self.store.run(analyze, self.store.engine, light=True)  # keep the planner's statistics fresh
        except Exception:
            log.exception("re-check failed")
            return
        for report in reports:
            self.metrics.observe_report(report)
        if any(r.changed_anything for r in reports):
            await self.rebuild_feeds()

    async def rebuild_feeds(self) -> None:
        if self.feeds_out is None:
            return  # the feed server builds from the database on each request
        try:
            await asyncio.to_thread(build_feeds, self.store, self.config, self.feeds_out, base_url=self.base_url)
        except Exception:
            log.exception("writing feeds to %s failed", self.feeds_out)


class Daemon:
    def __init__(self, config_path: Path, store: Store, options: DaemonOptions | None = None):
        self.config_path = config_path
        self.store = store
        self.options = options or DaemonOptions()
        self.config = load_config(config_path)  # ConfigError propagates: the CLI reports it and exits 2
        self.scheduler = AsyncIOScheduler(timezone=BEIJING)
        self.stopping = asyncio.Event()
        self.inflight: set[asyncio.Task[Any]] = set()
        self.background: set[asyncio.Future[Any]] = set()
        self.runtime: Runtime | None = None
        self.server: QuietServer | None = None

    # -- jobs ---------------------------------------------------------------------------------

    def _add_job(self, source: Source) -> None:
        timing: dict[str, Any] = {}
        if not source.schedule.cron:  # an interval starts soon (not all at once); a cron waits for its time
            timing["next_run_time"] = datetime.now(BEIJING) + timedelta(seconds=random.uniform(0, 3))
        # (next_run_time=None would add the job paused: a cron source would never run)
        self.scheduler.add_job(
            self._run_job,
            trigger_for(source.schedule),
            args=[source.id],
            id=source.id,
            name=source.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE,
            replace_existing=True,
            **timing,
        )

    async def _run_job(self, source_id: str) -> None:
        await self._tracked(lambda runtime: runtime.crawl(source_id), source_id)

    async def _run_recheck(self) -> None:
        await self._tracked(lambda runtime: runtime.recheck(), RECHECK_JOB)

    async def _tracked(self, job: Callable[[Runtime], Awaitable[object]], name: str) -> None:
        """Run a job as an in-flight task the shutdown waits for; one cut short at shutdown ends quietly."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            if self.runtime is not None and not self.stopping.is_set():
                await job(self.runtime)
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
            log.warning("%s: interrupted at shutdown after the grace period", name)
        finally:
            if task is not None:
                self.inflight.discard(task)

    def reload(self) -> bool:
        """Re-read sources.yaml and reconcile jobs; keep the old configuration if the new one is invalid."""
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error("reload failed, keeping the previous configuration:\n%s", exc)
            return False
        self._apply(new)
        return True

    async def reload_in_background(self) -> bool:
        """:meth:`reload` with the file read and checked in a thread: SIGHUP never stalls the event loop."""
        try:
            new = await asyncio.to_thread(load_config, self.config_path)
        except ConfigError as exc:
            log.error("reload failed, keeping the previous configuration:\n%s", exc)
            return False
        self._apply(new)
        return True

    def _on_sighup(self) -> None:
        task = asyncio.ensure_future(self.reload_in_background())
        self.background.add(task)  # a reference, so the task is not collected while it runs
        task.add_done_callback(self.background.discard)

    def _apply(self, new: Config) -> None:
        old = {s.id: s for s in self.config.enabled_sources}
        fresh = {s.id: s for s in new.enabled_sources}
        for source_id in old.keys() - fresh.keys():
            self.scheduler.remove_job(source_id)
        for source_id, source in fresh.items():
            if old.get(source_id) != source:
                self._add_job(source)
        added, removed = fresh.keys() - old.keys(), old.keys() - fresh.keys()
        changed = {i for i in fresh.keys() & old.keys() if fresh[i] != old[i]}
        self.config = new
        if self.runtime is not None:
            self.runtime.set_config(new)
        log.info(
            "reloaded %s: %d added, %d removed, %d changed", self.config_path, len(added), len(removed), len(changed)
        )

    # -- health -------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        states = self.store.source_states()
        sources = {}
        for source in self.config.enabled_sources:
            state = states.get(source.id)
            job = self.scheduler.get_job(source.id)
            sources[source.id] = {
                "last_success": state.last_success.isoformat() if state and state.last_success else None,
                "last_checked": state.last_checked.isoformat() if state and state.last_checked else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "last_error": state.last_error if state else None,
                "backoff_until": state.backoff_until.isoformat() if state and state.backoff_until else None,
                "next_run": job.next_run_time.isoformat() if job and job.next_run_time else None,
            }
        failing = sum(1 for s in sources.values() if s["consecutive_failures"])
        return {"status": "ok", "sources": sources, "failing_sources": failing}

    # -- life cycle -------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        options = self.options
        base_url = options.base_url or f"http://{options.host}:{options.port}"
        async with Fetcher.from_settings(self.config.settings) as fetcher:
            self.runtime = Runtime(
                self.config,
                self.store,
                fetcher,
                backoff=options.backoff,
                feeds_out=options.feeds_out,
                base_url=base_url,
            )
            for source in self.config.enabled_sources:
                self._add_job(source)
            self.scheduler.add_job(
                self._run_recheck,
                "interval",
                seconds=options.recheck_every.total_seconds(),
                id=RECHECK_JOB,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE,
            )
            self.scheduler.start()
            server_task = None
            if options.serve:
                app = create_app(self.store, lambda: self.config, base_url=options.base_url, health=self.health)
                app.router.routes.insert(0, Mount("/metrics", app=self.runtime.metrics.asgi_app()))
                self.server = QuietServer(
                    uvicorn.Config(app, host=options.host, port=options.port, log_level="warning", lifespan="off")
                )
                server_task = asyncio.create_task(self.server.serve())
            log.info("procwatch running: %d sources, feeds on %s/all.xml", len(self.config.enabled_sources), base_url)
            await self.stopping.wait()
            log.info(
                "stopping: no new crawls; waiting up to %.0f s for %d in flight",
                options.shutdown_timeout,
                len(self.inflight),
            )
            # Pause, not shut down, first: APScheduler's executor shutdown cancels running jobs at once,
            # which would make the grace period worthless.
            self.scheduler.pause()
            if self.inflight:
                _, pending = await asyncio.wait(set(self.inflight), timeout=options.shutdown_timeout)
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.wait(pending, timeout=2)
            self.scheduler.shutdown(wait=False)
            if self.server is not None and server_task is not None:
                self.server.should_exit = True
                await asyncio.wait({server_task}, timeout=5)
        log.info("stopped")
        return 0
