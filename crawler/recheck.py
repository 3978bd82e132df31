"""Age-based re-checking of known articles, as newsdiffs does: young articles often, old ones rarely."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime

from crawler.campaigns.extract import CampaignExtractor
from crawler.config import Config
from crawler.fetch import Fetcher
from crawler.pipeline import Crawl, CrawlReport
from storage import Store


async def recheck_due(
    config: Config,
    store: Store,
    fetcher: Fetcher,
    *,
    source_id: str | None = None,
    limit: int = 500,
    now: datetime | None = None,
    campaigns: CampaignExtractor | None = None,
) -> list[CrawlReport]:
    """Re-fetch the articles whose age band says they are due; one report per source.

    Articles of sources no longer configured (or disabled) are left alone.
    """
    due = await asyncio.to_thread(store.articles_due, source_id, config.settings.recheck_schedule, now=now, limit=limit)
    by_source: dict[str, list[str]] = defaultdict(list)
    for article in due:
        by_source[article.source_id].append(article.url)
    enabled = {s.id: s for s in config.enabled_sources}
    reports = []
    for sid, urls in by_source.items():
        if sid in enabled:
            crawl = Crawl(enabled[sid], fetcher, store, campaigns=campaigns)
            reports.append(await crawl.recheck(urls))
    return reports
