"""Batches (record_many, Store.submit): what one-by-one recording stores, in one transaction."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from crawler.dates import BEIJING
from storage import OutcomeKind, Store, Validators, make_engine
from storage.db import ensure_schema
from storage.decide import Recording
from tests.storage.test_campaigns import Found
from tests.storage.test_changes import LONG
from tests.storage.test_repository import Page

SPP = "https://www.spp.gov.cn/spp/xwfbh/202407/t202407{:02d}_{}.shtml"
GSZF = "http://www.gszf.gov.cn/c1/2024-07/{:02d}/content_{}.shtml"


def day(n: int) -> datetime:
    return datetime(2024, 7, n, 9, 0, tzinfo=BEIJING)


def scenario() -> tuple[list[Recording], list[Recording]]:
    """Pages stored before, then a batch with every case the single-page path knows."""
    story = Page(SPP.format(9, 1), "最高检召开党组会", LONG, published_at=day(9))
    before = [
        Recording("spp", story, [Found("检察护企")]),
        Recording("gszf", Page(GSZF.format(8, 1), "党组会", "甘肃省检察院召开会议。" * 12, published_at=day(8))),
        Recording("gszf", Page(GSZF.format(8, 2), "旧稿", "旧稿正文在此。" * 12, published_at=day(8))),
    ]
    copied = Page(GSZF.format(10, 3), "最高检召开党组会 传达精神", LONG + "\n(来源:检察日报)", published_at=day(10))
    fresh = Page(SPP.format(11, 4), "最高检发布典型案例", "典型案例涉及危险作业罪。" * 20, published_at=day(11))
    late_twin = replace(fresh, url=GSZF.format(13, 5), published_at=day(13))
    backfill = Page(SPP.format(1, 6), "旧文", "一号检察建议落实情况。" * 15, published_at=day(1))
    batch = [
        Recording("gszf", copied, [Found("检察护企")]),  # a near copy of a stored article
        Recording("spp", fresh, [Found("一号检察建议"), Found("检察护企")]),  # new, campaigns new per source
        Recording("gszf", late_twin),  # an exact copy of a page earlier in this batch
        Recording("spp", replace(story, body_text=LONG + "\n补充:会议还研究了其他事项。")),  # an edit
        Recording("spp", backfill, [Found("一号检察建议")]),  # older than the first mention: moves it back
        Recording(
            "gszf",
            Page(GSZF.format(2, 7), "旧稿二", "回填的旧稿。" * 12, published_at=day(2)),
            [Found("旧提法")],
            baseline=True,
        ),
        Recording("gszf", before[2].page),  # unchanged
        Recording("gszf", copied),  # a copy already noted (earlier in this batch)
        Recording("spp", replace(fresh, body_text=fresh.body_text + "更正。")),  # the same URL again, edited
    ]
    return before, batch


def dump(store: Store) -> dict[str, Any]:
    """Everything stored, keyed by URLs and names (ids depend on the order of inserts)."""
    with store.engine.connect() as c:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return sorted(tuple(map(str, row)) for row in c.exec_driver_sql(sql))

        return {
            "articles": rows(
                "SELECT a.url, a.source_id, a.title, a.status, o.url, a.similarity, a.version_count,"
                " a.current_version, a.published_at, a.content_hash FROM article a"
                " LEFT JOIN article o ON o.id = a.original_id"
            ),
            "versions": rows(
                "SELECT a.url, v.version, v.content_hash, v.title, v.body_html, v.change_chars, v.published_at"
                " FROM article_version v JOIN article a ON a.id = v.article_id"
            ),
            "events": rows(
                "SELECT a.url, e.kind, e.reported, e.note, v.version FROM event e JOIN article a ON a.id = e.article_id"
                " LEFT JOIN article_version v ON v.id = e.version_id"
            ),
            "republications": rows(
                "SELECT r.url, a.url, r.source_id, r.similarity, r.title, r.body_text IS NULL FROM republication r"
                " JOIN article a ON a.id = r.article_id"
            ),
            "signatures": rows(
                "SELECT a.url, s.minhash FROM article_signature s JOIN article a ON a.id = s.article_id"
            ),
            "bands": rows("SELECT a.url, b.band FROM signature_band b JOIN article a ON a.id = b.article_id"),
            "campaigns": rows(
                "SELECT c.name, c.kind, c.first_seen_at, c.first_published_at, c.baseline, a.url, c.first_source_id"
                " FROM campaign c"
                " JOIN article a ON a.id = c.first_article_id"
            ),
            "campaign_sources": rows(
                "SELECT c.name, s.source_id, s.first_seen_at, s.first_published_at, s.baseline, a.url"
                " FROM campaign_source s"
                " JOIN campaign c ON c.id = s.campaign_id JOIN article a ON a.id = s.article_id"
            ),
            "mentions": rows(
                "SELECT c.name, a.url, v.version, m.source_id, m.count FROM campaign_mention m"
                " JOIN campaign c ON c.id = m.campaign_id JOIN article a ON a.id = m.article_id"
                " JOIN article_version v ON v.id = m.version_id"
            ),
        }


def one_by_one(store: Store, recordings: list[Recording], at: datetime) -> list[Any]:
    return [
        store.writer.record(r.source_id, r.page, fetched_at=at, mentions=r.mentions, baseline=r.baseline)
        for r in recordings
    ]


def test_a_batch_stores_exactly_what_recording_page_by_page_stores(tmp_path: Path) -> None:
    stores = []
    for name in ("single", "batch"):
        engine = make_engine(str(tmp_path / f"{name}.sqlite3"))
        ensure_schema(engine)
        stores.append(Store(engine))
    single, batched = stores
    before, batch = scenario()
    at = datetime(2024, 7, 20, tzinfo=BEIJING)
    # the sources' first crawl (baseline mentions) on the 15th, the batch a later crawl, seen on the 20th
    for store in stores:
        one_by_one(store, before, datetime(2024, 7, 15, tzinfo=BEIJING))
        for source in ("spp", "gszf"):
            store.sources.record_source_run(source, ok=True, at=datetime(2024, 7, 16, tzinfo=BEIJING))
    expected = one_by_one(single, batch, at)
    got = batched.writer.record_many([replace(r, fetched_at=at) for r in batch])
    assert [(o.kind, o.url, o.duplicate_of, o.version, o.similarity) for o in got] == [
        (o.kind, o.url, o.duplicate_of, o.version, o.similarity) for o in expected
    ]
    assert [o.kind for o in got] == [
        OutcomeKind.duplicate,
        OutcomeKind.new,
        OutcomeKind.duplicate,
        OutcomeKind.changed,
        OutcomeKind.new,
        OutcomeKind.new,
        OutcomeKind.unchanged,
        OutcomeKind.duplicate,
        OutcomeKind.changed,
    ]
    assert dump(batched) == dump(single)


def test_an_earlier_copy_in_the_same_batch_becomes_the_original(store: Store) -> None:
    late = Page(GSZF.format(12, 1), "党组会", LONG, published_at=day(12))
    early = replace(late, url=SPP.format(9, 1), published_at=day(9))
    late_outcome, early_outcome = store.writer.record_many([Recording("gszf", late), Recording("spp", early)])
    assert late_outcome.kind == early_outcome.kind == OutcomeKind.new
    assert store.history.get_article(late.url).article.original_id == early_outcome.article_id
    assert [a.url for a in store.browse.latest_articles(10)] == [early.url]


@dataclass(frozen=True)
class Refusing:
    """A page object from a buggy adapter: reading its HTML raises."""

    page: Page

    def __getattr__(self, name: str) -> Any:
        if name == "body_html":
            raise ValueError("an adapter bug")
        return getattr(self.page, name)


def test_one_bad_page_costs_only_itself(store: Store) -> None:
    good = [Page(SPP.format(1, n), f"标题{n}", f"第{n}篇正文。" * 30) for n in range(2)]
    bad = Refusing(Page(SPP.format(2, 9), "坏页", "坏页正文。" * 30))
    recordings = [
        Recording("spp", page, validators=(page.url, Validators(f'"{n}"', None))) for n, page in enumerate([*good, bad])
    ]
    outcomes = store.writer.record_many([recordings[0], recordings[2], recordings[1]])
    assert [type(o).__name__ for o in outcomes] == ["Outcome", "ValueError", "Outcome"]
    assert store.history.get_article(good[1].url) is not None and store.history.get_article(bad.url) is None
    # validators are saved with the page they vouch for, never without it
    assert [store.sources.get_validators(p.url) for p in (*good, bad)] == [
        Validators('"0"', None),
        Validators('"1"', None),
        None,
    ]


def test_a_page_whose_validators_the_database_refuses_is_not_stored_and_gets_one_entry(store: Store) -> None:
    pages = [Page(SPP.format(5, n), f"标题{n}", f"第{n}篇正文。" * 30) for n in range(3)]
    refused = Validators(None, None)
    object.__setattr__(refused, "etag", object())  # no driver can bind it
    recordings = [
        Recording("spp", page, validators=(page.url, refused if n == 1 else Validators(f'"{n}"', None)))
        for n, page in enumerate(pages)
    ]
    outcomes = store.writer.record_many(recordings)
    assert len(outcomes) == 3 and isinstance(outcomes[1], Exception)
    assert [o.kind for o in (outcomes[0], outcomes[2])] == [OutcomeKind.new, OutcomeKind.new]  # type: ignore[union-attr]
    # page and validators are one transaction: neither is kept without the other
    assert store.history.get_article(pages[1].url) is None and store.sources.get_validators(pages[1].url) is None
    assert store.sources.get_validators(pages[2].url) == Validators('"2"', None)


def test_validators_are_saved_with_their_page_and_a_304_keeps_them(store: Store) -> None:
    page = Page(SPP.format(4, 1), "标题", "正文内容。" * 20)
    store.writer.record_many([Recording("spp", page, validators=(page.url, Validators('"a"', "Mon, 01 Jul 2024")))])
    assert store.sources.get_validators(page.url) == Validators('"a"', "Mon, 01 Jul 2024")
    store.writer.record_many([Recording("spp", page, validators=(page.url, Validators(None, None, 304)))])
    assert store.sources.get_validators(page.url) == Validators('"a"', "Mon, 01 Jul 2024")
    store.writer.record_many([Recording("spp", page, validators=(page.url, Validators('"b"', None)))])
    assert store.sources.get_validators(page.url) == Validators('"b"', None)


@dataclass
class Commits:
    count: int = 0


def test_pages_submitted_at_once_share_transactions_and_each_gets_its_outcome(store: Store) -> None:
    pages = [
        Page(SPP.format(1 + n % 28, n), f"标题{n}", f"第{n}篇:" + "检察机关依法履职。" * (5 + n)) for n in range(60)
    ]
    commits = Commits()

    @event.listens_for(store.engine, "commit")
    def count(_connection: object) -> None:
        commits.count += 1

    async def crawl() -> list[Any]:
        return await asyncio.gather(*(store.submit("spp", page, mentions=[Found("检察护企")]) for page in pages))

    outcomes = asyncio.run(crawl())
    assert [o.url for o in outcomes] == [p.url for p in pages]
    assert all(o.kind == OutcomeKind.new for o in outcomes)
    assert commits.count <= 3  # the first page alone, then the rest together
    assert store.counts()["articles"] == 60
    (campaign, mentioned), *_ = store.campaigns.campaigns()
    assert campaign.name == "检察护企" and mentioned == 60


def test_a_failed_page_reaches_only_its_own_submitter(store: Store) -> None:
    async def crawl() -> list[Any]:
        pages = [
            Page(SPP.format(1, 1), "好", "好页正文。" * 30),
            Refusing(Page(SPP.format(1, 2), "坏", "坏页正文。" * 30)),
        ]
        return await asyncio.gather(*(store.submit("spp", p) for p in pages), return_exceptions=True)

    good, bad = asyncio.run(crawl())
    assert good.kind == OutcomeKind.new
    assert isinstance(bad, ValueError)


@pytest.mark.parametrize("size", [1, 250])
def test_batches_of_any_size(store: Store, size: int) -> None:
    pages = [Recording("spp", Page(SPP.format(3, n), f"标题{n}", f"第{n}篇正文内容。" * 12)) for n in range(size)]
    assert [o.kind for o in store.writer.record_many(pages)] == [OutcomeKind.new] * size
    assert store.writer.record_many(pages)[0].kind == OutcomeKind.unchanged
