"""The write decision on its own (storage.decide, storage.mentions): pure functions, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from crawler.dates import BEIJING
from storage.decide import (
    ArticleRef,
    Edited,
    Holdings,
    KnownCopy,
    NewArticle,
    NewCopy,
    Recording,
    Reverted,
    SeenCopy,
    StoredArticle,
    Unchanged,
    VersionRef,
    decide,
    fingerprint,
)
from storage.mentions import Sighting, Stored, campaign_changes, firsts, mention_row, new_campaign
from tests.storage.test_campaigns import Found
from tests.storage.test_changes import LONG
from tests.storage.test_repository import PAGE, Page

NOW = datetime(2024, 7, 20, 9, 0, tzinfo=BEIJING)


def stored(
    page: Page, *, article_id: int = 1, removed: bool = False, versions: list[Page] | None = None
) -> StoredArticle:
    """An article as the archive holds it: ``versions`` (oldest first, the last current), or ``page`` alone."""
    ref = ArticleRef(article_id, page.url, page.published_at)
    refs = [
        VersionRef(n, 100 + n, p.content_hash, p.title, p.body_text, NOW - timedelta(days=10 - n), p.published_at)
        for n, p in enumerate(versions or [page], start=1)
    ]
    return StoredArticle(ref, removed, refs[-1], len(refs), {v.content_hash: v for v in refs})


def plan(*pages: Page, holdings: Holdings | None = None, source: str = "spp"):
    return decide([Recording(source, p) for p in pages], holdings or Holdings(), now=NOW)


def test_a_url_never_seen_is_a_new_article_at_version_one() -> None:
    (step,) = plan(PAGE).steps
    assert isinstance(step, NewArticle) and step.version.number == 1 and step.article.id is None
    assert step.article.published_at == PAGE.published_at


def test_the_same_content_again_is_unchanged_and_a_removed_article_is_restored() -> None:
    holdings = Holdings(articles={PAGE.url: stored(PAGE, removed=True)})
    result = plan(PAGE, holdings=holdings)
    (step,) = result.steps
    assert isinstance(step, Unchanged) and step.restored
    assert step.outcome().kind == "unchanged" and step.outcome().restored
    assert result.touched == [holdings.articles[PAGE.url]] and holdings.articles[PAGE.url].seen_at == NOW
    again = plan(PAGE, holdings=holdings).steps[0]
    assert isinstance(again, Unchanged) and not again.restored  # restored once


def test_an_edit_is_a_new_version_numbered_after_every_stored_one() -> None:
    b = replace(PAGE, body_text=PAGE.body_text + "补充一段。")
    c = replace(PAGE, body_text=PAGE.body_text + "另一段完全不同的补充内容。")
    # A -> B -> A is stored (current is version 1 of 2): C is version 3, compared with A
    holdings = Holdings(articles={PAGE.url: stored(PAGE, versions=[PAGE, b, PAGE])})
    holdings.articles[PAGE.url].version_count = 2
    holdings.articles[PAGE.url].current = holdings.articles[PAGE.url].by_hash[PAGE.content_hash]
    (step,) = plan(c, holdings=holdings).steps
    assert isinstance(step, Edited) and step.version.number == 3 and step.reported
    assert step.change_chars == len("另一段完全不同的补充内容。")


def test_back_to_an_earlier_content_is_a_quiet_revert_to_that_version() -> None:
    b = replace(PAGE, body_text=PAGE.body_text + "补充一段。")
    holdings = Holdings(articles={PAGE.url: stored(PAGE, versions=[PAGE, b])})
    (step,) = plan(PAGE, holdings=holdings).steps
    assert isinstance(step, Reverted) and step.version.number == 1
    assert not step.outcome().reported
    assert holdings.articles[PAGE.url].current.number == 1


def test_a_visit_counter_edit_is_stored_but_not_reported() -> None:
    counted = replace(PAGE, body_text=PAGE.body_text + "浏览次数:12")
    holdings = Holdings(articles={PAGE.url: stored(replace(PAGE, body_text=PAGE.body_text + "浏览次数:3"))})
    (step,) = plan(counted, holdings=holdings).steps
    assert isinstance(step, Edited) and not step.reported and "counter" in step.significance.reason


def test_the_same_url_twice_in_a_batch_builds_on_the_first() -> None:
    edit = replace(PAGE, body_text=PAGE.body_text + "更正。")
    first, second = plan(PAGE, edit).steps
    assert isinstance(first, NewArticle) and isinstance(second, Edited)
    assert second.article.ref is first.article and second.version.number == 2


def test_an_exact_copy_at_another_url_is_a_copy_of_the_first_fetched() -> None:
    original = ArticleRef(7, "https://a/1", PAGE.published_at)
    holdings = Holdings(first_with_hash={PAGE.content_hash: original})
    (step,) = plan(replace(PAGE, url="https://b/1"), holdings=holdings).steps
    assert isinstance(step, NewCopy) and step.original is original and step.exact and step.similarity == 1.0


def test_a_near_copy_is_found_by_its_bands_and_points_at_the_first_publisher() -> None:
    page = Page("https://a/1", "最高检召开党组会", LONG)
    near = Page("https://b/2", "最高检召开党组会 传达精神", LONG + "\n(来源:检察日报)")
    first_publisher = ArticleRef(3, "https://first/1", page.published_at)
    known = ArticleRef(7, page.url, page.published_at, original=first_publisher)
    found = fingerprint(page)
    holdings = Holdings(band_holders={key: [known] for key in found.bands}, signatures={7: found.signature})
    (step,) = plan(near, holdings=holdings).steps
    assert isinstance(step, NewCopy) and not step.exact and step.original is first_publisher
    assert 0.8 <= step.similarity < 1.0


def test_a_copy_dated_clearly_earlier_is_the_original_and_the_known_article_its_copy() -> None:
    known = ArticleRef(7, "https://later/1", datetime(2024, 7, 12, tzinfo=BEIJING))
    holdings = Holdings(first_with_hash={PAGE.content_hash: known})
    earlier = replace(PAGE, url="https://first/1", published_at=datetime(2024, 7, 9, tzinfo=BEIJING))
    result = plan(earlier, holdings=holdings)
    (step,) = result.steps
    assert isinstance(step, NewArticle)
    assert known.original is step.article and result.relinked == [known]


def test_a_copy_of_a_page_earlier_in_the_batch() -> None:
    first, second = plan(PAGE, replace(PAGE, url="https://b/1")).steps
    assert isinstance(first, NewArticle) and isinstance(second, NewCopy) and second.original is first.article


def test_a_url_known_as_a_copy_writes_nothing() -> None:
    original = ArticleRef(7, "https://a/1", None)
    holdings = Holdings(copies={PAGE.url: KnownCopy(original, 0.93)})
    (step,) = plan(PAGE, holdings=holdings).steps
    assert isinstance(step, SeenCopy)
    assert step.outcome().duplicate_of == "https://a/1" and step.outcome().similarity == 0.93


# -- campaigns ---------------------------------------------------------------------------------


def sighting(name: str, published: int, seen: int, *, source: str = "spp", article: int = 1) -> Sighting:
    return Sighting(
        name,
        "campaign",
        ArticleRef(article, f"https://a/{article}", None),
        VersionRef(1, 10 + article, "h", "t", "b", NOW, None),
        source,
        1,
        "开展“检察护企”专项行动",
        datetime(2024, 3, published, tzinfo=BEIJING),
        datetime(2024, 3, seen, tzinfo=BEIJING),
        False,
    )


def test_the_origin_is_the_earliest_published_and_novelty_the_earliest_seen() -> None:
    late_old, early_new = sighting("检察护企", 2, 21, article=1), sighting("检察护企", 20, 20, article=2)
    (f,) = firsts([early_new, late_old], key=lambda s: s.name).values()
    assert f.origin is late_old and f.observed is early_new
    row = new_campaign(f)
    assert row["first_article_id"] == 1 and row["first_seen_at"].day == 20 and row["first_published_at"].day == 2


def test_a_backfilled_older_article_moves_the_origin_never_the_first_seen() -> None:
    stored_campaign = Stored(datetime(2024, 3, 20, tzinfo=BEIJING), datetime(2024, 3, 20, tzinfo=BEIJING))
    (f,) = firsts([sighting("检察护企", 2, 21)], key=lambda s: s.name).values()
    changes = campaign_changes(f, stored_campaign)
    assert changes["first_published_at"].day == 2 and "first_seen_at" not in changes
    (later,) = firsts([sighting("检察护企", 25, 25)], key=lambda s: s.name).values()
    assert campaign_changes(later, stored_campaign) == {}


def test_a_copy_has_no_mention_row_of_its_own() -> None:
    copy = replace(sighting("检察护企", 2, 2), version=None)
    assert mention_row(5, copy) is None
    assert mention_row(5, sighting("检察护企", 2, 2)) is not None
    assert Found("x").name == "x"  # the crawler's mention shape is what sightings are made of
