"""Which rules an outbox entry concerns, and when each delivery is due. Pure: no database, no network.

A rule (``notify.rules`` in sources.yaml) fires when the entry's kind is one of its ``events`` and
every filter it sets holds: the source (by id, tag, level, region), and for ``match`` (the search
query language) and ``regex`` the entry's text, title and body, Traditional and Simplified alike.
A new article dated long before it was found (``notify.news_within``) is not announced at all.
A rule with ``digest`` collects its entries until the next multiple of the period after Beijing
midnight; quiet hours (Beijing time) hold any message until they end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from crawler.config import Notify, Rule, Source, Trigger
from storage.clock import BEIJING
from storage.folding import to_simplified
from storage.outbox import Notice
from storage.search_terms import Query, matches_text, parse

__all__ = ["concerns", "deliveries", "due_at"]


def deliveries(
    notice: Notice, notify: Notify, sources: Mapping[str, Source], *, now: datetime
) -> list[dict[str, object]]:
    """The delivery rows (outbox_id, rule, destination, due_at) of ``notice``."""
    out: list[dict[str, object]] = []
    late = notice.published_at is not None and notice.at - notice.published_at > notify.news_within
    if notice.kind in (Trigger.published, Trigger.campaign) and late:
        return out  # an old article found late (a list's older pages read for the first time): history
    for rule in notify.rules:
        if concerns(rule, notice, sources.get(notice.source_id or "")):
            due = due_at(rule, now)
            out += [{"outbox_id": notice.id, "rule": rule.name, "destination": d, "due_at": due} for d in rule.to]
    return out


def concerns(rule: Rule, notice: Notice, source: Source | None) -> bool:
    """Whether ``rule`` fires for ``notice`` (of ``source``, None when it is no longer configured)."""
    kind = Trigger(notice.kind)
    if kind not in rule.events:
        return False
    if kind is Trigger.failing and notice.count != rule.failing_after:
        return False  # the run that makes the rule's streak, not every failure after it
    if kind is Trigger.recovered and (notice.count or 0) < rule.failing_after:
        return False  # it was never said to be failing
    if rule.sources and notice.source_id not in rule.sources:
        return False
    if rule.tags or rule.levels or rule.regions:
        if source is None:
            return False
        if rule.tags and not set(rule.tags) & set(source.all_tags):
            return False
        if rule.levels and source.level not in rule.levels:
            return False
        if rule.regions and source.region not in rule.regions:
            return False
    if rule.match is not None or rule.regex is not None:
        text = notice.text if notice.body is not None or notice.title else ""
        if notice.campaign:
            text = f"{notice.campaign}\n{notice.context or ''}\n{text}"
        if not text.strip():
            return False  # a keyword rule is about texts: a failing source has none
        if rule.match is not None and not matches_text(_query(rule.match), text):
            return False
        if rule.regex is not None and not _pattern(rule.regex).search(to_simplified(text)):
            return False
    return True


def due_at(rule: Rule, now: datetime) -> datetime:
    """When a delivery of ``rule`` made ``now`` goes out: now, or its digest's time, after quiet hours."""
    local = now.astimezone(BEIJING)
    due = local
    if rule.digest is not None:
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        periods = (local - midnight) // rule.digest + 1
        due = midnight + periods * rule.digest
    quiet = rule.quiet
    if quiet is not None:
        due = _after_quiet(due, *quiet)
    return due.astimezone(now.tzinfo) if now.tzinfo else due


def _after_quiet(moment: datetime, start: int, end: int) -> datetime:
    """``moment``, or the end of the quiet hours (minutes after Beijing midnight) it falls in."""
    minute = moment.hour * 60 + moment.minute
    inside = start <= minute < end if start <= end else (minute >= start or minute < end)
    if not inside:
        return moment
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    ends = day + timedelta(minutes=end)
    return ends if ends > moment else ends + timedelta(days=1)


@lru_cache(maxsize=256)
def _query(text: str) -> Query:
    return parse(text)


@lru_cache(maxsize=256)
def _pattern(text: str) -> re.Pattern[str]:
    # the pattern's own characters folded as the text is: a Traditional 貪污 finds a Simplified 贪污
    return re.compile(to_simplified(text), re.IGNORECASE)
