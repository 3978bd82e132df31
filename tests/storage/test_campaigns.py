"""Campaign storage: first mention overall and per source, idempotent mentions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import pytest

from crawler.campaigns import extract_campaigns
from crawler.dates import BEIJING
from feeds.catalog import SourceCatalog
from feeds.items import FeedQuery
from feeds.kinds.campaigns import campaign_items
from storage import Store
from storage.decide import Recording
from storage.history import ArticleHead
from storage.models import EventKind
from tests.storage.test_repository import PAGE, Page


@dataclass
class Found:
    name: str
    kind: str = "campaign"
    count: int = 1
    contexts: list[str] = field(default_factory=lambda: ["开展“检察护企”专项行动"])


def record(store: Store, url: str, source: str, day: int, names: list[str], *, seen: int | None = None):
    """A page published on March ``day``, observed on March ``seen`` (the same day unless told), by a
    crawl after the source's first (its mentions are news, not the baseline)."""
    if store.sources.source_state(source) is None:
        store.sources.record_source_run(source, ok=True, at=datetime(2024, 1, 1, tzinfo=BEIJING))
    page = Page(url, f"标题{url}", f"正文 {url} 内容。", published_at=datetime(2024, 3, day, tzinfo=BEIJING))
    observed = datetime(2024, 3, seen or day, tzinfo=BEIJING)
    return store.writer.record(source, page, fetched_at=observed, mentions=[Found(n) for n in names])


def test_first_mention_overall_and_first_per_source(store: Store) -> None:
    record(store, "https://spp/1", "spp", 10, ["检察护企"])
    record(store, "https://spp/2", "spp", 11, ["检察护企"])
    record(store, "https://sc/1", "sc-jcy", 12, ["检察护企", "检护民生"])
    assert {(c.name, c.first_source_id, n) for c, n in store.campaigns.campaigns()} == {
        ("检护民生", "sc-jcy", 1),
        ("检察护企", "spp", 3),
    }
    spread = store.campaigns.campaign_spread("检察护企")
    assert spread is not None and spread.first_article is not None and spread.first_article.url == "https://spp/1"
    assert [(row.source_id, row.first_seen_at.astimezone(BEIJING).day) for row, _ in spread.sources] == [
        ("spp", 10),
        ("sc-jcy", 12),
    ]


def test_recording_the_same_version_twice_adds_no_mention(store: Store) -> None:
    outcome = store.writer.record("spp", PAGE, mentions=[Found("质量建设年")])
    assert store.writer.record("spp", PAGE, mentions=[Found("质量建设年")]).kind == "unchanged"
    assert [(c.name, n) for c, n in store.campaigns.campaigns()] == [("质量建设年", 1)]
    mentions = store.campaigns.mentions_for_versions([outcome.version_id])
    assert [c.name for c, _ in mentions[outcome.version_id]] == ["质量建设年"]


def test_the_count_of_mentioning_articles_counts_an_edited_article_once(store: Store) -> None:
    record(store, "https://spp/1", "spp", 10, ["检察护企"])
    edited = replace(PAGE, url="https://spp/1", body_text="改过的正文,仍提到检察护企。")
    store.writer.record_many([Recording("spp", edited, [Found("检察护企"), Found("检护民生")])])
    record(store, "https://spp/2", "spp", 12, ["检察护企"])
    counts = {c.name: n for c, n in store.campaigns.campaigns()}
    assert counts == {"检察护企": 2, "检护民生": 1}
    assert counts == {c.name: n for c, n in store.campaigns.campaigns(source_id="spp")}  # counted per read


def test_a_backfilled_older_article_becomes_the_first_mention(store: Store) -> None:
    record(store, "https://spp/new", "spp", 20, ["一号检察建议"])
    record(store, "https://spp/old", "spp", 2, ["一号检察建议"], seen=21)
    spread = store.campaigns.campaign_spread("一号检察建议")
    assert spread is not None and spread.first_article.url == "https://spp/old"
    assert spread.campaign.first_published_at == datetime(2024, 3, 2, tzinfo=BEIJING)
    # the origin moved back in time, but procwatch first saw the name on the 20th
    assert spread.campaign.first_seen_at == datetime(2024, 3, 20, tzinfo=BEIJING)


def test_listing_filters(store: Store) -> None:
    record(store, "https://spp/1", "spp", 1, ["检察护企"])
    record(store, "https://sc/1", "sc-jcy", 15, ["检护民生"])
    assert [c.name for c, _ in store.campaigns.campaigns(new_since=datetime(2024, 3, 10, tzinfo=BEIJING))] == [
        "检护民生"
    ]
    assert [c.name for c, _ in store.campaigns.campaigns(source_id="spp")] == ["检察护企"]


def test_concurrent_first_mentions_of_one_campaign_do_not_fail(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def mention(i: int):
        page = Page(f"https://spp/{i}", f"标题{i}", f"正文{i}号,内容各不相同。")
        return store.writer.record("spp", page, mentions=[Found("雪域护企")])

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(mention, range(6)))
    assert [(c.name, n) for c, n in store.campaigns.campaigns()] == [("雪域护企", 6)]
    spread = store.campaigns.campaign_spread("雪域护企")
    assert spread is not None and spread.first_article is not None
    assert spread.first_article.id in {o.article_id for o in outcomes}


def test_articles_recorded_at_once_with_many_shared_new_campaigns_all_succeed(store: Store) -> None:
    """Two workers crawling two sources that both name the same ten new campaigns: every article is
    stored with its mentions. (A select-then-insert once lost a whole article to a unique-name error
    in a two-worker cluster run; this load does not reproduce that reliably, it guards the result.)"""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"专项行动{i}" for i in range(10)]

    def record(i: int):
        page = Page(f"https://site{i % 2}/{i}", f"标题{i}", f"正文{i}号,内容各不相同,提到多项行动。")
        return store.writer.record(f"source{i % 2}", page, mentions=[Found(name) for name in names])

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(record, range(16)))
    assert all(outcome.kind == "new" for outcome in outcomes)
    assert sorted((c.name, n) for c, n in store.campaigns.campaigns()) == [(name, 16) for name in sorted(names)]
    assert all(
        {s.source_id for s, _ in store.campaigns.campaign_spread(name).sources} == {"source0", "source1"}
        for name in names
    )


# -- novelty is dated by observation; the archive's first crawl and backfills are the known baseline --

OLD = datetime(2009, 5, 4, 10, 0, tzinfo=BEIJING)


def write(store: Store, path: str, source: str, page: Page, at: datetime, *, baseline: bool = False) -> None:
    """One page through the single-page path or the crawler's batch path, its campaigns extracted."""
    mentions = extract_campaigns(f"{page.title}\n{page.body_text}")
    if path == "single":
        store.writer.record(source, page, fetched_at=at, mentions=mentions, baseline=baseline)
    else:
        (outcome,) = store.writer.record_many([Recording(source, page, mentions, fetched_at=at, baseline=baseline)])
        assert not isinstance(outcome, Exception)


@pytest.mark.parametrize("path", ["single", "batch"])
def test_todays_edit_of_a_2009_article_introducing_a_campaign_is_new_today(store: Store, path: str) -> None:
    from datetime import timedelta

    now = datetime.now(BEIJING).replace(microsecond=0)
    first_crawl = now - timedelta(days=30)
    article = Page("https://spp/2009/1", "旧文", "二〇〇九年的工作报告,内容完整。" * 5, published_at=OLD)
    write(store, path, "spp", article, first_crawl)
    store.sources.record_source_run("spp", ok=True, at=first_crawl)
    edited = replace(article, body_text=article.body_text + "深入开展“数字检察赋能”专项行动。")
    write(store, path, "spp", edited, now)

    today = now.replace(hour=0, minute=0, second=0)
    listed = store.campaigns.campaigns(new_since=today)
    assert [c.name for c, _ in listed] == ["数字检察赋能"]
    campaign = listed[0][0]
    assert campaign.first_seen_at == now and campaign.first_published_at == OLD and not campaign.baseline
    spread = store.campaigns.campaign_spread("数字检察赋能")
    assert [(s.first_seen_at, s.first_published_at) for s, _ in spread.sources] == [(now, OLD)]
    assert [c.name for c, _ in store.browse.campaign_page(new_only=True)] == ["数字检察赋能"]
    (item,) = campaign_items(store, SourceCatalog(sources=[]), FeedQuery(), None)
    assert item.published == now and item.updated == now
    assert now.strftime("%Y-%m-%d %H:%M") in item.html and "文章发布于 2009-05-04" in item.html


@pytest.mark.parametrize("path", ["single", "batch"])
def test_a_first_crawl_marks_established_formulations_known_and_a_later_crawl_announces_new_ones(
    store: Store, path: str
) -> None:
    from datetime import timedelta

    from storage.emerging import EMERGING_WINDOW

    now = datetime.now(BEIJING).replace(microsecond=0)
    start = now - timedelta(days=2)
    text = "要增强“四个意识”、做到“两个维护”,坚决落实各项部署。"
    for i, source in enumerate(["spp", "sc-jcy"]):  # two sources, so the names would also "emerge"
        page = Page(f"https://{source}/a", f"学习{i}", text * 3, published_at=datetime(2018, 1, 5, tzinfo=BEIJING))
        write(store, path, source, page, start)
    # listed and shown, marked known at start; never announced
    assert {c.name: c.baseline for c, _ in store.campaigns.campaigns()} == {"四个意识": True, "两个维护": True}
    assert store.campaigns.campaign_spread("四个意识").sources[0][0].baseline
    assert store.campaigns.campaigns(new_since=start - timedelta(days=1)) == []
    assert store.browse.campaign_page(new_only=True) == []
    assert store.campaigns.emerging(since=now - EMERGING_WINDOW) == []
    assert campaign_items(store, SourceCatalog(sources=[]), FeedQuery(), None) == []

    store.sources.record_source_run("spp", ok=True, at=start)
    later = Page("https://spp/b", "新部署", "全面推进“检察护企”专项行动,坚持“四个意识”。" * 3, published_at=now)
    write(store, path, "spp", later, now)
    assert [c.name for c, _ in store.campaigns.campaigns(new_since=start)] == ["检察护企"]
    assert [i.title for i in campaign_items(store, SourceCatalog(sources=[]), FeedQuery(), None)] == [
        "【新运动】检察护企"
    ]
    assert store.campaigns.campaign_spread("四个意识").campaign.baseline  # seen again: still the known one

    # a backfill run after the first crawl is baseline too
    old = Page(
        "https://spp/c", "旧档", "当年开展“扫黑除恶”专项斗争。" * 3, published_at=datetime(2018, 2, 1, tzinfo=BEIJING)
    )
    write(store, path, "spp", old, now, baseline=True)
    assert [c.name for c, _ in store.campaigns.campaigns(new_since=start)] == ["检察护企"]
    assert store.campaigns.campaign_spread("扫黑除恶").campaign.baseline


def test_the_upgrade_dates_existing_campaigns_by_the_version_that_mentioned_them(store: Store) -> None:
    from sqlalchemy import text
    from sqlmodel import SQLModel

    from storage.db import upgrade

    engine = store.engine
    with engine.begin() as connection:  # the search index is no model: dropped by name
        connection.execute(text("DROP TABLE IF EXISTS version_search"))
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    upgrade(engine, "0005")  # campaigns dated by publication only
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO article (id, url, source_id, first_seen, last_seen, status, title, content_hash,"
                " version_count, current_version) VALUES (1, 'https://spp/2009', 'spp', '2024-06-01 02:00:00',"
                " '2024-06-01 02:00:00', 'live', 't', 'h2', 2, 2)"
            )
        )
        for version, at in ((1, "2024-06-01 02:00:00"), (2, "2024-06-03 02:00:00")):
            c.execute(
                text(
                    "INSERT INTO article_version (id, article_id, version, content_hash, title, body_text, body_html,"
                    f" fetched_at, change_chars, status) VALUES ({version}, 1, {version}, 'h{version}', 't', 'b',"
                    f" 'b', '{at}', 0, 'ok')"
                )
            )
        c.execute(
            text(
                "INSERT INTO campaign (id, name, kind, first_seen_at, first_article_id, first_source_id, first_context)"
                " VALUES (1, '检察护企', 'campaign', '2009-05-04 02:00:00', 1, 'spp', '')"
            )
        )
        c.execute(
            text(
                "INSERT INTO campaign_source (campaign_id, source_id, first_seen_at, article_id, context)"
                " VALUES (1, 'spp', '2009-05-04 02:00:00', 1, '')"
            )
        )
        c.execute(
            text(
                "INSERT INTO campaign_mention (campaign_id, version_id, article_id, source_id, count, context, seen_at)"
                " VALUES (1, 2, 1, 'spp', 1, '', '2009-05-04 02:00:00')"
            )
        )
    upgrade(engine)
    assert [(c.name, n) for c, n in store.campaigns.campaigns()] == [("检察护企", 1)]  # the count, filled in
    spread = store.campaigns.campaign_spread("检察护企")
    assert spread is not None and not spread.campaign.baseline
    # dated by the recorded time of the version mentioning it (version 2), not the article's 2009
    assert spread.campaign.first_seen_at == datetime(2024, 6, 3, 2, 0, tzinfo=UTC)
    assert spread.campaign.first_published_at.astimezone(BEIJING).date().isoformat() == "2009-05-04"
    (row, _), *_ = spread.sources
    assert row.first_seen_at == spread.campaign.first_seen_at and row.first_published_at is not None


def test_the_feeds_plain_rows_are_the_listed_articles(store: Store) -> None:
    for day in range(1, 6):
        page = Page(
            f"https://x.gov.cn/{day}",
            f"标题{day}",
            f"正文{day}。" * 12,
            published_at=datetime(2024, 1, day, tzinfo=BEIJING),
        )
        store.writer.record("spp" if day % 2 else "xz-jcy", page, mentions=[Found("检察护企")] if day > 3 else [])
    store.writer.mark_removed("https://x.gov.cn/2")
    for options in (
        {},
        {"source_ids": ["xz-jcy"]},
        {"campaign": "检察护企"},
        {"source_ids": ["spp"], "campaign": "检察护企"},
    ):
        listed = store.browse.latest_articles(10, **options)  # type: ignore[arg-type]
        assert store.browse.latest_heads(10, **options) == [ArticleHead.of(a) for a in listed]  # type: ignore[arg-type]
    (change,) = store.history.changes([EventKind.removed], limit=10)
    ((event, article),) = store.history.events(kinds=[EventKind.removed])
    assert (change.id, change.kind, change.at, change.article) == (
        event.id,
        event.kind,
        event.at,
        ArticleHead.of(article),
    )
