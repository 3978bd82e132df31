"""Probing a source: does its list page answer, link articles, and lead to an article we can extract?

What ``procwatch check`` runs for every configured source. A probe stores nothing; it uses the same
fetcher and adapter as a crawl, so a verdict here is what a crawl would meet.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from crawler.access import Access
from crawler.adapters import Adapter
from crawler.config import Source
from crawler.errors import Blocked, ExtractionError, FetchError, RobotsDisallowed, TlsError
from crawler.fetch import Fetcher
from crawler.listing import on_source_sites


class Verdict(StrEnum):
    ok = "ok"
    no_links = "no links"
    blocked = "blocked"
    unreachable = "unreachable"
    tls = "TLS"
    extraction_empty = "extraction empty"


@dataclass(frozen=True)
class Probe:
    source: str
    verdict: Verdict
    detail: str = ""
    list_url: str = ""
    links: int = 0
    article_url: str | None = None
    title: str | None = None
    published: str | None = None
    body_chars: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": str(self.verdict)}


def classify(exc: FetchError) -> Verdict:
    """Why a page could not be had, as a verdict."""
    if isinstance(exc, Blocked | RobotsDisallowed):
        return Verdict.blocked
    if isinstance(exc, TlsError):
        return Verdict.tls
    return Verdict.unreachable


async def probe(source: Source, adapter: Adapter, fetcher: Fetcher, access: Access) -> Probe:
    """One list page, its article links, the newest article extracted, fetched as the crawl would
    (through the source's proxy, and the browser where it needs one)."""
    started = time.perf_counter()
    list_url = str(source.lists[0])

    def done(verdict: Verdict, detail: str = "", **fields: Any) -> Probe:
        elapsed = round(time.perf_counter() - started, 2)
        line = detail.splitlines()[0][:300] if detail else ""
        return Probe(source.id, verdict, line, list_url, **fields, seconds=elapsed)

    try:
        response = await fetcher.get(list_url, access=access)
    except FetchError as exc:
        return done(classify(exc), str(exc))
    if response.gone:
        return done(Verdict.unreachable, f"{list_url}: HTTP {response.status}")
    text = response.decode(source.encoding).text
    page = await asyncio.to_thread(adapter.parse_list, text, response.url)
    links = [link for link in page.links if on_source_sites(link.url, response.url, source.homepage, source.hosts)]
    if not links:
        return done(Verdict.no_links, f"no article links recognised on {response.url}")
    article_url = links[0].url
    try:
        article = await fetcher.get(article_url, access=access)
    except FetchError as exc:
        return done(classify(exc), f"article: {exc}", links=len(links), article_url=article_url)
    if article.gone:
        return done(Verdict.unreachable, f"article: HTTP {article.status}", links=len(links), article_url=article_url)
    decoded = article.decode(source.encoding)
    try:
        extracted = await asyncio.to_thread(adapter.parse_article, decoded.text, article_url, encoding=decoded.encoding)
    except ExtractionError as exc:
        return done(Verdict.extraction_empty, str(exc), links=len(links), article_url=article_url)
    fields: dict[str, Any] = {
        "links": len(links),
        "article_url": article_url,
        "title": extracted.title or None,
        "published": extracted.published_at.isoformat() if extracted.published_at else None,
        "body_chars": len(extracted.body_text.strip()),
    }
    if not fields["body_chars"] or not extracted.title:
        missing = "no body text" if not fields["body_chars"] else "no title"
        return done(Verdict.extraction_empty, f"{article_url}: {missing}", **fields)
    return done(Verdict.ok, **fields)
