"""One crawl of one source: list pages -> new (and re-checked) articles -> storage.

The same code serves ``procwatch fetch``, the daemon and cluster workers (built by crawler.runtime).
A fetch or extraction failure is recorded against the source and reported; a storage failure is
recorded too (if the database still takes it) and raised: the crawl failed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from crawler.access import Access
from crawler.adapters import Adapter
from crawler.campaigns.extract import CampaignExtractor
from crawler.config import CaptureKeep, Source
from crawler.errors import Blocked, ExtractionError, FetchError
from crawler.extract import ExtractedArticle
from crawler.fetch import Conditional, Fetcher, Response
from crawler.listing import ListedLink, on_source_sites, same_site
from storage import BackoffPolicy, Store, Validators
from storage.captures import Captured, Served
from storage.clock import utcnow

ProgressHook = Callable[[str, int, int], None]

LIST_PARSE_BUDGET = 30.0  # seconds; a list page of 20,000 links takes about 0.4 s
# CPU work runs off the event loop, on threads of its own: on the loop, one 10 MB page held every
# connection's timer (they expired as "connect timeouts") and the health endpoint; on asyncio's default
# executor, huge list pages kept name lookups (which asyncio runs there) waiting. Article extraction
# and campaign finding run one at a time (OpenCC and the segmenter are shared objects; with the GIL
# a second thread would add nothing).
_PARSERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="list-parse")
_EXTRACTORS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract")
T = TypeVar("T")


async def _off_loop(executor: ThreadPoolExecutor, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(work, *args, **kwargs))


class ArticleOutcome(StrEnum):
    """What happened to one listed or re-checked article; the first five are storage's outcomes."""

    new = "new"
    changed = "changed"
    reverted = "reverted"
    unchanged = "unchanged"
    duplicate = "duplicate"
    not_modified = "not_modified"  # 304: the validators we hold still hold
    removed = "removed"
    blocked = "blocked"
    error = "error"


FAILED = (ArticleOutcome.error, ArticleOutcome.blocked)
CHANGED = (ArticleOutcome.new, ArticleOutcome.changed, ArticleOutcome.removed)


@dataclass
class ArticleResult:
    url: str
    outcome: ArticleOutcome
    title: str = ""
    published_at: datetime | None = None
    content_hash: str = ""
    body_chars: int = 0
    error: str | None = None
    duplicate_of: str | None = None
    version_id: int | None = None
    article_id: int | None = None
    extracted: ExtractedArticle | None = None  # kept on dry runs, to show what would be stored


@dataclass
class CrawlReport:
    """What one crawl of one source did."""

    source: str
    started: datetime = field(default_factory=utcnow)
    finished: datetime | None = None
    list_pages: int = 0
    list_errors: list[str] = field(default_factory=list)
    articles: list[ArticleResult] = field(default_factory=list)
    requests: int = 0
    retryable: bool = False  # no list page was read, for a reason a later attempt may not meet
    deferred: int = 0  # listed articles left for the next run (the per-crawl cap)

    def count(self, outcome: ArticleOutcome) -> int:
        return sum(1 for a in self.articles if a.outcome == outcome)

    @property
    def ok(self) -> bool:
        """The source answered: at least one list page was read."""
        return self.list_pages > 0

    @property
    def errors(self) -> list[str]:
        return self.list_errors + [f"{a.url}: {a.error}" for a in self.articles if a.outcome in FAILED]

    @property
    def changed_anything(self) -> bool:
        return any(a.outcome in CHANGED for a in self.articles)

    def summary(self) -> dict[str, int]:
        return {str(outcome): self.count(outcome) for outcome in ArticleOutcome}

    def to_json(self) -> dict[str, Any]:
        counts = self.summary()
        return {
            "source": self.source,
            "new": counts["new"],
            "changed": counts["changed"],
            "unchanged": counts["unchanged"] + counts["not_modified"],
            "duplicates": counts["duplicate"],
            "removed": counts["removed"],
            "blocked": counts["blocked"],
            "list_pages": self.list_pages,
            "deferred": self.deferred,
            "requests": self.requests,
            "errors": self.errors,
            "articles": [
                {
                    "url": a.url,
                    "title": a.title,
                    "published_at": a.published_at.isoformat() if a.published_at else None,
                    "outcome": a.outcome,
                    "content_hash": a.content_hash or None,
                    "body_chars": a.body_chars,
                    **({"error": a.error} if a.error else {}),
                    **({"duplicate_of": a.duplicate_of} if a.duplicate_of else {}),
                    **({"extracted": extracted_json(a.extracted)} if a.extracted else {}),
                }
                for a in self.articles
            ],
        }


@dataclass(frozen=True)
class FetchLog:
    """One HTTP fetch as logs and metrics see it."""

    source: str
    url: str
    status: int | None
    bytes: int
    elapsed: float
    outcome: str  # list | new | changed | ... | blocked | error


FetchHook = Callable[[FetchLog], None]
log = logging.getLogger("procwatch.fetch")


def log_fetch(entry: FetchLog) -> None:
    """The default fetch hook: one structured log line per fetch."""
    log.info(
        "%s %s %s %dB %.2fs %s",
        entry.source,
        entry.status or "-",
        entry.url,
        entry.bytes,
        entry.elapsed,
        entry.outcome,
        extra={"fetch": entry},
    )


@dataclass
class _Run:
    """What one run of a crawl accumulates; a :class:`Crawl` itself holds only settings."""

    report: CrawlReport
    list_responses: dict[str, Response] = field(default_factory=dict)  # validators saved at the end
    vanished: list[str] = field(default_factory=list)  # links that left a list page from its middle
    snapshots: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # list -> (vanished, shown)
    asked: set[str] = field(default_factory=set)  # URLs the archive was asked about this run
    known: set[str] = field(default_factory=set)  # of those, the ones it holds

    async def known_of(self, store: Store, urls: list[str]) -> set[str]:
        """Which of ``urls`` the archive holds, asking only about those not asked already this run."""
        new = [url for url in dict.fromkeys(urls) if url not in self.asked]
        if new:
            self.known |= await store.run(store.history.known_urls, new)
            self.asked.update(new)
        return {url for url in urls if url in self.known}


@dataclass
class Crawl:
    """Settings for crawling one source with a shared fetcher and store (built by crawler.runtime)."""

    source: Source
    adapter: Adapter
    fetcher: Fetcher
    store: Store
    access: Access  # how the source's pages are reached (TLS, robots, proxy, browser)
    limit: int | None = None
    backfill: int = 0
    dry_run: bool = False
    recheck_listed: bool = True
    progress: ProgressHook | None = None
    campaigns: CampaignExtractor | None = None  # finds campaign mentions, stored with each version
    on_fetch: FetchHook = log_fetch
    backoff: BackoffPolicy | None = None  # set by the daemon: a failing source waits before its next run
    max_articles: int | None = None  # articles fetched per run at most (settings.max_articles_per_crawl)
    catch_up: int = 0  # older list pages read, without --backfill, while the lists changed (settings.catch_up_pages)
    captures: CaptureKeep = CaptureKeep.every  # which responses are kept as served (settings.captures)

    async def run(self) -> CrawlReport:
        run = _Run(CrawlReport(self.source.id))
        report = run.report
        requests_before = self.fetcher.requests_sent
        cancelled, crashed = False, None
        try:
            links = await self._collect_links(run)
            if report.ok:
                await self._fetch_articles(links, run)
                await self._settle_snapshots(run)
                # The list pages' validators last, and only when every listed article was stored: else
                # the next run must read the lists again to find the ones that failed.
                if not report.deferred and not any(article.outcome in FAILED for article in report.articles):
                    for url, response in run.list_responses.items():
                        await self._save_validators(url, response)
        except asyncio.CancelledError:
            cancelled = True  # shutting down: an interrupted crawl is not a failure of the source
            raise
        except Exception as exc:  # e.g. the database refused a write (disk full): the crawl failed
            crashed = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            report.finished = utcnow()
            report.requests = self.fetcher.requests_sent - requests_before
            if not self.dry_run and not cancelled:
                await self.store.run(
                    self.store.sources.record_source_run,
                    self.source.id,
                    ok=report.ok and crashed is None,
                    # a crawl that read its list but lost some articles still says why
                    error=(crashed or "; ".join(report.errors))[:2000] or None,
                    backoff=self.backoff,
                )
        return report

    async def _settle_snapshots(self, run: _Run) -> None:
        """Drop from each list snapshot the vanished links that were checked; those that failed or were
        not reached (the per-crawl cap) stay, to be checked by the next run."""
        checked = {a.url for a in run.report.articles if a.outcome not in FAILED}
        for url, (vanished, current) in run.snapshots.items():
            pending = [u for u in vanished if u not in checked]
            if pending != vanished:
                await self.store.run(self.store.sources.update_listing, url, pending + current)

    async def _get(self, url: str, *, conditional: bool) -> Response:
        validators = (
            await self.store.run(self.store.sources.get_validators, url) if conditional and not self.dry_run else None
        )
        started = time.monotonic()
        try:
            response = await self.fetcher.get(
                url,
                conditional=Conditional(validators.etag, validators.last_modified) if validators else None,
                access=self.access,
            )
        except FetchError as exc:
            self._fetched(url, exc.status, 0, time.monotonic() - started, exc.kind)
            raise
        return response

    async def _capture(self, response: Response) -> Captured:
        headers = response.header_list or tuple(response.headers.items())
        if response.rendered:  # not the bytes served: the browser's page once its scripts ran
            headers += (("X-Procwatch-Rendered", "by the browser (fetch: browser)"),)
        served = Served(
            response.url,
            response.status,
            response.reason,
            headers,
            response.content,
            utcnow(),
            response.request_headers,
        )
        return await self.store.run(self.store.evidence.capture, served)

    async def _save_validators(self, url: str, response: Response) -> None:
        """Remember a page's ETag/Last-Modified, only once what they vouch for is stored: validators
        saved first would answer 304 next time for content that was never kept."""
        if not self.dry_run and not response.not_modified:  # a 304 confirms the validators we hold
            await self.store.run(
                self.store.writer.save_validators,
                url,
                Validators(response.headers.get("etag"), response.headers.get("last-modified"), response.status),
            )

    def _fetched(self, url: str, status: int | None, size: int, elapsed: float, outcome: str) -> None:
        self.on_fetch(FetchLog(self.source.id, url, status, size, elapsed, outcome))

    async def recheck(self, urls: list[str]) -> CrawlReport:
        """Re-fetch known articles (conditional GET): edits become versions, 404s removals."""
        report = CrawlReport(self.source.id)
        requests_before = self.fetcher.requests_sent
        for url in urls:
            report.articles.append(await self._article(ListedLink(url, "", None), known=True))
        report.finished = utcnow()
        report.requests = self.fetcher.requests_sent - requests_before
        return report

    async def _collect_links(self, run: _Run) -> list[ListedLink]:
        report = run.report
        links: dict[str, ListedLink] = {}
        first_pages = set(self.source.lists)
        # (list page, older pages still to read for --backfill, pages that may still be read to catch up)
        queue = [(url, self.backfill, 0 if self.backfill else self.catch_up) for url in self.source.lists]
        visited: set[str] = set()
        while queue:
            url, budget, catch_up = queue.pop(0)
            if url in visited:
                continue
            visited.add(url)
            try:
                # With re-checking on, the list must be read even when unchanged, so no validators.
                response = await self._get(url, conditional=not self.recheck_listed and self.backfill == 0)
            except FetchError as exc:
                report.list_errors.append(str(exc))
                report.retryable = report.retryable or exc.retryable
                continue
            report.list_pages += 1
            self._fetched(url, response.status, len(response.content), response.elapsed, "list")
            if response.not_modified:
                continue
            if response.gone or not same_site(response.url, url):
                problem = f"HTTP {response.status}" if response.gone else f"redirected off-site to {response.url}"
                report.list_errors.append(f"{url}: list page {problem}")
                report.list_pages -= 1
                continue
            run.list_responses[url] = response
            text = response.decode(self.source.encoding).text
            # parsing a list is CPU work proportional to the page: off the event loop, so health and
            # other sources stay served while a huge page is read, and within a budget
            try:
                page = await asyncio.wait_for(
                    _off_loop(
                        _PARSERS, self.adapter.parse_list, text, response.url, backfill=budget or min(catch_up, 1)
                    ),
                    LIST_PARSE_BUDGET,
                )
            except TimeoutError:
                report.list_errors.append(f"{url}: list page not parsed within {LIST_PARSE_BUDGET:.0f} s")
                report.list_pages -= 1
                continue
            for link in page.links:
                if on_source_sites(link.url, url, self.source.homepage, self.source.hosts):  # never another site's
                    links.setdefault(link.url, link)
            current = [link.url for link in page.links]
            if url in first_pages:
                previous = await self.store.run(self.store.sources.listing, url) or []
                if not self.dry_run:
                    vanished = vanished_from_list(previous, current)
                    # What left the list stays at the head of the snapshot until it is checked: a run killed
                    # in between leaves it for the next, which finds it vanished again (_settle_snapshots).
                    await self.store.run(self.store.sources.update_listing, url, vanished + current)
                    run.vanished += vanished
                    run.snapshots[url] = (vanished, current)
                # Catching up: when the first page changed since the last crawl, what was on it may have
                # been pushed further (publications during an outage, a reordered list): read on.
                follow = catch_up > 0 and bool(previous) and set(previous) != set(current)
            else:  # a later page read to catch up: on while it shows links not stored yet
                follow = catch_up > 0 and bool(set(current) - await run.known_of(self.store, current))
            if follow and page.next_pages and page.next_pages[0] not in visited:
                queue.append((page.next_pages[0], 0, catch_up - 1))
            remaining = budget
            for next_url in page.next_pages:
                if remaining <= 0:
                    break
                if next_url not in visited:
                    queue.append((next_url, remaining - 1, 0))
                    remaining -= 1
            if self.progress:
                self.progress("list", report.list_pages, len(self.source.lists))
        return list(links.values())

    async def _fetch_articles(self, links: list[ListedLink], run: _Run) -> None:
        report = run.report
        listed = {link.url for link in links}
        links = links + [ListedLink(url, "", None) for url in run.vanished if url not in listed]
        urls = [link.url for link in links]
        known = await run.known_of(self.store, urls) if links else set()
        todo = [link for link in links if link.url not in known]
        if self.recheck_listed:
            todo += [link for link in links if link.url in known]
        else:
            # without re-checks (the daemon's list crawl): what vanished from a list, and what is listed
            # although we recorded it removed (put back: a restoration), are still looked at
            removed = await self.store.run(self.store.history.removed_urls, urls) if known else set()
            todo += [link for link in links if link.url in known and (link.url not in listed or link.url in removed)]
        if self.limit is not None:
            todo = todo[: self.limit]
        elif self.max_articles is not None and len(todo) > self.max_articles:
            # one source listing thousands of new links must not hold the fetcher for hours: the rest
            # waits for the next run (the list validators are not saved, so it reads the lists again)
            report.deferred = len(todo) - self.max_articles
            todo = todo[: self.max_articles]
        for done, link in enumerate(todo, 1):
            if self.dry_run and link.url in known:
                report.articles.append(ArticleResult(link.url, ArticleOutcome.unchanged, title=link.title))
            else:
                report.articles.append(await self._article(link, known=link.url in known))
            if self.progress:
                self.progress("article", done, len(todo))

    async def _article(self, link: ListedLink, *, known: bool) -> ArticleResult:
        try:
            response = await self._get(link.url, conditional=known)
        except Blocked as exc:  # fetch failures are logged where they happen
            return ArticleResult(link.url, ArticleOutcome.blocked, title=link.title, error=exc.message)
        except FetchError as exc:
            return ArticleResult(link.url, ArticleOutcome.error, title=link.title, error=exc.message)
        result = await self._check_article(response, link, known=known)
        self._fetched(link.url, response.status, len(response.content), response.elapsed, result.outcome)
        return result

    async def _check_article(self, response: Response, link: ListedLink, *, known: bool) -> ArticleResult:
        error = ArticleOutcome.error
        if response.not_modified:
            if not self.dry_run:
                await self.store.run(self.store.writer.touch, link.url)
            return ArticleResult(link.url, ArticleOutcome.not_modified, title=link.title)
        if not same_site(response.url, link.url):
            return ArticleResult(link.url, error, title=link.title, error=f"redirected off-site to {response.url}")
        gone = f"HTTP {response.status}" if response.gone else _redirected_home(response.url, link.url, self.source)
        if gone:
            if known and not self.dry_run:
                try:
                    answer = await self._capture(response) if self.captures is not CaptureKeep.none else None
                except OSError as exc:
                    return ArticleResult(link.url, error, title=link.title, error=f"capture not written: {exc}")
                removed = await self.store.run(self.store.writer.mark_removed, link.url, reason=gone, capture=answer)
                # The gone answer's validators replace the live page's: if the page comes back unchanged,
                # a conditional request must not answer 304 and hide the restoration.
                await self._save_validators(link.url, response)
                outcome = ArticleOutcome.removed if removed else ArticleOutcome.unchanged
                return ArticleResult(link.url, outcome, title=link.title)
            return ArticleResult(link.url, error, title=link.title, error=gone)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not any(kind in content_type for kind in ("html", "xml", "text/plain")):
            return ArticleResult(link.url, error, title=link.title, error=f"not an HTML page ({content_type})")
        decoded = response.decode(self.source.encoding)
        try:
            article = await _off_loop(
                _EXTRACTORS, self.adapter.parse_article, decoded.text, link.url, encoding=decoded.encoding
            )
        except ExtractionError as exc:
            return ArticleResult(link.url, error, title=link.title, error=str(exc).removeprefix(f"{link.url}: "))
        except Exception as exc:  # a bug on one page (e.g. in body finding) fails that page, not the crawl
            return ArticleResult(link.url, error, title=link.title, error=_page_bug(self.source.id, link.url, exc))
        if article.published_at is None and link.listed_at is not None:
            article = article.with_changes(published_at=link.listed_at)
        result = ArticleResult(
            link.url,
            ArticleOutcome.new,
            title=article.title,
            published_at=article.published_at,
            content_hash=article.content_hash,
            body_chars=len(article.body_text),
        )
        if self.dry_run:
            result.extracted = article
            return result
        text = f"{article.title}\n{article.body_text}"
        # an unchanged page adds no mentions (storage keeps them only with a new version): finding them
        # again would cost a long article seconds on every re-check
        unchanged = known and await self.store.run(self.store.history.current_hash, link.url) == article.content_hash
        try:
            finder = None if unchanged else self.campaigns
            mentions = await _off_loop(_EXTRACTORS, finder.extract, text) if finder else ()
        except Exception as exc:
            return ArticleResult(link.url, error, title=link.title, error=_page_bug(self.source.id, link.url, exc))
        # the answer as served, on disk before the version it proves is stored (an unchanged page: none)
        wanted = self.captures is CaptureKeep.every or (self.captures is CaptureKeep.changes and known)
        try:
            capture = await self._capture(response) if wanted and not unchanged else None
        except OSError as exc:
            return ArticleResult(link.url, error, title=link.title, error=f"capture not written: {exc}")
        # the validators in the same transaction as the version they vouch for
        validators = Validators(response.headers.get("etag"), response.headers.get("last-modified"), response.status)
        stored = await self.store.submit(
            self.source.id,
            article,
            mentions=mentions,
            validators=(link.url, validators),
            baseline=self.backfill > 0,
            capture=capture,
        )
        result.outcome = ArticleOutcome(stored.kind)
        result.duplicate_of, result.version_id, result.article_id = (
            stored.duplicate_of,
            stored.version_id,
            stored.article_id,
        )
        return result


def _page_bug(source_id: str, url: str, exc: Exception) -> str:
    """One line for a page whose handling raised unexpectedly: logged once with its URL (the traceback
    only at DEBUG), and returned as the page's error, which reports and the source's health show."""
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    log.warning("%s: %s: page failed: %s", source_id, url, reason)
    log.debug("%s: %s: traceback", source_id, url, exc_info=exc)
    return reason


def extracted_json(article: ExtractedArticle) -> dict[str, Any]:
    """What would be stored for an article, and the rule that found each field."""
    return {
        "status": article.status,
        "meta_published_at": article.meta_published_at.isoformat() if article.meta_published_at else None,
        "source_label": article.source_label,
        "author": article.author,
        "attachments": list(article.attachments),
        "rules": article.rules,
        "body_text": article.body_text,
    }


def vanished_from_list(previous: list[str], current: list[str]) -> list[str]:
    """Links that left a list page while older links are still on it: deleted, not pushed down.

    List pages show newest first, so an article that merely scrolled off takes everything after
    it along; one that disappears from the middle was taken down (or moved) and is worth a check.
    """
    still = set(current)
    out = []
    older_still = False  # whether a link after this one in ``previous`` is still listed
    for url in reversed(previous):  # one pass from the oldest: a scan of the rest per link was quadratic
        if url in still:
            older_still = True
        elif older_still:
            out.append(url)
    return out[::-1]


_HOME_PATHS = {"", "/", "/index.html", "/index.htm", "/index.shtml", "/index.jsp", "/default.html", "/default.htm"}


def _redirected_home(final_url: str, requested: str, source: Source) -> str | None:
    """Portals often answer a deleted article with a redirect to the home page instead of a 404."""
    if final_url == requested:
        return None
    path = urlsplit(final_url).path
    if path in _HOME_PATHS or (source.homepage and final_url.rstrip("/") == source.homepage.rstrip("/")):
        return f"redirected to the home page ({final_url})"
    return None
