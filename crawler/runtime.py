"""The composition root: everything a crawl needs, built in one place from one configuration.

Every command and both daemon modes go through :class:`Runtime`: it holds the configuration, the
store, the fetcher (rebuilt when the settings that shape it change), the adapters, the campaign
extractor and the metrics, and offers the jobs a trigger runs: :meth:`Runtime.crawl`,
:meth:`Runtime.recheck`, :meth:`Runtime.rebuild_feeds`. APScheduler (one machine) and procrastinate
(a cluster) only decide *when* those jobs run.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from sqlalchemy.exc import DBAPIError

from crawler.access import Access
from crawler.adapters import Adapter, resolve
from crawler.campaigns import CampaignExtractor
from crawler.campaigns.lexicon import load_lexicon
from crawler.config import Config, FetchMode, Settings, Source
from crawler.daemon.options import DaemonOptions
from crawler.dates import beijing_iso
from crawler.errors import RetryableCrawlError
from crawler.fetch import MAX_HOST_CLIENTS, Fetcher
from crawler.metrics import Metrics
from crawler.pipeline import Crawl, CrawlReport, FetchLog, ProgressHook, log_fetch
from crawler.validate import load, search_path
from feeds.catalog import SourceCatalog
from storage import BackoffPolicy, Store
from storage.clock import utcnow
from storage.db import analyze
from storage.retry import busy, lost_race
from storage.sources import health_report

HEALTH_DATABASE_TIMEOUT = 5.0  # seconds /healthz waits for the database before saying it does not answer
_HEALTH_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-read")

log = logging.getLogger("procwatch.runtime")
__all__ = ["ConfigChanges", "RetryableCrawlError", "Runtime", "compare", "load"]


@dataclass(frozen=True)
class ConfigChanges:
    """What a reload changed, for the log."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)  # names of crawler-wide settings that changed

    def __str__(self) -> str:
        parts = [
            f"{len(self.added)} added" + (f" ({', '.join(self.added)})" if self.added else ""),
            f"{len(self.removed)} removed" + (f" ({', '.join(self.removed)})" if self.removed else ""),
            f"{len(self.changed)} changed" + (f" ({', '.join(self.changed)})" if self.changed else ""),
        ]
        if self.settings:
            parts.append(f"settings changed: {', '.join(self.settings)}")
        return ", ".join(parts)


def compare(old: Config, new: Config) -> ConfigChanges:
    before = {s.id: s for s in old.enabled_sources}
    after = {s.id: s for s in new.enabled_sources}
    return ConfigChanges(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        changed=sorted(i for i in after.keys() & before.keys() if after[i] != before[i]),
        settings=[name for name in Settings.model_fields if getattr(old.settings, name) != getattr(new.settings, name)],
    )


# Settings the fetcher is built from: a change to one of these means a new fetcher.
RECHECK_EVERY = DaemonOptions.recheck_every  # the daemon's default re-check cycle (--recheck-every)
FETCHER_SETTINGS = (
    "user_agent",
    "concurrency",
    "min_delay",
    "timeout",
    "max_bytes",
    "max_redirects",
    "retries",
    "browser",
)


class Runtime:
    """The one builder of fetcher, adapters, extractor and crawls. Use as an async context manager."""

    def __init__(
        self,
        config: Config,
        store: Store | None,
        *,
        metrics: Metrics | None = None,
        backoff: BackoffPolicy | None = None,
        feeds_out: Path | None = None,
        base_url: str = "",
        on_fetch: Callable[[FetchLog], None] | None = None,
        fetcher_options: Mapping[str, Any] | None = None,
    ):
        self.config, self._store = config, store
        self.metrics = metrics or Metrics()
        self.backoff = backoff
        self.feeds_out, self.base_url = feeds_out, base_url
        self._on_fetch_hook = on_fetch
        self._fetcher_options = dict(fetcher_options or {})  # tests and benchmarks: no politeness delays
        self._fetcher: Fetcher | None = None
        self._retired: set[asyncio.Task[None]] = set()  # fetchers replaced by a reload, closing later
        self._campaigns = self._extractor(config)
        self._adapters: dict[str, Adapter] = {}
        # failures the database could not take (disk full, database gone): kept here so that health
        # still shows them and the back-off still applies, until a crawl succeeds again
        self._unrecorded: dict[str, _Unrecorded] = {}
        self.on_change: list[Callable[[], None]] = []  # called after a crawl or re-check recorded something

    # -- life cycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._fetcher = self._build_fetcher(self.config)
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for task in self._retired:
            task.cancel()  # closes the old fetcher now (see _close_later)
        if self._retired:
            await asyncio.wait(self._retired)
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("this runtime was built without a database (procwatch extract)")
        return self._store

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            raise RuntimeError("the runtime is not open: use 'async with Runtime(...)'")
        return self._fetcher

    def _build_fetcher(self, config: Config) -> Fetcher:
        options: dict[str, object] = {"max_clients": client_bound(config), **self._fetcher_options}
        return Fetcher.from_settings(config.settings, **options)

    @staticmethod
    def _extractor(config: Config) -> CampaignExtractor:
        return CampaignExtractor(load_lexicon(config.lexicon_path))

    async def reload(self, new: Config) -> ConfigChanges:
        """Take a new configuration: new adapters and lexicon, and a new fetcher if its settings changed
        (crawls in flight finish with the old one, which is closed once they are done)."""
        changes = compare(self.config, new)
        extractor = await asyncio.to_thread(self._extractor, new)
        old_fetcher = self._fetcher
        if old_fetcher is not None and any(name in FETCHER_SETTINGS for name in changes.settings):
            self._fetcher = self._build_fetcher(new)
            task = asyncio.create_task(self._close_later(old_fetcher))
            self._retired.add(task)  # a reference, so the task is not collected
            task.add_done_callback(self._retired.discard)
        elif old_fetcher is not None:  # sources added or removed: as many hosts' connections kept
            old_fetcher.max_clients = client_bound(new)
        self.config, self._campaigns, self._adapters = new, extractor, {}
        log.info("configuration reloaded: %s", changes)
        return changes

    @staticmethod
    async def _close_later(fetcher: Fetcher, after: float = 120.0) -> None:
        try:
            await asyncio.sleep(after)  # crawls in flight keep using it; closing early would fail them
        finally:
            await fetcher.aclose()

    # -- building blocks ---------------------------------------------------------------------------

    def catalog(self) -> SourceCatalog:
        """What the feeds need: the configured sources and the names the lexicon already knows."""
        return SourceCatalog(self.config.sources, frozenset(self._campaigns.lexicon.kinds))

    def adapter(self, source: Source) -> Adapter:
        adapter = self._adapters.get(source.id)
        if adapter is None or adapter.source != source:
            adapter = resolve(source.adapter, search=search_path(self.config))(source)
            self._adapters[source.id] = adapter
        return adapter

    def crawl_of(self, source: Source, **options: Any) -> Crawl:
        """The one construction of a :class:`Crawl`; ``options`` are its settings (limit, dry_run ...)."""
        return Crawl(
            source,
            self.adapter(source),
            self.fetcher,
            self.store,
            Access.of(source, self.config.settings),
            campaigns=self._campaigns,
            on_fetch=self._on_fetch,
            max_articles=self.config.settings.max_articles_per_crawl,
            catch_up=self.config.settings.catch_up_pages,
            captures=self.config.settings.captures,
            **options,
        )

    def _on_fetch(self, entry: FetchLog) -> None:
        (self._on_fetch_hook or log_fetch)(entry)
        self.metrics.observe_fetch(entry)

    def source(self, source_id: str) -> Source | None:
        return next((s for s in self.config.enabled_sources if s.id == source_id), None)

    # -- jobs --------------------------------------------------------------------------------------

    async def fetch(self, source: Source, *, progress: ProgressHook | None = None, **options: Any) -> CrawlReport:
        """Crawl one source now, on demand (``procwatch fetch``): no back-off, failures in the report."""
        report = await self.crawl_of(source, progress=progress, **options).run()
        self.metrics.observe_report(report)
        return report

    async def crawl(
        self, source_id: str, *, respect_backoff: bool = True, raise_retryable: bool = False
    ) -> CrawlReport | None:
        """One scheduled crawl of one configured source. Failures are logged and recorded against the
        source; with ``raise_retryable`` one a retry could fix is raised as RetryableCrawlError."""
        source = self.source(source_id)
        if source is None:
            return None  # removed from the configuration since the job was queued
        unrecorded = self._unrecorded.get(source_id)
        if respect_backoff and unrecorded and unrecorded.backoff_until and unrecorded.backoff_until > utcnow():
            return None
        try:
            if respect_backoff:  # inside: a database that is gone fails this source's run, counted, backed off
                state = await self.store.run(self.store.sources.source_state, source_id)
                if state and state.backoff_until and state.backoff_until > utcnow():
                    log.info(
                        "%s: backing off until %s after %d failures",
                        source_id,
                        beijing_iso(state.backoff_until),
                        state.consecutive_failures,
                    )
                    return None
            # the same policy as `procwatch fetch`: every listed article is asked for conditionally
            report = await self.crawl_of(source, backoff=self.backoff).run()
        except Exception as exc:  # a bug or a broken database must not take the daemon down
            if isinstance(exc, DBAPIError | OSError):  # the database or the disk: one line, not a traceback
                log.error(
                    "%s: crawl failed: database error: %s",
                    source_id,
                    str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0],
                )
            else:
                log.exception("%s: crawl failed", source_id)
            await self._record_failure(source_id, exc)
            if raise_retryable and _retryable(exc):
                raise RetryableCrawlError(f"{source_id}: {type(exc).__name__}: {exc}") from exc
            return None
        self.metrics.observe_report(report)
        counts = ", ".join(f"{n} {k}" for k, n in report.summary().items() if n) or "nothing new"
        if report.ok:
            self._unrecorded.pop(source_id, None)
            deferred = f", {report.deferred} left for the next run" if report.deferred else ""
            log.info("%s: %d list pages, %s%s", source_id, report.list_pages, counts, deferred)
        else:
            log.warning("%s: failed: %s", source_id, "; ".join(report.list_errors)[:500])
        if report.changed_anything:
            await self._changed()
        if raise_retryable and report.retryable:
            raise RetryableCrawlError(f"{source_id}: {'; '.join(report.list_errors)[:500]}")
        return report

    async def _record_failure(self, source_id: str, exc: Exception) -> None:
        try:
            await self.store.run(
                self.store.sources.record_source_run,
                source_id,
                ok=False,
                error=f"{type(exc).__name__}: {exc}"[:2000],
                backoff=self.backoff,
            )
        except Exception:  # the database itself is what failed: remember it here instead
            log.warning("%s: the failure could not be recorded in the database either", source_id)
            previous = self._unrecorded.get(source_id)
            failures = (previous.failures if previous else 0) + 1
            until = utcnow() + self.backoff(failures) if self.backoff else None
            self._unrecorded[source_id] = _Unrecorded(failures, f"{type(exc).__name__}: {exc}"[:2000], until)

    async def recheck(
        self,
        *,
        source_id: str | None = None,
        limit: int = 500,
        now: datetime | None = None,
        every: timedelta = RECHECK_EVERY,
    ) -> list[CrawlReport]:
        """Re-fetch known articles (conditional GET); one report per source. Due are: young articles by
        their age band (newsdiffs' rhythm), and, whatever their age and whether listed or not, each
        source's longest-unchecked articles, within a budget that re-checks every stored article within
        settings.recheck_within when this runs ``every`` (see :func:`recheck_budget`). Articles of
        sources no longer configured, or disabled, are left alone."""
        settings = self.config.settings
        now = now or utcnow()
        due = await self.store.run(
            self.store.history.articles_due, source_id, settings.recheck_schedule, now=now, limit=limit
        )
        by_source: dict[str, list[str]] = defaultdict(list)
        for article in due:
            by_source[article.source_id].append(article.url)
        counts = await self.store.run(self.store.history.article_counts)
        for sid, count in counts.items():
            if (source_id is None or sid == source_id) and self.source(sid) is not None:
                stale = await self.store.run(
                    self.store.history.stalest_articles,
                    sid,
                    checked_before=now - settings.recheck_within / 2,
                    limit=recheck_budget(count, settings.recheck_within, every),
                )
                already = set(by_source.get(sid, ()))
                if urls := [a.url for a in stale if a.url not in already]:  # no entry, no empty report
                    by_source[sid] += urls
        reports = []
        for sid, urls in by_source.items():
            source = self.source(sid)
            if source is not None:
                report = await self.crawl_of(source).recheck(urls)
                self.metrics.observe_report(report)
                reports.append(report)
        return reports

    async def scheduled_recheck(self, every: timedelta = RECHECK_EVERY) -> list[CrawlReport]:
        """The daemon's periodic re-check job, run ``every`` so long: never raises; feeds follow what it
        found."""
        try:
            reports = await self.recheck(every=every)
            await self.store.run(analyze, self.store.engine, light=True)  # keep the planner's statistics fresh
        except Exception:
            log.exception("re-check failed")
            return []
        if any(r.changed_anything for r in reports):
            await self._changed()
        return reports

    async def _changed(self) -> None:
        """Something was recorded: tell who listens (the notifier), then write the static feeds."""
        for listener in self.on_change:
            listener()
        await self.rebuild_feeds()

    async def rebuild_feeds(self) -> None:
        """Write the static feeds (``--feeds-out``) after a change; the server reads the database itself."""
        if self.feeds_out is None:
            return
        from feeds.build import build_feeds

        try:
            await asyncio.to_thread(build_feeds, self.store, self.catalog(), self.feeds_out, base_url=self.base_url)
        except Exception:
            log.exception("writing feeds to %s failed", self.feeds_out)

    # -- health ------------------------------------------------------------------------------------

    def health(self, next_runs: Callable[[Iterable[str]], Mapping[str, datetime | None]]) -> dict[str, Any]:
        """Every configured, enabled source's state; ``status`` is the worst source's (storage.sources:
        failing, degraded when a crawl ran with failed pages, ok). Times are Beijing time."""
        database_error = None
        try:
            # health must answer, and say so, when the database cannot: also when it says nothing at all
            # (a stopped proxy); the one reader thread keeps stuck reads from piling up threads
            names = list(self.config.notify.destinations)
            read = _HEALTH_READER.submit(
                lambda: (self.store.sources.source_states(), self.store.outbox.destinations(names))
            )
            states, destinations = read.result(timeout=HEALTH_DATABASE_TIMEOUT)
        except FutureTimeout:
            states, destinations = {}, {}
            database_error = f"the database did not answer within {HEALTH_DATABASE_TIMEOUT:.0f} s"
        except Exception as exc:
            states, destinations = {}, {}
            database_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        enabled = [s.id for s in self.config.enabled_sources]
        upcoming = next_runs(enabled)

        def amend(source_id: str, entry: dict[str, Any]) -> None:
            entry["next_run"] = beijing_iso(upcoming.get(source_id))
            unrecorded = self._unrecorded.get(source_id)
            if unrecorded is not None:  # newer than anything the database could keep
                entry["consecutive_failures"] += unrecorded.failures
                entry["last_error"] = unrecorded.error
                entry["backoff_until"] = beijing_iso(unrecorded.backoff_until)

        report = health_report(states, enabled, database_error=database_error, amend=amend, destinations=destinations)
        if self._fetcher is not None and any(s.fetch is not FetchMode.plain for s in self.config.enabled_sources):
            report["browser"] = self._fetcher.browser_state()
        return report


def client_bound(config: Config) -> int:
    """HTTP clients (a connection pool each, kept between cycles) the fetcher keeps open: one per host
    the sources reach, and a margin for the hosts articles link to; never fewer than the default bound.
    An idle client costs about 4 kB: 1,000 hosts' reused connections are worth far more than that."""
    hosts = set()
    for source in config.sources:
        for url in (*source.lists, source.homepage or ""):
            if url:
                hosts.add(urlsplit(url).netloc.lower())
        hosts.update(host.lower() for host in source.hosts)
    return max(MAX_HOST_CLIENTS, len(hosts) + len(hosts) // 10 + 16)


def recheck_budget(articles: int, bound: timedelta, every: timedelta) -> int:
    """Re-check requests per source and cycle that keep the bound: an article becomes due once unchecked
    for half the bound, and the due queue (at most ``articles``, oldest-checked first) must drain within
    the other half: ``ceil(articles / ((bound / 2) / every))``, at least 1."""
    cycles = max(1, int((bound / 2) / every))
    return max(1, math.ceil(articles / cycles))


@dataclass(frozen=True)
class _Unrecorded:
    failures: int
    error: str
    backoff_until: datetime | None


def _retryable(exc: BaseException) -> bool:
    """A database that is busy, locked or unreachable for now (not a bug, not a constraint)."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or lost_race(exc) or busy(exc)
    return isinstance(exc, OSError | TimeoutError)
