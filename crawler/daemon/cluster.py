"""``procwatch run --cluster``: several workers, on several machines, against one PostgreSQL.

procrastinate carries the work. One periodic task, the tick, is deferred once per period however
many workers run (procrastinate records each periodic defer in the database). The tick looks for
sources that are due by their schedule (the same APScheduler triggers as the embedded daemon, in
Beijing time), claims each due run with a row lock so only one claim succeeds, and defers a crawl
job with ``lock=<source id>`` (one crawl of a source at a time) and ``queueing_lock=<source id>``
(jobs do not pile up behind a slow source). The crawl is the same function as on one machine.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Engine

from crawler.config import Config, Source, load_config
from crawler.daemon.runner import DaemonOptions, QuietServer, Runtime
from crawler.daemon.triggers import trigger_for
from crawler.fetch import Fetcher
from storage import Store

log = logging.getLogger("procwatch.cluster")
QUEUE = "procwatch"


class ClusterError(Exception):
    """Cluster mode cannot start (wrong database, schema missing, bad tick)."""


def conninfo(engine: Engine) -> str:
    """libpq connection string for procrastinate from the SQLAlchemy engine's URL."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def tick_cron(tick: timedelta) -> str:
    seconds = int(tick.total_seconds())
    if 1 <= seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"  # croniter's sixth field is seconds
    if seconds >= 60 and seconds % 60 == 0 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    raise ClusterError(f"--tick must divide a minute or an hour evenly (1s, 5s, 30s, 1m, 5m ...), got {tick}")


def make_app(engine: Engine) -> procrastinate.App:
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(engine)))


def apply_schema(engine: Engine) -> bool:
    """Create procrastinate's tables unless they exist; True if it created them."""
    with engine.connect() as connection:
        exists = connection.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
    if exists:
        return False
    app = make_app(engine)
    with app.open():
        app.schema_manager.apply_schema()
    return True


def next_due(source: Source, now: datetime) -> datetime:
    """When a source is due again after a run claimed at ``now``."""
    schedule = source.schedule
    if schedule.cron:
        upcoming = trigger_for(schedule).get_next_fire_time(None, now)
        return upcoming or now + timedelta(days=1)
    jitter = schedule.jitter_delta.total_seconds()
    interval = schedule.interval or timedelta(hours=1)
    return now + interval + timedelta(seconds=random.uniform(-jitter, jitter) if jitter else 0)


class ClusterWorker:
    def __init__(self, config_path: Path, store: Store, options: DaemonOptions, *, tick: timedelta):
        if store.engine.dialect.name != "postgresql":
            raise ClusterError("--cluster needs a PostgreSQL database (--db postgresql://...); SQLite is one machine")
        with store.engine.connect() as connection:
            if not connection.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar():
                raise ClusterError("procrastinate's tables are missing: run 'procwatch db upgrade' first")
        self.config_path, self.store, self.options = config_path, store, options
        self.config: Config = load_config(config_path)
        self.app = make_app(store.engine)
        self.runtime: Runtime | None = None
        self.stopping = asyncio.Event()
        cron = tick_cron(tick)

        @self.app.task(name="procwatch.crawl", queue=QUEUE, retry=procrastinate.RetryStrategy(max_attempts=3, wait=30))
        async def crawl(source_id: str) -> None:
            if self.runtime is not None:
                await self.runtime.crawl(source_id)

        @self.app.periodic(cron=cron, periodic_id="tick")
        @self.app.task(name="procwatch.tick", queue=QUEUE, queueing_lock="procwatch.tick")
        async def tick_task(timestamp: int) -> None:
            await self.defer_due(datetime.fromtimestamp(timestamp, UTC))

        self.crawl_task = crawl

    async def defer_due(self, now: datetime) -> list[str]:
        """Claim and defer every source whose next run is due; returns the ids deferred."""
        deferred = []
        states = await asyncio.to_thread(self.store.source_states)
        for source in self.config.enabled_sources:
            state = states.get(source.id)
            if state is not None and state.next_due is not None and state.next_due > now:
                continue
            claimed = await asyncio.to_thread(
                self.store.claim_due, source.id, due_at=now, next_due=next_due(source, now)
            )
            if not claimed:
                continue
            try:
                await self.crawl_task.configure(lock=source.id, queueing_lock=source.id).defer_async(
                    source_id=source.id
                )
                deferred.append(source.id)
            except AlreadyEnqueued:
                log.info("%s: a crawl is already queued; not adding another", source.id)
        return deferred

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        async with self.app.open_async(), Fetcher.from_settings(self.config.settings) as fetcher:
            self.runtime = Runtime(self.config, self.store, fetcher, backoff=self.options.backoff)
            worker = asyncio.create_task(
                self.app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=4,
                    install_signal_handlers=False,
                    wait=True,
                    shutdown_graceful_timeout=self.options.shutdown_timeout,
                    name=f"procwatch-{random.randrange(1 << 16)}",
                )
            )
            server_task = None
            server = None
            if self.options.serve:
                import uvicorn
                from starlette.routing import Mount

                from feeds.server import create_app

                app = create_app(self.store, lambda: self.config, base_url=self.options.base_url)
                app.router.routes.insert(0, Mount("/metrics", app=self.runtime.metrics.asgi_app()))
                server = QuietServer(
                    uvicorn.Config(
                        app, host=self.options.host, port=self.options.port, log_level="warning", lifespan="off"
                    )
                )
                server_task = asyncio.create_task(server.serve())
            log.info("cluster worker running: %d sources", len(self.config.enabled_sources))
            stop = asyncio.create_task(self.stopping.wait())
            done, _ = await asyncio.wait({worker, stop}, return_when=asyncio.FIRST_COMPLETED)
            if worker in done and worker.exception():
                log.error("worker stopped: %s", worker.exception())
            worker.cancel()
            await asyncio.wait({worker}, timeout=self.options.shutdown_timeout + 2)
            if server is not None and server_task is not None:
                server.should_exit = True
                await asyncio.wait({server_task}, timeout=5)
        log.info("stopped")
        return 0
