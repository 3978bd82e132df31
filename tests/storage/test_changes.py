"""Change significance, flip-flops and near-duplicates in storage."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from crawler.dates import BEIJING
from feeds.diff import diff_html, diff_text
from storage import OutcomeKind, Store
from storage.diff import change_size
from storage.models import EventKind
from storage.significance import classify
from tests.storage.test_repository import PAGE, URL, Page, edited

LONG = (Path(__file__).resolve().parents[2] / "crawler" / "demo" / "texts" / "spp_huqi.txt").read_text("utf-8")


def test_classify_boring_and_real_changes() -> None:
    day = datetime(2024, 7, 9, 10, tzinfo=BEIJING)
    assert not classify("会议召开,研究部署。", "会议召开。研究部署!").reported
    assert not classify("正文。浏览次数:1024", "正文。浏览次数:1025").reported
    assert not classify("正文。今天是2024年7月9日 星期二", "正文。今天是2024年7月10日 星期三").reported
    assert not classify(
        "更新于2024-07-09。正文。", "更新于2024-07-10。正文。", old_fetched=day, new_fetched=day.replace(day=10)
    ).reported
    assert classify("起诉1.2万人。", "起诉1.3万人。").reported
    assert classify("会议由检察长主持。", "会议由副检察长主持。").reported


def test_punctuation_only_edit_is_recorded_but_not_reported(store: Store) -> None:
    store.writer.record("spp", PAGE)
    outcome = store.writer.record("spp", edited(PAGE, PAGE.body_text.replace("。", "!", 1)))
    assert outcome.kind == OutcomeKind.changed and not outcome.reported
    assert store.counts()["versions"] == 2
    assert [e.kind for e, _ in store.history.events()] == [EventKind.published]  # the edit is not reported
    (quiet, _), *_ = store.history.events(reported_only=False)
    assert quiet.note == "only punctuation or spacing changed"


def test_flip_flop_is_recorded_once_and_reported_once(store: Store) -> None:
    a, b = PAGE, edited(PAGE, PAGE.body_text + "\n会议强调,要狠抓落实。")
    kinds = [store.writer.record("spp", page).kind for page in (a, b, a, b, a)]
    assert kinds == [
        OutcomeKind.new,
        OutcomeKind.changed,
        OutcomeKind.reverted,
        OutcomeKind.reverted,
        OutcomeKind.reverted,
    ]
    found = store.history.get_article(URL)
    assert [v.version for v in found.versions] == [1, 2] and found.article.current_version == 1
    assert found.article.content_hash == found.versions[0].content_hash
    reported = [e.kind for e, _ in store.history.events()]
    assert reported.count(EventKind.edited) == 1
    assert store.history.current_versions([found.article.id])[found.article.id].version == 1


def test_near_duplicate_at_another_url_is_linked_with_its_similarity(store: Store) -> None:
    original = Page(URL, "最高检召开党组会", LONG)
    store.writer.record("spp", original)
    repost = Page(
        "http://www.gszf.gov.cn/c1/2024-07/10/content_9.shtml",
        "最高检召开党组会 传达学习会议精神",
        LONG.replace("1.2万余人", "一万二千余人") + "\n(来源:检察日报)\n编者按:转载有删节。",
        published_at=datetime(2024, 7, 10, tzinfo=BEIJING),
    )
    outcome = store.writer.record("gszf", repost)
    assert outcome.kind == OutcomeKind.duplicate and outcome.duplicate_of == URL
    assert 0.8 <= outcome.similarity <= 1.0
    (link,) = store.history.republications(outcome.article_id)
    assert link.body_text == repost.body_text and link.title == repost.title  # its own text is kept
    unrelated = Page(
        "https://www.spp.gov.cn/x/t20240711_1.shtml", "最高检发布典型案例", "典型案例涉及危险作业罪。" * 20
    )
    assert store.writer.record("spp", unrelated).kind == OutcomeKind.new


def test_an_earlier_copy_found_later_becomes_the_original(store: Store) -> None:
    late = Page(
        "http://www.gszf.gov.cn/c1/2024-07/12/content_1.shtml",
        "党组会",
        LONG,
        published_at=datetime(2024, 7, 12, tzinfo=BEIJING),
    )
    early = replace(late, url=URL, published_at=datetime(2024, 7, 9, tzinfo=BEIJING))
    store.writer.record("gszf", late)
    assert store.writer.record("spp", early).kind == OutcomeKind.new
    first = store.history.get_article(URL).article
    copy = store.history.get_article(late.url).article
    assert first.original_id is None and copy.original_id == first.id
    assert [a.url for a in store.browse.latest_articles(10)] == [URL]  # the feed shows the story once


def test_diffs_as_text_and_html() -> None:
    old, new = "会议由检察长主持。", "会议由副检察长主持,<b>强调</b>落实。"
    assert change_size("会议由检察长主持。", "会议由副检察长主持。") == 1
    assert change_size("会议由检察长主持。", "会议由主持。") == 3
    html = diff_html(old, new)
    assert (
        "<ins>副</ins>" in html and "&lt;b&gt;" in html and "<b>" not in html.replace("<ins>", "").replace("</ins>", "")
    )
    assert any(line.startswith("+ ") and "[副]" in line for line in diff_text(old, new))
