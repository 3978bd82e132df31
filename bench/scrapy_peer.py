"""The crawl benchmark's peer: a minimal Scrapy spider (list pages, then each article's title).

Settings mirror procwatch's: robots.txt obeyed, one request at a time per host, no delay, the same
global concurrency; the portals' names resolve to 127.0.0.1.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer

DOMAIN = "bench.gov.cn"


class LocalResolver(CachingThreadedResolver):
    """The portals' host names are 127.0.0.1 (what LocalPortals does for procwatch)."""

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        if name.endswith(DOMAIN):
            return defer.succeed("127.0.0.1")
        return super().getHostByName(name, timeout)


class PortalSpider(scrapy.Spider):
    name = "portals"

    def __init__(self, lists: list[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.lists = lists
        self.titles = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.lists:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> Iterator[scrapy.Request]:  # type: ignore[override]
        links = [response.urljoin(href) for href in response.css("li a::attr(href)").getall()]
        yield from self._next(links)

    def parse_article(self, response: Response) -> Iterator[dict[str, str | None] | scrapy.Request]:
        self.titles += 1
        yield {"title": response.css('meta[name="ArticleTitle"]::attr(content)').get()}
        yield from self._next(response.meta["rest"])

    def _next(self, links: list[str]) -> Iterator[scrapy.Request]:
        # A host's articles one after another: Scrapy 2.19 starts every queued request of a host at
        # once whatever CONCURRENT_REQUESTS_PER_DOMAIN says (its slot counts a request only when its
        # download has begun), so the spider keeps the one-request-per-host rule itself.
        if links:
            yield scrapy.Request(links[0], callback=self.parse_article, meta={"rest": links[1:]})


def crawl(lists: list[str], *, concurrency: int, domain: str) -> dict[str, Any]:
    """Crawl once; wall and CPU seconds from the spider's opening to its closing."""
    assert domain == DOMAIN
    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": True,
        "TWISTED_DNS_RESOLVER": f"{__name__}.LocalResolver",
        "LOG_LEVEL": "ERROR",
        "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "RETRY_ENABLED": True,
    }
    times: dict[str, float] = {}

    def opened() -> None:
        times["started"], times["cpu"] = time.perf_counter(), time.process_time()

    def closed() -> None:
        times["seconds"] = time.perf_counter() - times["started"]
        times["cpu"] = time.process_time() - times["cpu"]

    process = CrawlerProcess(settings=settings)
    crawler = process.create_crawler(PortalSpider)
    crawler.signals.connect(opened, signal=signals.spider_opened)
    crawler.signals.connect(closed, signal=signals.spider_closed)
    process.crawl(crawler, lists=lists)
    process.start()
    assert crawler.spider is not None
    return {
        "seconds": times["seconds"],
        "cpu": times["cpu"],
        "titles": crawler.spider.titles,
        "version": scrapy.__version__,
    }
