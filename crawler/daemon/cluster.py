"""``procwatch run --cluster``: several workers, on several machines, against one PostgreSQL.

procrastinate carries the work. One periodic task, the tick, is deferred once per period however
many workers run (procrastinate records each periodic defer in the database). The tick looks for
sources that are due by their schedule (the same APScheduler triggers as the embedded daemon, in
Beijing time), claims each due run with a row lock so only one claim succeeds, and defers a crawl
job with ``lock=<source id>`` (one crawl of a source at a time) and ``queueing_lock=<source id>``
(jobs do not pile up behind a slow source). The crawl, the re-check, feeds output, SIGHUP reload
and health are the runtime's, exactly as on one machine (see service.py); only the trigger differs.
A crawl that failed for a reason a retry can fix (network, 5xx, a busy database) is retried by
procrastinate; the back-off applies to the next scheduled run, not to those retries.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import Engine

from crawler.config import Source
from crawler.daemon.options import DaemonOptions
from crawler.daemon.service import Service
from crawler.daemon.triggers import trigger_for
from crawler.errors import ClusterError, RetryableCrawlError
from crawler.runtime import ConfigChanges
from storage import Store

log = logging.getLogger("procwatch.cluster")
QUEUE = "procwatch"


def conninfo(engine: Engine) -> str:
    """libpq connection string for procrastinate from the SQLAlchemy engine's URL."""
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def tick_cron(tick: timedelta, option: str = "--tick") -> str:
    seconds = int(tick.total_seconds())
    if 1 <= seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"  # croniter's sixth field is seconds
    if seconds >= 60 and seconds % 60 == 0 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    if seconds >= 3600 and seconds % 3600 == 0 and 24 % (seconds // 3600) == 0:
        return f"0 */{seconds // 3600} * * *"
    raise ClusterError(
        f"{option} must divide a minute, an hour or a day evenly (1s, 5s, 30s, 1m, 5m, 1h ...) in cluster mode, "
        f"got {tick}"
    )


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
    jitter = schedule.jitter.total_seconds() if schedule.jitter else 0
    interval = schedule.every or timedelta(hours=1)
    return now + interval + timedelta(seconds=random.uniform(-jitter, jitter) if jitter else 0)


class ClusterWorker(Service):
    mode = "cluster"

    def __init__(self, config_path: Path, store: Store, options: DaemonOptions, *, tick: timedelta):
        if store.engine.dialect.name != "postgresql":
            raise ClusterError("--cluster needs a PostgreSQL database (--db postgresql://...); SQLite is one machine")
        with store.engine.connect() as connection:
            if not connection.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar():
                raise ClusterError("procrastinate's tables are missing: run 'procwatch db upgrade' first")
        tick_schedule = tick_cron(tick)
        recheck_schedule = tick_cron(options.recheck_every, "--recheck-every")
        super().__init__(config_path, store, options)
        self.app = make_app(store.engine)
        self.worker: asyncio.Task[None] | None = None

        retry = procrastinate.RetryStrategy(max_attempts=3, wait=30, retry_exceptions={RetryableCrawlError})

        @self.app.task(name="procwatch.crawl", queue=QUEUE, retry=retry, pass_context=True)
        async def crawl(context: procrastinate.JobContext, source_id: str) -> None:
            # a retry must run even though the failure it follows set the source's back-off
            await self.runtime.crawl(source_id, respect_backoff=not context.job.attempts, raise_retryable=True)

        @self.app.periodic(cron=tick_schedule, periodic_id="tick")
        @self.app.task(name="procwatch.tick", queue=QUEUE, queueing_lock="procwatch.tick")
        async def tick_task(timestamp: int) -> None:
            await self.defer_due(datetime.fromtimestamp(timestamp, UTC))

        @self.app.periodic(cron=recheck_schedule, periodic_id="recheck")
        @self.app.task(name="procwatch.recheck", queue=QUEUE, queueing_lock="procwatch.recheck", lock="recheck")
        async def recheck_task(timestamp: int) -> None:
            await self.runtime.scheduled_recheck(options.recheck_every)

        self.crawl_task = crawl

    async def defer_due(self, now: datetime) -> list[str]:
        """Claim and defer every source whose next run is due; returns the ids deferred."""
        deferred = []
        states = await self.store.run(self.store.sources.source_states)
        for source in self.config.enabled_sources:
            state = states.get(source.id)
            if state is not None and state.next_due is not None and state.next_due > now:
                continue
            claimed = await self.store.run(
                self.store.sources.claim_due, source.id, due_at=now, next_due=next_due(source, now)
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

    async def start_trigger(self) -> None:
        await self.app.open_async()
        self.worker = asyncio.create_task(
            self.app.run_worker_async(
                queues=[QUEUE],
                concurrency=4,
                install_signal_handlers=False,
                wait=True,
                shutdown_graceful_timeout=self.options.shutdown_timeout,
                name=f"procwatch-{random.randrange(1 << 16)}",
            )
        )
        self.worker.add_done_callback(self._worker_ended)

    def _worker_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("worker stopped: %s", task.exception())
            self.stopping.set()  # a worker that cannot take jobs must not look alive

    async def stop_trigger(self) -> None:
        if self.worker is not None:
            self.worker.cancel()  # procrastinate lets running jobs finish within the graceful timeout
            await asyncio.wait({self.worker}, timeout=self.options.shutdown_timeout + 2)
        await self.app.close_async()

    def reconcile(self, changes: ConfigChanges) -> None:
        pass  # the tick reads the runtime's configuration each time: nothing to reschedule

    def next_runs(self, source_ids: Iterable[str]) -> Mapping[str, datetime | None]:
        states = self.store.sources.source_states()
        return {i: states[i].next_due if i in states else None for i in source_ids}
