"""The fault suite: every kind of misbehaviour is recorded against its source; the rest keep running.

Twenty-one fault kinds, one source each (each on its own port, so per-host politeness does not
serialise them), crawled in one cycle together with a healthy source, with memory watched.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from crawler.campaigns import extract_campaigns
from crawler.config import load_config
from crawler.dates import BEIJING
from storage import Store
from tests.conftest import runtime_for
from tests.support.faults import ARTICLE, FAULTS, Blackhole, FaultServer, gzip_bomb

# Peak Python allocations for the whole cycle, the fault server's own buffers included. Several
# near-cap (10 MB) pages are in flight at once; without the cap the 200 MB gzip bomb or the 50 MB
# body alone would exceed it.
MEMORY_LIMIT = 200_000_000


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    gzip_bomb()  # built before memory is measured: it is the server's allocation, not the crawler's
    server = FaultServer(lifetime=300).start()
    yield server
    server.stop()


def test_every_fault_is_recorded_and_the_healthy_source_still_runs(
    faults, mirror, sqlite_store: Store, tmp_path: Path
) -> None:
    blackhole = Blackhole()
    sources = [
        f"  - {{id: {fault}, name: {fault}, adapter: trs, lists: ['{faults.list_url(fault)}'], allow_private: true, schedule: {{every: 1h}}}}"
        for fault in FAULTS
    ]
    sources.append(
        f"  - {{id: connect-timeout, name: t, adapter: trs, lists: ['http://127.0.0.1:{blackhole.port}/list'], allow_private: true,"
        " schedule: {every: 1h}}"
    )
    config_path = mirror.write_config(tmp_path / "sources.yaml")
    config_path.write_text(config_path.read_text() + "\n".join(sources) + "\n")
    config = load_config(config_path)

    async def cycle() -> list:
        # deadline 6 s: the in-process fault server shares the CPU with the parse of the 30,000-level page
        options = {"timeout": 3, "deadline": 6, "retries": 1, "retry_base": 0.05, "retry_cap": 1.0, "concurrency": 32}
        async with runtime_for(config, sqlite_store, **options) as runtime:
            return await asyncio.gather(*(runtime.crawl(s.id) for s in config.sources))

    # the word segmenter's dictionaries load once per process (tens of MB): before the measurement, which is
    # about what the crawl holds at once
    extract_campaigns("深入开展“检察护企”专项行动")
    tracemalloc.start()
    try:
        reports = asyncio.run(asyncio.wait_for(cycle(), 120))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        blackhole.close()

    assert all(report is not None for report in reports)  # no crawl raised
    assert peak < MEMORY_LIMIT, f"peak Python memory {peak / 1e6:.0f} MB"
    states = sqlite_store.sources.source_states()
    assert states["spp"].consecutive_failures == 0 and states["spp"].last_error is None
    assert len(sqlite_store.browse.latest_articles(100, source_ids=["spp"])) == 2

    timeout = states["connect-timeout"]
    assert timeout.consecutive_failures == 1 and "timed out" in timeout.last_error

    for fault, (_, expected) in FAULTS.items():
        url = faults.url(ARTICLE.format(fault=fault), fault)
        stored = sqlite_store.history.get_article(url)
        if expected == "stored":
            assert stored is not None, (fault, states[fault].last_error)
        else:
            assert stored is None, fault
            assert states[fault].last_error and expected in states[fault].last_error, (fault, states[fault].last_error)
            assert states[fault].consecutive_failures == 0  # the source answered; one article failed

    def body(fault: str) -> tuple[str, str, datetime | None]:
        found = sqlite_store.history.get_article(faults.url(ARTICLE.format(fault=fault), fault))
        version = found.versions[-1]
        return version.title, version.body_text, version.published_at

    assert body("wrong-charset")[0] == "错标字符集的页面"
    title, text, _ = body("nul-control")
    assert "\x00" not in title + text and "\x07" not in title and "\x0b" not in text and title == "控制字符标题"
    assert "清风护企" in body("nested-html")[1]  # found by the density fallback despite 30,000 unclosed levels
    assert "属性很长" in body("attribute-10mb")[1]
    assert body("impossible-dates")[2] == datetime(2024, 1, 1, tzinfo=BEIJING)  # from the URL, not 2023-02-30
    assert len(FAULTS) + 1 >= 15  # fault kinds covered, counting the connect timeout


def test_entity_expansion_in_a_feed_source_is_inert(faults, sqlite_store, tmp_path) -> None:
    from crawler.adapters.feed import FeedAdapter
    from crawler.config import Source

    laughs = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    rss = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{laughs}]><rss version="2.0"><channel><title>&l9;</title>'
        "<item><title>&l9;</title><link>http://127.0.0.1:1/a/x/202401/t20240101_1.shtml</link></item>"
        "</channel></rss>"
    )
    source = Source(
        id="rss", name="rss", adapter="feed", lists=["http://127.0.0.1:1/rss.xml"], schedule={"every": "1h"}
    )
    tracemalloc.start()
    try:
        page = FeedAdapter(source).parse_list(rss, "http://127.0.0.1:1/rss.xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # nothing was expanded (expat alone would reach ~70 MB before its guard trips)
    assert [(link.url, link.title) for link in page.links] == [
        ("http://127.0.0.1:1/a/x/202401/t20240101_1.shtml", "&l9;")
    ]
    assert "lol" not in repr(page)
