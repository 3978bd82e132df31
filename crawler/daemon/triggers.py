"""A source's schedule as an APScheduler trigger, in Beijing time: the one definition of 'due'."""

from __future__ import annotations

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.config import Schedule
from storage.clock import BEIJING


def trigger_for(schedule: Schedule) -> BaseTrigger:
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=BEIJING)
    interval = schedule.every
    assert interval is not None  # the schema requires every or cron
    jitter = int(schedule.jitter.total_seconds()) if schedule.jitter else None
    return IntervalTrigger(seconds=max(1, int(interval.total_seconds())), jitter=jitter, timezone=BEIJING)
