"""Change tracking end to end against the mirror: edits, boring edits, removals, re-checks, CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from crawler.config import load_config
from crawler.dates import BEIJING
from crawler.pipeline import CrawlReport, vanished_from_list
from storage.clock import utcnow
from storage.models import EventKind
from tests.conftest import crawl, runtime_for
from tests.support.cli import procwatch as cli

ROOT = Path(__file__).resolve().parents[2]


def reported(store, kind: EventKind) -> list:
    return [(e, a) for e, a in store.history.events(kinds=[kind])]


def test_an_edit_is_one_reported_change_with_a_correct_diff(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    body = mirror.article("spp", 1).body.replace("2100余件", "2300余件")
    url = mirror.edit("spp", 1, body=body)
    crawl(mirror, sqlite_store, tmp_path, "spp")
    ((_, article),) = reported(sqlite_store, EventKind.edited)
    assert article.url == url and article.current_version == 2
    from feeds.diff import diff_text

    versions = sqlite_store.history.versions(article.id)
    lines = diff_text(versions[0].body_text, versions[1].body_text)
    assert len(lines) == 2
    assert lines[0].startswith("- ") and "“挂案”2[1]00余件" in lines[0]
    assert lines[1].startswith("+ ") and "“挂案”2[3]00余件" in lines[1]


def test_counter_and_whitespace_changes_produce_nothing(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    article = mirror.article("spp", 0)
    mirror.edit("spp", 0, body="  " + article.body.replace("\n", "\n\n   ") + "\n阅读次数:1234")
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert report.count("changed") == 0 and sqlite_store.counts()["versions"] == 2
    mirror.edit("spp", 0, body=article.body.replace(",", "，", 3))  # full-width punctuation only
    crawl(mirror, sqlite_store, tmp_path, "spp")
    assert reported(sqlite_store, EventKind.edited) == []


def test_flip_flop_reports_once(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    original = mirror.article("spp", 0).body
    for body in (original + "\n会议要求狠抓落实。", original, original + "\n会议要求狠抓落实。"):
        mirror.edit("spp", 0, body=body)
        crawl(mirror, sqlite_store, tmp_path, "spp")
    assert len(reported(sqlite_store, EventKind.edited)) == 1
    assert sqlite_store.counts()["versions"] == 3  # the other listed article: 1 version; the edited one: 2


def test_removal_and_restoration_are_one_event_each(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    mirror.remove("spp", 0)
    crawl(mirror, sqlite_store, tmp_path, "spp")
    crawl(mirror, sqlite_store, tmp_path, "spp")
    mirror.restore("spp", 0)
    crawl(mirror, sqlite_store, tmp_path, "spp")
    crawl(mirror, sqlite_store, tmp_path, "spp")
    assert len(reported(sqlite_store, EventKind.removed)) == 1
    assert len(reported(sqlite_store, EventKind.restored)) == 1


def test_a_redirect_to_the_home_page_is_a_removal(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp")
    url = mirror.redirect_home("spp", 1)
    report = crawl(mirror, sqlite_store, tmp_path, "spp")
    assert [a.outcome for a in report.articles if a.url == url] == ["removed"]
    ((event, _),) = reported(sqlite_store, EventKind.removed)
    assert "home page" in event.note


def test_vanishing_from_the_list_triggers_a_check_even_without_rechecks(mirror, sqlite_store, tmp_path) -> None:
    crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    delisted_only = mirror.delist("spp", 0)  # gone from the list while older ones stay, but still online
    report = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    assert [a.outcome for a in report.articles if a.url == delisted_only] == ["not_modified"]  # checked, alive
    assert reported(sqlite_store, EventKind.removed) == []
    crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False, backfill=3)
    gone = mirror.delist("spp", 0, remove_page=True)
    report = crawl(mirror, sqlite_store, tmp_path, "spp", recheck_listed=False)
    assert [a.outcome for a in report.articles if a.url == gone] == ["removed"]


def test_vanished_from_list_rule() -> None:
    assert vanished_from_list(["a", "b", "c"], ["new", "a", "c"]) == ["b"]
    assert vanished_from_list(["a", "b", "c"], ["x", "y", "a", "b"]) == []  # c scrolled off the end
    assert vanished_from_list([], ["a"]) == []


def test_age_based_recheck_fetches_only_due_articles(mirror, sqlite_store, tmp_path) -> None:
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))
    for article in mirror.sites["spp"].articles:  # published an hour ago: young, re-checked every 15 minutes
        article.published = (datetime.now(BEIJING) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    mirror.publish("spp")
    crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    url = mirror.edit("spp", 2, body=mirror.article("spp", 2).body + "\n(本文有更新)会议决定追加部署。")

    async def run(now):
        async with runtime_for(config, sqlite_store) as runtime:
            return await runtime.recheck(now=now)

    assert asyncio.run(run(utcnow())) == []  # everything was checked a moment ago
    reports = asyncio.run(run(utcnow() + timedelta(minutes=20)))  # young articles are due every 15 minutes
    (report,) = reports
    assert len(report.articles) == 3 and [a.outcome for a in report.articles if a.url == url] == ["changed"]
    assert asyncio.run(run(utcnow() + timedelta(minutes=5))) == []  # just re-checked


def test_history_diff_and_changes_commands(mirror, tmp_path) -> None:
    config = str(mirror.write_config(tmp_path / "sources.yaml"))
    db = str(tmp_path / "cli.sqlite3")
    assert cli("fetch", "spp", "--config", config, "--db", db).returncode == 0
    url = mirror.edit("spp", 0, body=mirror.article("spp", 0).body.replace("党组会", "党组扩大会", 1))
    assert cli("fetch", "spp", "--config", config, "--db", db).returncode == 0

    history = json.loads(cli("history", url, "--db", db, "--json").stdout)
    assert [v["version"] for v in history["versions"]] == [1, 2] and history["versions"][1]["change_chars"] == 2
    diff = cli("diff", url, "--db", db)
    assert diff.returncode == 0 and "+ " in diff.stdout and "[扩大]" in diff.stdout
    assert cli("diff", url, "--from", "7", "--db", db).returncode == 2
    changes = json.loads(cli("changes", "--db", db, "--json").stdout)
    assert [(c["kind"], c["url"]) for c in changes] == [("edited", url)]
    assert changes[0]["at"].endswith("+08:00")


def _dated(mirror, site_id: str, year: int) -> None:
    for article in mirror.sites[site_id].articles:
        article.published = f"{year}-03-01 10:00:00"
    mirror.publish(site_id)


def test_the_daemons_crawl_finds_a_quiet_edit_of_a_listed_2019_article_at_once(mirror, sqlite_store, tmp_path) -> None:
    """The daemon and `fetch` follow one policy: every listed article gets a conditional request on
    every crawl, however old, so an edit that leaves the list unchanged (it answers 304) is seen."""
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))
    _dated(mirror, "spp", 2019)

    async def daemon_crawl() -> CrawlReport | None:
        async with runtime_for(config, sqlite_store) as runtime:
            return await runtime.crawl("spp")

    asyncio.run(daemon_crawl())
    url = mirror.edit("spp", 1, body=mirror.article("spp", 1).body + "\n(本文有更新)会议决定追加部署。")
    report = asyncio.run(daemon_crawl())
    assert report is not None and [a.outcome for a in report.articles if a.url == url] == ["changed"]
    fetched = crawl(mirror, sqlite_store, tmp_path, "spp")  # fetch agrees: nothing left to find
    assert fetched.count("changed") == 0 and fetched.count("not_modified") == len(fetched.articles)


def test_every_stored_article_of_any_age_is_rechecked_within_the_bound(mirror, sqlite_store, tmp_path) -> None:
    """An article no list shows any more, published in 2009, is re-checked within settings.recheck_within
    (compressed here to 1 hour, with the daemon's 5-minute re-check cycle), oldest-checked first, a few
    requests per source per cycle."""
    path = mirror.write_config(tmp_path / "sources.yaml")
    path.write_text(path.read_text(encoding="utf-8").replace("settings:", "settings:\n  recheck_within: 1h"))
    config = load_config(path)
    _dated(mirror, "spp", 2009)
    crawl(mirror, sqlite_store, tmp_path, "spp", backfill=3)
    urls = [mirror.url("spp", a.path) for a in mirror.sites["spp"].articles]
    with Session(sqlite_store.engine) as session, session.begin():  # checked long ago, the edited one most recently
        for minutes, url in zip((300, 200, 100), urls, strict=True):
            session.execute(
                text("UPDATE article SET last_checked = :at WHERE url = :url"),
                {"at": utcnow() - timedelta(minutes=minutes), "url": url},
            )
    edited = mirror.edit("spp", 2, body=mirror.article("spp", 2).body + "\n(本文有更新)会议决定追加部署。")
    mirror.delist("spp", 2)  # no list shows it any more

    async def cycles(count: int) -> list[CrawlReport]:
        async with runtime_for(config, sqlite_store) as runtime:
            return [r for _ in range(count) for r in await runtime.scheduled_recheck(every=timedelta(minutes=5))]

    # budget = ceil(3 articles / (30 min / 5 min)) = 1 request per cycle; the bound holds after 6 cycles
    reports = asyncio.run(cycles(3))
    assert [len(r.articles) for r in reports] == [1, 1, 1]
    assert [a.outcome for r in reports for a in r.articles if a.url == edited] == ["changed"]
