"""Crawls against the local mirror: first fetch, steady state, edits, removals, blocks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import feedparser

from crawler.config import load_config
from crawler.demo.server import Page
from crawler.pipeline import CrawlReport
from tests.conftest import crawl, runtime_for
from tests.support.cli import procwatch as cli

ROOT = Path(__file__).resolve().parents[2]


def test_first_crawl_stores_every_article_once_with_dates_in_beijing_time(mirror, sqlite_store, tmp_path) -> None:
    reports = {site_id: crawl(mirror, sqlite_store, tmp_path, site_id, backfill=5) for site_id in mirror.sites}
    assert all(r.ok and not r.errors for r in reports.values())
    assert [reports[s].count("new") for s in ("spp", "scjcy", "zfw")] == [3, 1, 1]
    # The Traditional repost of the SPP meeting is one article with one republication link.
    (repost,) = [a for a in reports["scjcy"].articles if a.outcome == "duplicate"]
    assert repost.duplicate_of.endswith("/spp/xwfbh/202407/t20240709_660012.shtml")
    articles = sqlite_store.browse.latest_articles(100)
    counts = sqlite_store.counts()
    assert len(articles) == counts["articles"] == counts["versions"] == 5 and counts["republications"] == 1
    (republication,) = sqlite_store.history.republications(repost.article_id)
    assert republication.source_id == "scjcy" and 0.8 <= republication.similarity <= 1.0
    assert "系統內巡視" in republication.body_text  # the repost's own text is kept
    assert "全省高级检察官研讨班开班" in {a.title for a in articles}
    for article in articles:
        assert article.published_at is not None


def test_a_first_crawl_reads_older_list_pages_only_when_backfilling(mirror, sqlite_store, tmp_path) -> None:
    shallow = crawl(mirror, sqlite_store, tmp_path, "spp", dry_run=True)
    deep = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3, dry_run=True)
    assert (shallow.list_pages, len(shallow.articles)) == (1, 2)
    assert (deep.list_pages, len(deep.articles)) == (2, 3)
    assert sqlite_store.counts()["articles"] == 0  # dry run stores nothing


def test_articles_pushed_off_the_first_page_between_crawls_are_caught_up(mirror, sqlite_store, tmp_path) -> None:
    # Three publications while procwatch was away: the first page shows two, the third sits on page 2.
    site = mirror.sites["spp"]
    first = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert first.list_pages == 1 and first.count("new") == 2
    others = [article for other in ("scjcy", "zfw") for article in mirror.sites[other].articles]
    for number in (1, 2, 3):
        site.articles.insert(
            0,
            replace(
                site.articles[0],
                path=f"/xwfbh/wsfbt/202405/t2024050{number}_99000{number}.shtml",
                title=f"检察机关发布第{number}批典型案例",
                body=others[number - 1].body,  # the mirror's second text repeats one of spp's: a duplicate
            ),
        )
    mirror.publish("spp")
    caught_up = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    seen = {a.url: a.outcome for a in caught_up.articles}
    published = [mirror.url("spp", f"/xwfbh/wsfbt/202405/t2024050{n}_99000{n}.shtml") for n in (1, 2, 3)]
    assert caught_up.list_pages >= 2 and [seen.get(url) for url in published] == ["new", "duplicate", "new"]
    steady = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    assert steady.list_pages == 1 and steady.count("new") == 0  # a list that did not change: its first page only


def test_second_crawl_adds_nothing_and_uses_conditional_requests(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    server = mirror.servers["spp"]
    server.conditional_requests.clear()
    report = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    assert report.count("new") == report.count("changed") == 0
    assert report.count("not_modified") == 3
    assert sum(server.conditional_requests.values()) == 3
    assert sqlite_store.counts()["versions"] == 3


def test_steady_state_without_rechecks_fetches_list_pages_only(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    server = mirror.servers["spp"]
    server.requests.clear()
    report = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    assert report.articles == []
    assert set(server.requests) <= {"/robots.txt", mirror.sites["spp"].list_path}
    assert server.conditional_requests[mirror.sites["spp"].list_path] == 1


def test_an_article_that_failed_is_fetched_by_the_next_run_although_the_list_is_unchanged(
    mirror, sqlite_store, tmp_path
) -> None:
    """The list's validators are kept only once every listed article is stored: a list that answered
    304 after a half-failed crawl would hide the failed article for good (the portal publishes nothing
    new, so the list never changes again)."""
    from crawler.demo.server import Page

    site = mirror.sites["spp"]
    server, path = mirror.servers["spp"], site.articles[0].path
    saved = server.pages[path]
    server.set(path, Page(b"server error", status=500))
    first = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    assert first.count("error") == 1 and sqlite_store.history.get_article(mirror.url("spp", path)) is None
    server.set(path, saved)
    second = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    assert second.count("new") == 1 and sqlite_store.history.get_article(mirror.url("spp", path)) is not None
    third = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)  # now complete: the list may 304
    # only the third read of the list was conditional: the first crawl's validators were never kept
    assert third.articles == [] and server.conditional_requests[site.list_path] == 1


def test_an_edited_article_yields_exactly_one_new_version(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    url = mirror.edit("spp", 0, body=mirror.article("spp", 0).body + "\n会议要求,狠抓工作落实。")
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert [a.outcome for a in report.articles if a.url == url] == ["changed"]
    assert report.count("changed") == 1
    stored = sqlite_store.history.get_article(url)
    assert stored is not None and [v.version for v in stored.versions] == [1, 2]
    assert crawl(mirror, sqlite_store, tmp_path, "spp").count("changed") == 0


def test_a_404_marks_a_known_article_removed(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    url = mirror.remove("spp", 1)
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert [a.outcome for a in report.articles if a.url == url] == ["removed"]
    stored = sqlite_store.history.get_article(url)
    assert stored is not None and stored.article.status == "removed"


def test_blocked_and_broken_articles_are_recorded_while_the_rest_is_stored(mirror, sqlite_store, tmp_path) -> None:
    spp = mirror.servers["spp"]
    first, second = mirror.article("spp", 0).path, mirror.article("spp", 1).path
    spp.set(first, Page(b"<html><script>$_ts=window['$_ts'];</script></html>", status=412))
    spp.set(second, Page(b"%PDF-1.4 not html", content_type="application/pdf"))
    report = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    outcomes = {a.url.split(":", 2)[-1].split("/", 1)[-1]: a.outcome for a in report.articles}
    assert sorted(outcomes.values()) == ["blocked", "error", "new"]
    assert report.ok and any("瑞数" in e for e in report.errors)
    assert any("not an HTML page (application/pdf)" in e for e in report.errors)
    state = sqlite_store.sources.source_state("spp")  # the source answered, and its state says what went wrong
    assert state.consecutive_failures == 0 and "瑞数" in state.last_error


def test_an_unreachable_source_fails_and_is_recorded(sqlite_store, tmp_path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - {id: dead, name: 无, adapter: trs, lists: ['http://127.0.0.1:9/index.shtml'], allow_private: true, schedule: {every: 1h}}\n"
    )
    config = load_config(path)

    async def main() -> CrawlReport:
        async with runtime_for(config, sqlite_store, retries=0) as runtime:
            return await runtime.fetch(config.get("dead"))

    report = asyncio.run(main())
    assert not report.ok and "connection failed" in report.errors[0]
    state = sqlite_store.sources.source_state("dead")
    assert state is not None and state.consecutive_failures == 1


def test_cli_fetch_and_article_json(mirror, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml")
    db = str(tmp_path / "cli.sqlite3")
    result = cli("fetch", "scjcy", "--config", str(config), "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"source", "new", "changed", "unchanged", "duplicates", "errors", "articles"} <= data.keys()
    assert data["new"] == 2 and data["errors"] == []
    first = data["articles"][0]
    assert {"url", "title", "published_at", "outcome", "content_hash", "body_chars"} <= first.keys()
    assert first["published_at"].endswith("+08:00")

    shown = json.loads(cli("article", first["url"], "--db", db, "--json").stdout)
    assert {"url", "source", "status", "title", "published_at", "versions"} <= shown.keys()
    assert shown["versions"][0]["body_text"] and shown["versions"][0]["version"] == 1


def test_cli_fetch_suggests_close_source_ids_and_fails_for_dead_sources(mirror, tmp_path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml")
    result = cli("fetch", "sp", "--config", str(config), "--db", str(tmp_path / "x.sqlite3"))
    assert result.returncode == 2 and "unknown source 'sp'; did you mean: spp" in result.stderr
    mirror.servers["zfw"].remove(mirror.sites["zfw"].list_path)
    dead = cli("fetch", "zfw", "--config", str(config), "--db", str(tmp_path / "x.sqlite3"))
    assert dead.returncode == 1 and "HTTP 404" in dead.stderr


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 now."""
    import socket

    for first in range(20000 + os.getpid() % 20000, 65000, count):
        with contextlib.ExitStack() as stack:
            try:
                for port in range(first, first + count):
                    probe = stack.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return first
    raise RuntimeError("no free ports")


def test_demo_plays_the_world_offline_and_its_guids_survive_a_restart(tmp_path) -> None:
    port = _free_ports(6)
    guids = []
    for run in range(2):
        result = cli("demo", "--dir", str(tmp_path / f"demo{run}"), "--days", "10", "--mirror-port", str(port))
        assert result.returncode == 0, result.stderr
        served = re.search(r"served (\d+) articles, (\d+) quiet edits, (\d+) removals, (\d+) restorations", result.stdout)
        assert served and all(int(n) > 0 for n in served.groups()), result.stdout  # what procwatch is for
        assert "differences from what was served" not in result.stdout
        parsed = feedparser.parse((tmp_path / f"demo{run}" / "feeds" / "all.xml").read_bytes())
        by_link: dict[str, set[str]] = {}
        for entry in parsed.entries:
            # a removal's or restoration's GUID carries the archive's own event id: the same in one
            # archive across restarts, but not from one archive to another, which is what is compared here
            if not re.search(r"#procwatch-(?:removed|restored)-\d+", entry.id):
                by_link.setdefault(entry.link, set()).add(entry.id)
        guids.append(by_link)
        changes = feedparser.parse((tmp_path / f"demo{run}" / "feeds" / "changes.xml").read_bytes())
        kinds = " ".join(entry.title for entry in changes.entries)
        assert all(kind in kinds for kind in ("修改", "删除", "恢复")), kinds
    # the GUIDs depend on what was published and edited, never on timing or ids: every article both
    # feeds show is shown under the same GUIDs (the feed's last items may differ: articles crawled at
    # once are ordered by the order they were stored in, and which of their edits still fit differs)
    common = guids[0].keys() & guids[1].keys()
    assert len(common) > 40 and all(guids[0][link] & guids[1][link] for link in common)
    edits = [{i for ids in run.values() for i in ids if "#procwatch-v" in i} for run in guids]
    assert all(edits) and edits[0] & edits[1]  # quiet edits keyed by version number, the same in both


def test_demo_says_in_one_line_when_its_mirror_ports_are_taken(tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        result = cli("demo", "--dir", str(tmp_path / "demo"), "--mirror-port", str(port))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert f"cannot start the demo portals on 127.0.0.1:{port}" in result.stderr and "--mirror-port" in result.stderr


def test_ingesting_the_mirror_records_campaigns_with_first_mentions(mirror, sqlite_store, tmp_path) -> None:
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))

    async def fetch(source_id: str) -> CrawlReport:
        async with runtime_for(config, sqlite_store) as runtime:
            return await runtime.fetch(config.get(source_id), backfill=3)

    for site_id in ("spp", "scjcy", "zfw"):
        asyncio.run(fetch(site_id))
    huqi = sqlite_store.campaigns.campaign_spread("检察护企")
    assert huqi is not None and huqi.first_article.url.endswith("/202403/t20240326_650031.shtml")
    assert [row.source_id for row, _ in huqi.sources] == ["spp", "scjcy"]  # the Traditional repost counts too
    assert sqlite_store.campaigns.campaign_spread("一号检察建议").campaign.first_source_id == "spp"

    # A campaign first mentioned in a later fetch: new once overall, then once per further source.
    before = {c.name for c, _ in sqlite_store.campaigns.campaigns()}
    first, rest = mirror.article("zfw", 0).body.split("\n", 1)  # before the page's 上一篇/免责声明 junk
    mirror.edit("zfw", 0, body=f"{first}\n山南检察机关部署开展“雪域护企”专项行动。\n{rest}")
    asyncio.run(fetch("zfw"))
    asyncio.run(fetch("zfw"))
    mirror.edit("spp", 1, body=mirror.article("spp", 1).body + "\n西藏检察机关开展“雪域护企”专项行动。")
    asyncio.run(fetch("spp"))
    after = {c.name for c, _ in sqlite_store.campaigns.campaigns()}
    assert after - before == {"雪域护企"}
    spread = sqlite_store.campaigns.campaign_spread("雪域护企")
    assert spread.campaign.first_source_id == "zfw"
    assert sorted(row.source_id for row, _ in spread.sources) == ["spp", "zfw"]


def _breaks_on(monkeypatch, url: str) -> None:
    """The adapter's article extraction raises a plain ValueError for one page, as body finding's
    zip(..., strict=True) did on a real page: an unexpected bug, not an ExtractionError."""
    from crawler.adapters.base import Adapter

    parse = Adapter.parse_article

    def breaking(self, html, page_url, *, encoding=None):  # type: ignore[no-untyped-def]
        if page_url == url:
            raise ValueError("zip() argument 2 is longer than argument 1")
        return parse(self, html, page_url, encoding=encoding)

    monkeypatch.setattr(Adapter, "parse_article", breaking)


def test_a_page_whose_extraction_raises_fails_alone_and_is_retried(
    mirror, sqlite_store, tmp_path, monkeypatch, caplog
) -> None:
    import logging

    site = mirror.sites["spp"]
    broken = mirror.url("spp", site.articles[0].path)
    _breaks_on(monkeypatch, broken)
    with caplog.at_level(logging.INFO):
        first = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3, recheck_listed=False)
    assert first.ok and first.count("new") == 2  # the other articles are stored
    (failed,) = [a for a in first.articles if a.outcome == "error"]
    assert failed.url == broken and failed.error == "ValueError: zip() argument 2 is longer than argument 1"
    assert sqlite_store.history.get_article(broken) is None
    logged = [r for r in caplog.records if broken in r.getMessage() and "ValueError" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.WARNING and logged[0].exc_info is None
    state = sqlite_store.sources.source_state("spp")  # the source answered; its state names the page and why
    assert state.consecutive_failures == 0 and broken in state.last_error and "ValueError" in state.last_error
    health = runtime_for(load_config(tmp_path / "sources.yaml"), sqlite_store).health(lambda ids: {})
    assert f"{broken}: ValueError" in health["sources"]["spp"]["last_error"]  # /healthz names the page
    # the lists' validators were not kept: the next run reads them again and retries the page
    monkeypatch.undo()
    second = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3, recheck_listed=False)
    assert [a.outcome for a in second.articles if a.url == broken] == ["new"]
    assert sqlite_store.sources.source_state("spp").last_error is None


def test_a_recheck_whose_extraction_raises_fails_that_page_only(mirror, sqlite_store, tmp_path, monkeypatch) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    edited = mirror.edit("spp", 0, body=mirror.article("spp", 0).body + "\n会议要求,狠抓工作落实。")
    _breaks_on(monkeypatch, edited)
    report = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    assert report.ok and [a.outcome for a in report.articles if a.url == edited] == ["error"]
    assert report.count("not_modified") == 2
    monkeypatch.undo()
    again = crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    assert [a.outcome for a in again.articles if a.url == edited] == ["changed"]


def test_cli_fetch_names_a_page_whose_extraction_raises_without_a_traceback(mirror, tmp_path, monkeypatch) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml")
    broken = mirror.url("spp", mirror.sites["spp"].articles[0].path)
    _breaks_on(monkeypatch, broken)
    result = cli("fetch", "spp", "--config", str(config), "--db", str(tmp_path / "cli.sqlite3"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"error: {broken}: ValueError: zip() argument 2 is longer than argument 1" in result.stderr


def test_an_unchanged_page_is_not_scanned_for_campaigns_again(mirror, sqlite_store, tmp_path, monkeypatch) -> None:
    # a portal without validators answers every re-check in full: only a changed text is scanned
    from crawler.campaigns.extract import CampaignExtractor

    crawl(mirror, sqlite_store, tmp_path, "spp")
    mirror.servers["spp"].validators = False
    scanned: list[str] = []
    real = CampaignExtractor.extract
    monkeypatch.setattr(CampaignExtractor, "extract", lambda self, text: scanned.append(text) or real(self, text))
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert report.count("unchanged") == len(report.articles) > 0 and scanned == []
    mirror.edit("spp", 0, body=mirror.article("spp", 0).body + "\n深入开展“检察护企”专项行动。")
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert report.count("changed") == 1 and len(scanned) == 1 and "检察护企" in scanned[0]
