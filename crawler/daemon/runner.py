"""The embedded daemon: APScheduler decides when the runtime's jobs run, on one machine.

* one job per enabled source (interval with jitter, or cron), ``max_instances=1``, coalescing,
  a misfire grace time; the age-based re-check as its own job;
* a failing source backs off exponentially (capped) and recovers by itself; an exception in one
  job is logged and recorded against its source, never raised into the scheduler.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crawler.config import Source
from crawler.daemon.options import DaemonOptions
from crawler.daemon.service import Service
from crawler.daemon.triggers import trigger_for
from crawler.runtime import ConfigChanges
from storage.clock import BEIJING

__all__ = ["RECHECK_JOB", "Daemon", "DaemonOptions"]

log = logging.getLogger("procwatch.daemon")
MISFIRE_GRACE = 300
RECHECK_JOB = "__recheck__"


class Daemon(Service):
    mode = "embedded"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.scheduler = AsyncIOScheduler(timezone=BEIJING)
        self.inflight: set[asyncio.Task[Any]] = set()

    def _add_job(self, source: Source) -> None:
        timing: dict[str, Any] = {}
        if not source.schedule.cron:  # an interval starts soon (not all at once); a cron waits for its time
            timing["next_run_time"] = datetime.now(BEIJING) + timedelta(seconds=random.uniform(0, 3))
        # (next_run_time=None would add the job paused: a cron source would never run)
        self.scheduler.add_job(
            self._tracked,
            trigger_for(source.schedule),
            args=[lambda: self.runtime.crawl(source.id), source.id],
            id=source.id,
            name=source.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE,
            replace_existing=True,
            **timing,
        )

    async def _tracked(self, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Run a job as an in-flight task the shutdown waits for; one cut short at shutdown ends quietly."""
        task = asyncio.current_task()
        if task is not None:
            self.inflight.add(task)
        try:
            if not self.stopping.is_set():
                await job()
        except asyncio.CancelledError:
            if not self.stopping.is_set():
                raise
            log.warning("%s: interrupted at shutdown after the grace period", name)
        finally:
            if task is not None:
                self.inflight.discard(task)

    async def start_trigger(self) -> None:
        for source in self.config.enabled_sources:
            self._add_job(source)
        self.scheduler.add_job(
            self._tracked,
            "interval",
            # the cycle sets the re-check budget that keeps settings.recheck_within
            args=[functools.partial(self.runtime.scheduled_recheck, self.options.recheck_every), RECHECK_JOB],
            seconds=self.options.recheck_every.total_seconds(),
            id=RECHECK_JOB,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE,
        )
        self.scheduler.start()

    async def stop_trigger(self) -> None:
        # Pause, not shut down, first: APScheduler's executor shutdown cancels running jobs at once,
        # which would make the grace period worthless.
        self.scheduler.pause()
        if self.inflight:
            _, pending = await asyncio.wait(set(self.inflight), timeout=self.options.shutdown_timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=2)
        self.scheduler.shutdown(wait=False)

    def reconcile(self, changes: ConfigChanges) -> None:
        for source_id in changes.removed:
            self.scheduler.remove_job(source_id)
        fresh = {s.id: s for s in self.config.enabled_sources}
        for source_id in (*changes.added, *changes.changed):
            self._add_job(fresh[source_id])

    def next_runs(self, source_ids: Iterable[str]) -> Mapping[str, datetime | None]:
        out: dict[str, datetime | None] = {}
        for source_id in source_ids:
            job = self.scheduler.get_job(source_id)
            out[source_id] = job.next_run_time if job else None
        return out
