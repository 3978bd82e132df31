"""One source cannot hold the crawler: a list page linking thousands of new articles is worked off a
capped number per run, the rest on the next runs, and a page of 100,000 links is read and capped."""

from __future__ import annotations

import asyncio
from pathlib import Path

from crawler.demo.mirror import Mirror
from crawler.demo.server import Page
from crawler.demo.synthetic import bulk_site
from crawler.pipeline import CrawlReport
from crawler.validate import load
from storage import Store
from tests.conftest import runtime_for


def with_cap(path: Path, cap: int) -> Path:
    path.write_text(path.read_text().replace("settings:\n", f"settings:\n  max_articles_per_crawl: {cap}\n", 1))
    return path


def fetch(config_path: Path, store: Store, source_id: str) -> CrawlReport:
    config = load(config_path)

    async def main() -> CrawlReport:
        async with runtime_for(config, store) as runtime:
            return await runtime.fetch(config.get(source_id), recheck_listed=False)

    return asyncio.run(main())


def test_the_articles_beyond_the_cap_are_fetched_by_the_next_runs(tmp_path: Path, sqlite_store: Store) -> None:
    with Mirror([bulk_site(120, per_page=120)]) as mirror:
        config = with_cap(mirror.write_config(tmp_path / "sources.yaml"), 50)
        progress = []
        for _ in range(3):
            report = fetch(config, sqlite_store, "bulk")
            progress.append((report.count("new"), report.deferred, sqlite_store.counts()["articles"]))
    assert progress == [(50, 70, 50), (50, 20, 100), (20, 0, 120)]


def test_a_list_page_of_100000_links_is_read_and_capped(tmp_path: Path, sqlite_store: Store) -> None:
    with Mirror([bulk_site(3, per_page=3)]) as mirror:
        site = mirror.sites["bulk"]
        links = "".join(
            f'<li><a href="/bulk/202407/t20240709_{i}.shtml">标题{i}</a><span>2024-07-09</span></li>' for i in range(100_000)
        )
        mirror.servers["bulk"].set(site.list_path, Page(f"<html><body><ul>{links}</ul></body></html>".encode()))
        config = with_cap(mirror.write_config(tmp_path / "sources.yaml"), 20)
        report = fetch(config, sqlite_store, "bulk")
    assert report.list_pages == 1 and len(report.articles) == 20 and report.deferred == 100_000 - 20


def test_hostile_list_pages_do_not_hold_a_healthy_source(tmp_path: Path, sqlite_store: Store) -> None:
    # Two portals serve list pages built to make parsers quadratic (nesting 100,000 deep; unclosed
    # records) while a third is healthy: all three crawls finish, and the healthy one reads its list.
    sites = [bulk_site(3, "deep", per_page=3), bulk_site(3, "records", per_page=3), bulk_site(3, "healthy", per_page=3)]
    with Mirror(sites) as mirror:
        deep = "<div>" * 100_000 + '<a href="/bulk/202401/t20240101_1.shtml">x</a>'
        records = "<record><![CDATA[" * 60_000
        for site_id, body in (("deep", deep), ("records", records)):
            page = Page(f"<html><body>{body}</body></html>".encode())
            mirror.servers[site_id].set(mirror.sites[site_id].list_path, page)
        config_path = mirror.write_config(tmp_path / "sources.yaml")
        config_path.write_text(config_path.read_text().replace("adapter: trs", "adapter: hanweb"))  # reads records
        config = load(config_path)

        async def main() -> list[CrawlReport]:
            async with runtime_for(config, sqlite_store) as runtime:
                crawls = [runtime.fetch(config.get(site), recheck_listed=False) for site in ("deep", "records", "healthy")]
                return list(await asyncio.gather(*crawls))

        reports = asyncio.run(main())
    assert [report.list_errors for report in reports] == [[], [], []]
    assert reports[2].count("new") == 3
