"""The notifier: outbox entries become deliveries by the rules, and due deliveries are sent.

One runs in every daemon process (both modes), beside the crawls and never in their way: it reads
and writes through the store's threads and sends on threads of its own. Each delivery is claimed
with a lease before it is sent and marked sent after, so a delivery goes out once however many
processes run; a process killed before sending leaves its entries in the outbox or its claims to
expire, and another (or the same, restarted) sends them. A failed send is retried with growing
pauses, then given up and shown as failed in /healthz, the web view and ``procwatch notify log``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from crawler.config import Config, Trigger
from crawler.errors import DeliveryError
from crawler.notify import destinations
from crawler.notify.messages import Message, digest, message
from crawler.notify.rules import deliveries
from storage import Store
from storage.clock import utcnow
from storage.emerging import EMERGING_MIN_SOURCES, EMERGING_WINDOW
from storage.kinds import NoticeKind
from storage.outbox import Claimed, Notice

log = logging.getLogger("procwatch.notify")

POLL = timedelta(seconds=5)  # how often the outbox is looked at when nothing wakes the notifier
EMERGING_EVERY = timedelta(minutes=30)  # how often emerging campaigns are looked for (when a rule wants them)
LAST_RETRY = timedelta(hours=1)
SENDS_AT_ONCE = 4


def retry_delay(attempts: int, first: timedelta) -> timedelta:
    """The pause after the ``attempts``-th failed send: ``first`` (notify.retry), doubling, at most an hour."""
    return min(LAST_RETRY, first * 2 ** max(0, attempts - 1))


class Notifier:
    """Dispatch and send, for the configuration ``config()`` returns now (it follows reloads)."""

    def __init__(
        self,
        store: Store,
        config: Callable[[], Config],
        *,
        link: str | None = None,
        lexicon: Callable[[], frozenset[str]] = frozenset,
        poll: timedelta = POLL,
    ):
        self.store, self.config, self.lexicon, self.poll = store, config, lexicon, poll
        self._link = link
        self._wake = asyncio.Event()
        self._emerging_checked: datetime | None = None

    @property
    def link(self) -> str | None:
        return self.config().notify.link or self._link

    def wake(self) -> None:
        """Something was recorded: look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Until ``stopping`` is set: never raises (a database or a destination that fails is logged,
        and tried again at the next round)."""
        while not stopping.is_set():
            try:
                await self.round()
            except Exception:
                log.exception("notifications: a round failed; trying again in %.0f s", self.poll.total_seconds())
            self._wake.clear()
            waits = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())}
            _, pending = await asyncio.wait(waits, timeout=self.poll.total_seconds(), return_when="FIRST_COMPLETED")
            for task in pending:
                task.cancel()

    async def round(self, *, now: datetime | None = None) -> int:
        """One pass: dispatch the outbox, look for emerging campaigns when due, send what is due.
        Returns the deliveries sent."""
        now = now or utcnow()
        await self.dispatch(now=now)
        await self._look_for_emerging(now)
        return await self.send_due(now=now)

    async def dispatch(self, *, now: datetime | None = None) -> int:
        """Turn every undispatched outbox entry into its deliveries; returns the deliveries made."""
        config, made = self.config(), 0
        sources = {s.id: s for s in config.sources}
        while True:
            notices = await self.store.run(self.store.outbox.undispatched)
            if not notices:
                return made
            rows = []
            for notice in notices:
                try:
                    rows += deliveries(notice, config.notify, sources, now=now or utcnow())
                except Exception:  # one entry that cannot be read must not hold up the others
                    log.exception("notifications: outbox entry %d (%s) skipped", notice.id, notice.kind)
            await self.store.run(self.store.outbox.dispatch, [n.id for n in notices], rows, at=now or utcnow())
            made += len(rows)

    async def _look_for_emerging(self, now: datetime) -> None:
        wanted = any(Trigger.emerging in rule.events for rule in self.config().notify.rules)
        if not wanted or (self._emerging_checked and now - self._emerging_checked < EMERGING_EVERY):
            return
        self._emerging_checked = now
        found = await self.store.run(
            self.store.campaigns.emerging,
            since=now - EMERGING_WINDOW,
            min_sources=EMERGING_MIN_SOURCES,
            exclude=self.lexicon(),
        )
        rows = [
            {
                "key": f"emerging:{e.campaign.id}",
                "kind": str(NoticeKind.emerging),
                "campaign_id": e.campaign.id,
                "source_id": e.campaign.first_source_id,
                "note": f"{len(e.sources)} 个来源、{e.articles} 篇文章提到",
                "at": now,
            }
            for e in found
        ]
        if rows:
            await self.store.run(self.store.outbox.add, rows)
            await self.dispatch(now=now)

    async def send_due(self, *, now: datetime | None = None) -> int:
        """Send every due delivery (digests as one message per rule and destination)."""
        sent = 0
        while True:
            moment = now or utcnow()
            claimed = await self.store.run(self.store.outbox.claim, now=moment, lease=self.config().notify.lease)
            if not claimed:
                return sent
            notices = await self.store.run(self.store.outbox.notices, [c.outbox_id for c in claimed])
            groups: dict[tuple[object, ...], list[Claimed]] = defaultdict(list)
            rules = {rule.name: rule for rule in self.config().notify.rules}
            for delivery in claimed:
                rule = rules.get(delivery.rule)
                together = rule is not None and rule.digest is not None  # a digest: one message for all
                groups[(delivery.rule, delivery.destination) if together else (delivery.id,)].append(delivery)
            at_once = asyncio.Semaphore(SENDS_AT_ONCE)  # a few destinations at a time, each on its own thread
            results = await asyncio.gather(*(self._send(group, notices, at_once) for group in groups.values()))
            sent += sum(results)

    async def _send(self, group: list[Claimed], notices: dict[int, Notice], at_once: asyncio.Semaphore) -> int:
        config = self.config()
        first = group[0]
        ids = [d.id for d in group]
        url = config.notify.destinations.get(first.destination)
        rule = next((r for r in config.notify.rules if r.name == first.rule), None)
        if url is None or rule is None:
            missing = f"destination {first.destination!r}" if url is None else f"rule {first.rule!r}"
            await self.store.run(
                self.store.outbox.failed, ids, error=f"{missing} is no longer configured", retry_at=None
            )
            return 0
        sources = {s.id: s for s in config.sources}
        items = [notices[d.outbox_id] for d in group if d.outbox_id in notices]
        try:
            text: Message = (
                digest(rule.name, items, sources, link=self.link)
                if rule.digest
                else message(items[0], sources, link=self.link, rule=rule.name)
            )
            async with at_once:
                await asyncio.to_thread(
                    destinations.send, url, text.title, text.body, timeout=config.notify.timeout.total_seconds()
                )
        except Exception as exc:  # the destination's refusal, or a bug: this message only, retried
            if not isinstance(exc, DeliveryError):
                log.exception("notification %s to %s could not be made", ids, first.destination)
            attempts = max(d.attempts for d in group)
            retry = (
                None if attempts >= config.notify.attempts else utcnow() + retry_delay(attempts, config.notify.retry)
            )
            log.warning(
                "notification to %s (rule %s) failed, attempt %d: %s%s",
                first.destination,
                rule.name,
                attempts,
                exc,
                "; giving up" if retry is None else f"; again in {(retry - utcnow()).total_seconds():.0f} s",
            )
            error = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            await self.store.run(self.store.outbox.failed, ids, error=error, retry_at=retry)
            return 0
        await self.store.run(self.store.outbox.delivered, ids, at=utcnow())
        log.info("notified %s (rule %s): %s", first.destination, rule.name, text.title)
        return len(group)


def send_sample(config: Config, rule_name: str, *, link: str | None = None) -> list[tuple[str, str | None]]:
    """``procwatch notify test``: a sample message to each destination of a rule, now, outside the
    outbox; (destination, error or None) for each."""
    from crawler.notify.messages import sample

    rule = next(r for r in config.notify.rules if r.name == rule_name)
    text = message(sample(rule.name), {}, link=config.notify.link or link, rule=rule.name)
    out: list[tuple[str, str | None]] = []
    for name in rule.to:
        try:
            destinations.send(
                config.notify.destinations[name], text.title, text.body, timeout=config.notify.timeout.total_seconds()
            )
            out.append((name, None))
        except DeliveryError as exc:
            out.append((name, str(exc)))
    return out
