"""Campaign storage: first mention overall and per source, idempotent mentions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from crawler.dates import BEIJING
from storage import Store
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
    if store.source_state(source) is None:
        store.record_source_run(source, ok=True, at=datetime(2024, 1, 1, tzinfo=BEIJING))
    page = Page(url, f"标题{url}", f"正文 {url} 内容。", published_at=datetime(2024, 3, day, tzinfo=BEIJING))
    observed = datetime(2024, 3, seen or day, tzinfo=BEIJING)
    outcome = store.record(source, page, fetched_at=observed)
    return store.record_mentions(
        article_id=outcome.article_id,
        version_id=outcome.version_id,
        source_id=source,
        mentions=[Found(n) for n in names],
        published_at=page.published_at,
        seen_at=observed,
    )


def test_new_overall_once_and_new_per_source_once(store: Store) -> None:
    first = record(store, "https://spp/1", "spp", 10, ["检察护企"])
    again = record(store, "https://spp/2", "spp", 11, ["检察护企"])
    elsewhere = record(store, "https://sc/1", "sc-jcy", 12, ["检察护企", "检护民生"])
    assert [(r.new_overall, r.new_for_source) for r in first] == [(True, True)]
    assert [(r.new_overall, r.new_for_source) for r in again] == [(False, False)]
    assert [(r.name, r.new_overall, r.new_for_source) for r in elsewhere] == [
        ("检察护企", False, True),
        ("检护民生", True, True),
    ]
    spread = store.campaign_spread("检察护企")
    assert spread is not None and spread.first_article is not None and spread.first_article.url == "https://spp/1"
    assert [(row.source_id, row.first_seen_at.astimezone(BEIJING).day) for row, _ in spread.sources] == [
        ("spp", 10),
        ("sc-jcy", 12),
    ]


def test_recording_the_same_version_twice_adds_no_mention(store: Store) -> None:
    outcome = store.record("spp", PAGE)
    for _ in range(2):
        store.record_mentions(
            article_id=outcome.article_id,
            version_id=outcome.version_id,
            source_id="spp",
            mentions=[Found("质量建设年")],
            published_at=PAGE.published_at,
        )
    assert [(c.name, n) for c, n in store.campaigns()] == [("质量建设年", 1)]
    mentions = store.mentions_for_versions([outcome.version_id])
    assert [c.name for c, _ in mentions[outcome.version_id]] == ["质量建设年"]


def test_a_backfilled_older_article_becomes_the_first_mention(store: Store) -> None:
    record(store, "https://spp/new", "spp", 20, ["一号检察建议"])
    record(store, "https://spp/old", "spp", 2, ["一号检察建议"], seen=21)
    spread = store.campaign_spread("一号检察建议")
    assert spread is not None and spread.first_article.url == "https://spp/old"
    assert spread.campaign.first_published_at == datetime(2024, 3, 2, tzinfo=BEIJING)
    # the origin moved back in time, but procwatch first saw the name on the 20th
    assert spread.campaign.first_seen_at == datetime(2024, 3, 20, tzinfo=BEIJING)


def test_listing_filters(store: Store) -> None:
    record(store, "https://spp/1", "spp", 1, ["检察护企"])
    record(store, "https://sc/1", "sc-jcy", 15, ["检护民生"])
    assert [c.name for c, _ in store.campaigns(new_since=datetime(2024, 3, 10, tzinfo=BEIJING))] == ["检护民生"]
    assert [c.name for c, _ in store.campaigns(source_id="spp")] == ["检察护企"]


def test_concurrent_first_mentions_of_one_campaign_do_not_fail(store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    outcomes = [
        store.record("spp", Page(f"https://spp/{i}", f"标题{i}", f"正文{i}号,内容各不相同。")) for i in range(6)
    ]

    def mention(outcome):
        return store.record_mentions(
            article_id=outcome.article_id,
            version_id=outcome.version_id,
            source_id="spp",
            mentions=[Found("雪域护企")],
            published_at=PAGE.published_at,
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(mention, outcomes))
    assert sum(r[0].new_overall for r in results) == 1
    assert [(c.name, n) for c, n in store.campaigns()] == [("雪域护企", 6)]


def test_articles_recorded_at_once_with_many_shared_new_campaigns_all_succeed(store: Store) -> None:
    """Two workers crawling two sources that both name the same ten new campaigns: every article is
    stored with its mentions. (A select-then-insert once lost a whole article to a unique-name error
    in a two-worker cluster run; this load does not reproduce that reliably, it guards the result.)"""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"专项行动{i}" for i in range(10)]

    def record(i: int):
        page = Page(f"https://site{i % 2}/{i}", f"标题{i}", f"正文{i}号,内容各不相同,提到多项行动。")
        return store.record(f"source{i % 2}", page, mentions=[Found(name) for name in names])

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(record, range(16)))
    assert all(outcome.kind == "new" for outcome in outcomes)
    assert sorted((c.name, n) for c, n in store.campaigns()) == [(name, 16) for name in sorted(names)]
    assert all({s.source_id for s, _ in store.campaign_spread(name).sources} == {"source0", "source1"} for name in names)
